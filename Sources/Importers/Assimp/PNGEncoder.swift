/// Encodes 8-bit RGBA pixels as a PNG with stored (uncompressed) deflate blocks: larger than a compressed PNG,
/// but exact and simple. Used for Assimp's uncompressed embedded textures; a later stage may recompress.
func encodePNG(width: Int, height: Int, rgba: [UInt8]) -> [UInt8] {
    var raw: [UInt8] = []
    raw.reserveCapacity(height * (width * 4 + 1))
    for row in 0..<height {
        raw.append(0)  // filter: none
        raw.append(contentsOf: rgba[(row * width * 4)..<((row + 1) * width * 4)])
    }
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let length = min(65_535, raw.count - offset)
        let final: UInt8 = offset + length == raw.count ? 1 : 0
        zlib.append(final)
        zlib.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)])
        zlib.append(contentsOf: raw[offset..<(offset + length)])
        offset += length
    } while offset < raw.count
    zlib.append(contentsOf: bigEndian(adler32(raw)))

    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
    header += [8, 6, 0, 0, 0]  // 8 bits, RGBA, deflate, adaptive filtering, no interlace
    appendChunk(&png, "IHDR", header)
    appendChunk(&png, "IDAT", zlib)
    appendChunk(&png, "IEND", [])
    return png
}

private func appendChunk(_ png: inout [UInt8], _ type: String, _ data: [UInt8]) {
    png += bigEndian(UInt32(data.count))
    let body = Array(type.utf8) + data
    png += body
    png += bigEndian(crc32(body))
}

private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
}

private func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for chunkStart in stride(from: 0, to: bytes.count, by: 5552) {
        for byte in bytes[chunkStart..<min(chunkStart + 5552, bytes.count)] {
            a += UInt32(byte)
            b += a
        }
        a %= 65_521
        b %= 65_521
    }
    return b << 16 | a
}
