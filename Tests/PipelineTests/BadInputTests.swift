import Foundation
import TestSupport
import Testing

/// A minimal valid GLB: one triangle in one node, positions only.
func oneTriangleGLB() -> Data {
    var json = Array(
        """
        {"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],\
        "meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],\
        "accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3","min":[0,0,0],"max":[1,1,0]}],\
        "bufferViews":[{"buffer":0,"byteLength":36}],"buffers":[{"byteLength":36}]}
        """.utf8)
    while json.count % 4 != 0 { json.append(0x20) }
    let positions: [Float] = [0, 0, 0, 1, 0, 0, 0, 1, 0]
    let bin = positions.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    var out = Data()
    func u32(_ v: Int) { out.append(contentsOf: withUnsafeBytes(of: UInt32(v).littleEndian, Array.init)) }
    out.append(contentsOf: Array("glTF".utf8))
    u32(2)
    u32(12 + 8 + json.count + 8 + bin.count)
    u32(json.count)
    out.append(contentsOf: Array("JSON".utf8))
    out.append(contentsOf: json)
    u32(bin.count)
    out.append(contentsOf: Array("BIN\0".utf8))
    out.append(contentsOf: bin)
    return out
}

@Suite("Bad input: exit 3, one line naming the file, nothing written")
struct BadInputTests {
    @Test("the hand-made GLB the truncation test starts from converts")
    func baselineConverts() throws {
        let scratch = try makeScratch("baseline")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("triangle.glb")
        let output = scratch.appendingPathComponent("out.glb")
        try oneTriangleGLB().write(to: input)
        let result = try optimize([input.path, "-o", output.path])
        #expect(result.status == 0 && !result.crashed, "triangle.glb: \(result.summary)")
        #expect(FileManager.default.fileExists(atPath: output.path))
    }

    @Test(
        "rejected cleanly",
        arguments: [
            ("empty.ply", Data()),
            ("truncated.glb", oneTriangleGLB().prefix(70)),
            ("notes.fbx", Data("These are meeting notes, not an FBX file.\nSecond line.\n".utf8))
        ])
    func rejected(_ name: String, _ bytes: Data) throws {
        let inputs = try makeScratch("bad-in")
        let outputs = try makeScratch("bad-out")
        defer {
            try? FileManager.default.removeItem(at: inputs)
            try? FileManager.default.removeItem(at: outputs)
        }
        let input = inputs.appendingPathComponent(name)
        try bytes.write(to: input)
        let result = try optimize([input.path, "-o", outputs.appendingPathComponent("out.glb").path])
        #expect(!result.crashed, "\(name): \(result.summary)")
        #expect(result.status == 3, "\(name): \(result.summary)")
        #expect(result.stderrLines.count == 1, "\(name): expected one stderr line, got \(result.stderrLines)")
        #expect(result.stderrLines.first?.contains(name) == true, "\(name): the error line does not name the file")
        #expect(leftovers(in: outputs).isEmpty, "\(name): left \(leftovers(in: outputs)) in the output folder")
    }
}
