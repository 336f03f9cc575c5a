import Foundation
import Testing

@testable import Textures

/// Decoders, encoders, resizing and size rules on the generated fixtures in fixtures/textures.
struct CodecTests {
    @Test(arguments: [
        ("color.bmp", ImageFormat.bmp, "color.png"), ("palette.bmp", .bmp, "palette.png"),
        ("alpha.tga", .tga, "alpha.png")
    ])
    func bmpAndTGADecodeToTheSamePixelsAsThePNGReference(_ file: String, _ format: ImageFormat, _ reference: String)
        throws
    {
        let decoded = try decodeImage(try Paths.bytes(file), format, maxPixels: 1 << 20)
        let expected = try decodeImage(try Paths.bytes(reference), .png, maxPixels: 1 << 20)
        #expect(decoded.width == expected.width && decoded.height == expected.height)
        #expect(decoded.pixels == expected.pixels)
    }

    @Test func jpegAndWebPDecodeWithTheirDeclaredSize() throws {
        let jpeg = try decodeImage(try Paths.bytes("photo.jpg"), .jpeg, maxPixels: 1 << 20)
        #expect((jpeg.width, jpeg.height) == (64, 32))
        let webp = try encodeWebP(jpeg, quality: 80, alpha: false)
        let back = try decodeImage(webp, .webp, maxPixels: 1 << 20)
        #expect((back.width, back.height) == (64, 32))
        #expect(!back.usesAlpha)
    }

    @Test func malformedAndTruncatedImagesThrowInsteadOfCrashing() throws {
        let bmp = try Paths.bytes("color.bmp")
        let tga = try Paths.bytes("alpha.tga")
        let png = try Paths.bytes("color.png")
        let jpeg = try Paths.bytes("photo.jpg")
        let cases: [([UInt8], ImageFormat)] = [
            (Array(bmp.prefix(60)), .bmp), (Array(bmp.prefix(10)), .bmp), (Array(tga.prefix(100)), .tga),
            (Array(tga.prefix(5)), .tga), (Array(png.prefix(40)), .png), (Array(jpeg.prefix(30)), .jpeg),
            ([0x42, 0x4D] + [UInt8](repeating: 0xFF, count: 60), .bmp), ([UInt8](repeating: 7, count: 64), .webp)
        ]
        for (bytes, format) in cases {
            #expect(throws: (any Error).self, "\(format) of \(bytes.count) bytes") {
                try decodeImage(bytes, format, maxPixels: 1 << 20)
            }
        }
    }

    @Test func aDecompressionBombIsRefusedFromItsHeader() throws {
        let bomb = try Paths.bytes("bomb.png")
        #expect(bomb.count < 200)
        let size = try imageDimensions(bomb, .png)
        #expect(size.width == 100_000 && size.height == 100_000)
        #expect(throws: TooManyPixels.self) { try decodeImage(bomb, .png, maxPixels: 64 << 20) }
    }

    @Test func targetSizeKeepsAspectRatioAndNeverEnlarges() {
        #expect(targetSize(width: 300, height: 150, maxSize: 64, powerOfTwo: false) == (64, 32))
        #expect(targetSize(width: 150, height: 300, maxSize: 100, powerOfTwo: false) == (50, 100))
        #expect(targetSize(width: 40, height: 20, maxSize: 1024, powerOfTwo: false) == (40, 20))
        #expect(targetSize(width: 1000, height: 300, maxSize: nil, powerOfTwo: true) == (512, 256))
        #expect(targetSize(width: 3000, height: 1000, maxSize: 1024, powerOfTwo: true) == (1024, 256))
        #expect(targetSize(width: 5000, height: 3, maxSize: 1000, powerOfTwo: false) == (1000, 1))
    }

    @Test func colorIsFilteredInLinearLightNormalsAreRenormalizedDataIsAveraged() {
        let blackWhite = Bitmap(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255, 255, 255])
        // Half of linear white is sRGB 0.735 → 188; averaging the encoded bytes would give 128.
        #expect(resize(blackWhite, to: 1, 1, as: .color).pixels == [188, 188, 188, 255])
        #expect(resize(blackWhite, to: 1, 1, as: .data).pixels == [128, 128, 128, 255])
        // Two unit normals 90° apart average to a shorter vector; the result must be unit length again.
        let normals = Bitmap(width: 2, height: 1, pixels: [255, 128, 128, 255, 128, 128, 255, 255])
        let n = resize(normals, to: 1, 1, as: .normal).pixels
        let v = (0..<3).map { Float(n[$0]) / 127.5 - 1 }
        #expect(abs((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).squareRoot() - 1) < 0.02)
        #expect(abs(v[0] - v[2]) < 0.02)
        // A transparent texel contributes no color.
        let halfTransparent = Bitmap(width: 2, height: 1, pixels: [255, 0, 0, 255, 0, 255, 0, 0])
        #expect(resize(halfTransparent, to: 1, 1, as: .color).pixels == [255, 0, 0, 128])
    }

    @Test func pngEncodingIsLosslessInEveryChannelLayout() throws {
        let rgba = try decodeImage(try Paths.bytes("alpha.png"), .png, maxPixels: 1 << 20)
        #expect(
            try decodeImage(try encodePNG(rgba, Channels(gray: false, alpha: true)), .png, maxPixels: 1 << 20) == rgba)
        var gray = rgba
        for i in stride(from: 0, to: gray.pixels.count, by: 4) {
            gray.pixels[i + 1] = gray.pixels[i]
            gray.pixels[i + 2] = gray.pixels[i]
            gray.pixels[i + 3] = 255
        }
        #expect(gray.isGrayscale && !gray.usesAlpha)
        let grayPNG = try encodePNG(gray, Channels(gray: true, alpha: false))
        #expect(grayPNG[25] == 0)  // IHDR colour type 0: grayscale
        #expect(try decodeImage(grayPNG, .png, maxPixels: 1 << 20) == gray)
    }

    @Test func solidColorAndDigestsDescribeContent() throws {
        let solid = try decodeImage(try Paths.bytes("solid.png"), .png, maxPixels: 1 << 20)
        #expect(solid.solidColor == SIMD4(200, 100, 50, 255))
        let png = try decodeImage(try Paths.bytes("color.png"), .png, maxPixels: 1 << 20)
        let bmp = try decodeImage(try Paths.bytes("color.bmp"), .bmp, maxPixels: 1 << 20)
        #expect(png.solidColor == nil)
        #expect(png.digest == bmp.digest)
        #expect(png.digest != solid.digest)
    }
}

struct SixteenBitTests {
    @Test func sixteenBitPNGIsReducedWithoutAGammaChange() throws {
        let bitmap = try decodeImage(try Paths.bytes("gray16.png"), .png, maxPixels: 16)
        #expect(bitmap.pixels == [64, 64, 64, 255, 191, 191, 191, 255])
    }
}
