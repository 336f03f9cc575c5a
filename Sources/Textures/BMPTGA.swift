/// Small, bounds-checked BMP and TGA readers: every read goes through `ByteReader`, which throws past the end.

private struct ByteReader {
    let bytes: [UInt8]
    let format: String

    func u8(_ at: Int) throws -> UInt8 {
        guard at >= 0, at < bytes.count else { throw CodecError("\(format): truncated file") }
        return bytes[at]
    }
    func u16(_ at: Int) throws -> Int { Int(try u8(at)) | Int(try u8(at + 1)) << 8 }
    func u32(_ at: Int) throws -> UInt32 { UInt32(try u16(at)) | UInt32(try u16(at + 2)) << 16 }
    func i32(_ at: Int) throws -> Int { Int(Int32(bitPattern: try u32(at))) }
    func require(_ end: Int) throws {
        guard end <= bytes.count else { throw CodecError("\(format): truncated file") }
    }
}

// MARK: - BMP

struct BMPHeader {
    var width: Int, height: Int
    var topDown: Bool
    var bitsPerPixel: Int
    var compression: UInt32
    var pixelOffset: Int
    var palette: [SIMD4<UInt8>] = []
    /// R, G, B, A channel masks for 16- and 32-bit pixels.
    var masks: [UInt32] = []

    var dimensions: (width: Int, height: Int) { (width, height) }

    init(_ bytes: [UInt8]) throws {
        let r = ByteReader(bytes: bytes, format: "BMP")
        guard try r.u8(0) == 0x42, try r.u8(1) == 0x4D else { throw CodecError("BMP: missing BM signature") }
        pixelOffset = Int(try r.u32(10))
        let infoSize = Int(try r.u32(14))
        if infoSize == 12 {  // OS/2 BITMAPCOREHEADER
            width = try r.u16(18)
            height = try r.u16(20)
            topDown = false
            bitsPerPixel = try r.u16(24)
            compression = 0
        } else if infoSize >= 40 {
            width = try r.i32(18)
            let rawHeight = try r.i32(22)
            topDown = rawHeight < 0
            height = abs(rawHeight)
            bitsPerPixel = try r.u16(28)
            compression = try r.u32(30)
        } else {
            throw CodecError("BMP: unsupported header size \(infoSize)")
        }
        guard width > 0, height > 0 else { throw CodecError("BMP: invalid size \(width)×\(height)") }
        guard [1, 4, 8, 16, 24, 32].contains(bitsPerPixel) else {
            throw CodecError("BMP: unsupported \(bitsPerPixel) bits per pixel")
        }
        switch compression {
        case 0:  // BI_RGB
            if bitsPerPixel == 16 { masks = [0x7C00, 0x03E0, 0x001F, 0] }
            if bitsPerPixel == 32 { masks = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0] }
        case 3, 6:  // BI_BITFIELDS, BI_ALPHABITFIELDS: masks follow a 40-byte header or sit inside a larger one
            guard bitsPerPixel == 16 || bitsPerPixel == 32 else {
                throw CodecError("BMP: bit fields need 16 or 32 bits per pixel")
            }
            masks = [
                try r.u32(54), try r.u32(58), try r.u32(62), infoSize >= 56 || compression == 6 ? try r.u32(66) : 0
            ]
        default:
            throw CodecError("BMP: unsupported compression \(compression) (RLE or embedded JPEG/PNG)")
        }
        if bitsPerPixel <= 8 {
            let entrySize = infoSize == 12 ? 3 : 4
            let declared = infoSize >= 40 ? Int(try r.u32(46)) : 0
            let count = declared == 0 ? 1 << bitsPerPixel : min(declared, 1 << bitsPerPixel)
            let start = 14 + infoSize
            try r.require(start + count * entrySize)
            palette = (0..<count).map { i in
                let o = start + i * entrySize
                return SIMD4(bytes[o + 2], bytes[o + 1], bytes[o], 255)
            }
        }
    }
}

