import Foundation
import Scene
import TestSupport
import Testing

@testable import Importers

/// Zipped COLLADA (.zae): detected from the zip's directory and read by Assimp, with or without an extension.
@Suite struct ZAETests {
    @Test(arguments: ["cube.zae", "cube_without_extension"])
    func zippedColladaImportsLikeTheDAE(name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let dae = Paths.fixture("dae/blue_cube.dae")
        let zae = try folder.write(name, Data(storedZip(name: "blue_cube.dae", data: Array(try Data(contentsOf: dae)))))
        #expect(try detectFormat(of: zae) == .zae)
        let zipped = try importScene(from: zae)
        let plain = try importScene(from: dae)
        #expect(zipped.statistics == plain.statistics)
        #expect(zipped.statistics.triangles == 12)
    }
}

/// A zip archive holding one stored (uncompressed) entry.
private func storedZip(name: String, data: [UInt8]) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
    let nameBytes = Array(name.utf8)
    let crc = crc32(data)
    let size = le32(UInt32(data.count))
    let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + size + size + le16(nameBytes.count)
    let local = le32(0x0403_4B50) + common + le16(0) + nameBytes + data
    let central =
        le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0)
        + nameBytes
    let end =
        le32(0x0605_4B50) + le16(0) + le16(0) + le16(1) + le16(1) + le32(UInt32(central.count))
        + le32(UInt32(local.count)) + le16(0)
    return local + central + end
}

/// The zip (and PNG) CRC-32 of `bytes`.
private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        c ^= UInt32(byte)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return c ^ 0xFFFF_FFFF
}
