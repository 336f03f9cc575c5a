import FoundationEssentials
import Scene

/// Decoded 8-bit RGBA pixels, rows top to bottom, no padding.
public struct Bitmap: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 4` bytes: R, G, B, A per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 4, "Bitmap size mismatch")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public var pixelCount: Int { width * height }

    /// True when some pixel is not fully opaque.
    public var usesAlpha: Bool {
        var i = 3
        while i < pixels.count {
            if pixels[i] != 255 { return true }
            i += 4
        }
        return false
    }

    /// True when every pixel has R = G = B.
    public var isGrayscale: Bool {
        var i = 0
        while i < pixels.count {
            if pixels[i] != pixels[i + 1] || pixels[i] != pixels[i + 2] { return false }
            i += 4
        }
        return true
    }

    /// The one RGBA value every pixel has, or nil.
    public var solidColor: SIMD4<UInt8>? {
        let first = SIMD4(pixels[0], pixels[1], pixels[2], pixels[3])
        var i = 4
        while i < pixels.count {
            if pixels[i] != first.x || pixels[i + 1] != first.y || pixels[i + 2] != first.z || pixels[i + 3] != first.w
            {
                return nil
            }
            i += 4
        }
        return first
    }

    /// A 64-bit FNV-1a digest of the size and pixels (fixed seed: the same in every run).
    var digest: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for v in [UInt32(width), UInt32(height)] {
            for s in stride(from: 0, to: 32, by: 8) { mix(UInt8((v >> s) & 0xFF)) }
        }
        for b in pixels { mix(b) }
        return h
    }
}

/// Byte value → linear, for all 256 sRGB-encoded bytes.
public let srgbByteToLinear: [Float] = (0..<256).map { srgbToLinear(Float($0) / 255) }