func decodeBMP(_ bytes: [UInt8]) throws -> Bitmap {
    let h = try BMPHeader(bytes)
    let rowBytes = ((h.width * h.bitsPerPixel + 31) / 32) * 4
    let r = ByteReader(bytes: bytes, format: "BMP")
    try r.require(h.pixelOffset + rowBytes * h.height)
    var pixels = [UInt8](repeating: 255, count: h.width * h.height * 4)

    func channel(_ value: UInt32, _ mask: UInt32) -> UInt8? {
        guard mask != 0 else { return nil }
        let shift = mask.trailingZeroBitCount
        let maximum = mask >> shift
        return UInt8(((value & mask) >> shift) * 255 / maximum)
    }
    var anyAlpha = false
    for row in 0..<h.height {
        let source = h.pixelOffset + row * rowBytes
        let y = h.topDown ? row : h.height - 1 - row
        for x in 0..<h.width {
            var rgba: SIMD4<UInt8>
            switch h.bitsPerPixel {
            case 1, 4, 8:
                let bitOffset = x * h.bitsPerPixel
                let byte = bytes[source + bitOffset / 8]
                let index = Int(byte >> UInt8(8 - h.bitsPerPixel - bitOffset % 8)) & ((1 << h.bitsPerPixel) - 1)
                guard index < h.palette.count else { throw CodecError("BMP: palette index \(index) out of range") }
                rgba = h.palette[index]
            case 24:
                let o = source + x * 3
                rgba = SIMD4(bytes[o + 2], bytes[o + 1], bytes[o], 255)
            default:
                let o = source + x * h.bitsPerPixel / 8
                let value =
                    h.bitsPerPixel == 16
                    ? UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8
                    : UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3])
                        << 24
                let alpha = channel(value, h.masks[3])
                if alpha != nil { anyAlpha = true }
                rgba = SIMD4(
                    channel(value, h.masks[0]) ?? 0, channel(value, h.masks[1]) ?? 0,
                    channel(value, h.masks[2]) ?? 0, alpha ?? 255)
            }
            let d = (y * h.width + x) * 4
            pixels[d] = rgba.x
            pixels[d + 1] = rgba.y
            pixels[d + 2] = rgba.z
            pixels[d + 3] = rgba.w
        }
    }
    if anyAlpha { makeOpaqueIfAllTransparent(&pixels) }
    return Bitmap(width: h.width, height: h.height, pixels: pixels)
}

/// Many writers leave an unused alpha channel at 0: an image that would be entirely invisible is read as opaque.
private func makeOpaqueIfAllTransparent(_ pixels: inout [UInt8]) {
    if stride(from: 3, to: pixels.count, by: 4).allSatisfy({ pixels[$0] == 0 }) {
        for i in stride(from: 3, to: pixels.count, by: 4) { pixels[i] = 255 }
    }
}

// MARK: - TGA

struct TGAHeader {
    var idLength: Int, colorMapType: Int, imageType: Int
    var mapFirst: Int, mapLength: Int, mapEntryBits: Int
    var width: Int, height: Int, bitsPerPixel: Int
    var alphaBits: Int, topDown: Bool, rightToLeft: Bool

    var dimensions: (width: Int, height: Int) { (width, height) }
    var isRLE: Bool { imageType >= 9 }
    var isColorMapped: Bool { imageType == 1 || imageType == 9 }
    var isGray: Bool { imageType == 3 || imageType == 11 }

    init(_ bytes: [UInt8]) throws {
        let r = ByteReader(bytes: bytes, format: "TGA")
        try r.require(18)
        idLength = Int(bytes[0])
        colorMapType = Int(bytes[1])
        imageType = Int(bytes[2])
        mapFirst = try r.u16(3)
        mapLength = try r.u16(5)
        mapEntryBits = Int(bytes[7])
        width = try r.u16(12)
        height = try r.u16(14)
        bitsPerPixel = Int(bytes[16])
        alphaBits = Int(bytes[17] & 0x0F)
        rightToLeft = bytes[17] & 0x10 != 0
        topDown = bytes[17] & 0x20 != 0
        guard [1, 2, 3, 9, 10, 11].contains(imageType) else {
            throw CodecError("TGA: unsupported image type \(imageType)")
        }
        guard colorMapType <= 1, !isColorMapped || colorMapType == 1 else {
            throw CodecError("TGA: inconsistent color map")
        }
        guard width > 0, height > 0 else { throw CodecError("TGA: invalid size \(width)×\(height)") }
        let depths = isColorMapped ? [8] : isGray ? [8, 16] : [15, 16, 24, 32]
        guard depths.contains(bitsPerPixel) else { throw CodecError("TGA: unsupported \(bitsPerPixel) bits per pixel") }
        if isColorMapped, ![15, 16, 24, 32].contains(mapEntryBits) {
            throw CodecError("TGA: unsupported color map entry size \(mapEntryBits)")
        }
    }
}

func decodeTGA(_ bytes: [UInt8]) throws -> Bitmap {
    let h = try TGAHeader(bytes)
    let r = ByteReader(bytes: bytes, format: "TGA")

    /// One pixel value of `bits` bits at `at` → RGBA (BGR(A) byte order, 15/16-bit as 5-5-5 with an attribute bit).
    func color(_ at: Int, bits: Int, gray: Bool) throws -> SIMD4<UInt8> {
        if gray {
            let v = try r.u8(at)
            return SIMD4(v, v, v, bits == 16 ? try r.u8(at + 1) : 255)
        }
        switch bits {
        case 15, 16:
            let v = try r.u16(at)
            func expand(_ c: Int) -> UInt8 { UInt8((c << 3) | (c >> 2)) }
            let alpha: UInt8 = bits == 16 && h.alphaBits > 0 ? (v & 0x8000 != 0 ? 255 : 0) : 255
            return SIMD4(expand((v >> 10) & 31), expand((v >> 5) & 31), expand(v & 31), alpha)
        case 24:
            return SIMD4(try r.u8(at + 2), try r.u8(at + 1), try r.u8(at), 255)
        default:
            return SIMD4(try r.u8(at + 2), try r.u8(at + 1), try r.u8(at), try r.u8(at + 3))
        }
    }

    var offset = 18 + h.idLength
    var palette: [SIMD4<UInt8>] = []
    if h.colorMapType == 1 {
        let entryBytes = (h.mapEntryBits + 7) / 8
        try r.require(offset + h.mapLength * entryBytes)
        if h.isColorMapped {
            palette = try (0..<h.mapLength).map {
                try color(offset + $0 * entryBytes, bits: h.mapEntryBits, gray: false)
            }
        }
        offset += h.mapLength * entryBytes
    }
    let pixelBytes = (h.bitsPerPixel + 7) / 8
    let count = h.width * h.height
    if !h.isRLE { try r.require(offset + count * pixelBytes) }

    func read(_ at: Int) throws -> SIMD4<UInt8> {
        if h.isColorMapped {
            let index = Int(try r.u8(at)) - h.mapFirst
            guard index >= 0, index < palette.count else { throw CodecError("TGA: color map index out of range") }
            return palette[index]
        }
        return try color(at, bits: h.bitsPerPixel, gray: h.isGray)
    }

    var pixels = [UInt8](repeating: 0, count: count * 4)
    func store(_ i: Int, _ c: SIMD4<UInt8>) {
        let row = i / h.width
        let column = i % h.width
        let y = h.topDown ? row : h.height - 1 - row
        let x = h.rightToLeft ? h.width - 1 - column : column
        let d = (y * h.width + x) * 4
        pixels[d] = c.x
        pixels[d + 1] = c.y
        pixels[d + 2] = c.z
        pixels[d + 3] = c.w
    }
    var i = 0
    while i < count {
        if h.isRLE {
            let packet = Int(try r.u8(offset))
            offset += 1
            let run = (packet & 0x7F) + 1
            guard i + run <= count else { throw CodecError("TGA: RLE packet runs past the image") }
            if packet & 0x80 != 0 {
                let c = try read(offset)
                offset += pixelBytes
                for k in 0..<run { store(i + k, c) }
            } else {
                for k in 0..<run {
                    store(i + k, try read(offset))
                    offset += pixelBytes
                }
            }
            i += run
        } else {
            store(i, try read(offset))
            offset += pixelBytes
            i += 1
        }
    }
    if h.bitsPerPixel == 32 || (h.isColorMapped && h.mapEntryBits == 32) { makeOpaqueIfAllTransparent(&pixels) }
    return Bitmap(width: h.width, height: h.height, pixels: pixels)
}
