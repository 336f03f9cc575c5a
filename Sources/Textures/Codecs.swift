import CPNG
import CTurboJPEG
import CWebP
import FoundationEssentials

/// The encodings the texture stage reads.
public enum ImageFormat: String, Sendable {
    case png, jpeg, webp, bmp, tga

    /// The format of an image with this MIME type ("image/png", "image/jpeg", "image/webp", "image/bmp", "image/x-tga").
    public init?(mimeType: String) {
        switch mimeType {
        case "image/png": self = .png
        case "image/jpeg": self = .jpeg
        case "image/webp": self = .webp
        case "image/bmp": self = .bmp
        case "image/x-tga", "image/tga": self = .tga
        default: return nil
        }
    }

    public var mimeType: String {
        switch self {
        case .png: return "image/png"
        case .jpeg: return "image/jpeg"
        case .webp: return "image/webp"
        case .bmp: return "image/bmp"
        case .tga: return "image/x-tga"
        }
    }
}

/// Why an image could not be read or written, in one line.
struct CodecError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An image refused before decoding because its header declares too many pixels.
struct TooManyPixels: Error, CustomStringConvertible {
    var width: Int, height: Int, limit: Int
    var description: String { "declares \(width)×\(height) pixels, more than the limit of \(limit)" }
}

/// Width and height from the image's header, without decoding pixels.
func imageDimensions(_ bytes: [UInt8], _ format: ImageFormat) throws -> (width: Int, height: Int) {
    switch format {
    case .png:
        return try bytes.withUnsafeBytes { raw in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                throw CodecError("PNG: \(pngMessage(image))")
            }
            return (Int(image.width), Int(image.height))
        }
    case .jpeg:
        guard let handle = tjInitDecompress() else { throw CodecError("JPEG: cannot start the decoder") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0
        else {
            throw CodecError("JPEG: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return (Int(width), Int(height))
    case .webp:
        var width: Int32 = 0
        var height: Int32 = 0
        guard WebPGetInfo(bytes, bytes.count, &width, &height) != 0 else { throw CodecError("WebP: malformed header") }
        return (Int(width), Int(height))
    case .bmp:
        return try BMPHeader(bytes).dimensions
    case .tga:
        return try TGAHeader(bytes).dimensions
    }
}

/// Decodes an image to RGBA after checking that its header declares at most `maxPixels` pixels.
func decodeImage(_ bytes: [UInt8], _ format: ImageFormat, maxPixels: Int) throws -> Bitmap {
    let (width, height) = try imageDimensions(bytes, format)
    guard width > 0, height > 0 else { throw CodecError("\(format.rawValue.uppercased()): empty image") }
    guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels, width <= 1 << 20, height <= 1 << 20
    else {
        throw TooManyPixels(width: width, height: height, limit: maxPixels)
    }
    switch format {
    case .png: return try decodePNG(bytes)
    case .jpeg: return try decodeJPEG(bytes, width: width, height: height)
    case .webp: return try decodeWebP(bytes, width: width, height: height)
    case .bmp: return try decodeBMP(bytes)
    case .tga: return try decodeTGA(bytes)
    }
}

private func pngMessage(_ image: png_image) -> String {
    var message = image.message
    return withUnsafeBytes(of: &message) { raw in
        let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        return text.isEmpty ? "malformed file" : text
    }
}

private func decodePNG(_ bytes: [UInt8]) throws -> Bitmap {
    try bytes.withUnsafeBytes { raw in
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
            throw CodecError("PNG: \(pngMessage(image))")
        }
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        // Untagged 16-bit files hold the same encoding as 8-bit ones (sRGB color, or raw data): reduce them
        // without libpng's default assumption that they are linear.
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var pixels = [UInt8](repeating: 0, count: Int(image.width) * Int(image.height) * 4)
        let ok = pixels.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, Int32(image.width) * 4, nil)
        }
        guard ok != 0 else { throw CodecError("PNG: \(pngMessage(image))") }
        return Bitmap(width: Int(image.width), height: Int(image.height), pixels: pixels)
    }
}

private func decodeJPEG(_ bytes: [UInt8], width: Int, height: Int) throws -> Bitmap {
    guard let handle = tjInitDecompress() else { throw CodecError("JPEG: cannot start the decoder") }
    defer { tjDestroy(handle) }
    var pixels = [UInt8](repeating: 0, count: width * height * 4)
    let status = tjDecompress2(
        handle, bytes, UInt(bytes.count), &pixels, Int32(width), 0, Int32(height),
        Int32(TJPF_RGBA.rawValue), TJFLAG_ACCURATEDCT)
    // Warnings (status -1 with a non-fatal error) still produce an image; fatal errors do not.
    if status != 0 && tjGetErrorCode(handle) == Int32(TJERR_FATAL.rawValue) {
        throw CodecError("JPEG: \(String(cString: tjGetErrorStr2(handle)))")
    }
    return Bitmap(width: width, height: height, pixels: pixels)
}

private func decodeWebP(_ bytes: [UInt8], width: Int, height: Int) throws -> Bitmap {
    var pixels = [UInt8](repeating: 0, count: width * height * 4)
    let out = pixels.withUnsafeMutableBufferPointer { buffer in
        WebPDecodeRGBAInto(bytes, bytes.count, buffer.baseAddress, buffer.count, Int32(width * 4))
    }
    guard out != nil else { throw CodecError("WebP: cannot decode (animated or malformed)") }
    return Bitmap(width: width, height: height, pixels: pixels)
}

// MARK: - Encoders

/// Channels to store: the encoders drop what the content does not need.
struct Channels {
    var gray: Bool
    var alpha: Bool
}

/// Encodes as a compressed 8-bit PNG, dropping color or alpha channels the pixels do not use (lossless).
public func encodePNG(_ bitmap: Bitmap) throws -> [UInt8] {
    try encodePNG(bitmap, Channels(gray: bitmap.isGrayscale, alpha: bitmap.usesAlpha))
}

/// Encodes as PNG (8-bit gray, gray+alpha, RGB or RGBA as `channels` says).
func encodePNG(_ bitmap: Bitmap, _ channels: Channels) throws -> [UInt8] {
    let components = (channels.gray ? 1 : 3) + (channels.alpha ? 1 : 0)
    let packed = pack(bitmap, channels)
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    image.width = UInt32(bitmap.width)
    image.height = UInt32(bitmap.height)
    image.format = UInt32((channels.gray ? 0 : PNG_FORMAT_FLAG_COLOR) | (channels.alpha ? PNG_FORMAT_FLAG_ALPHA : 0))
    defer { png_image_free(&image) }
    let stride = Int32(bitmap.width * components)
    var size = 0
    guard png_image_write_to_memory(&image, nil, &size, 0, packed, stride, nil) != 0 else {
        throw CodecError("PNG: \(pngMessage(image))")
    }
    var out = [UInt8](repeating: 0, count: size)
    let ok = out.withUnsafeMutableBytes {
        png_image_write_to_memory(&image, $0.baseAddress, &size, 0, packed, stride, nil)
    }
    guard ok != 0 else { throw CodecError("PNG: \(pngMessage(image))") }
    return Array(out.prefix(size))
}

/// Encodes as baseline JPEG at `quality` (1…100): gray, 4:2:0 color with `subsampleChroma` (for color), else 4:4:4
/// (normal and data maps, whose channels are independent). Alpha is dropped.
func encodeJPEG(_ bitmap: Bitmap, quality: Int, gray: Bool, subsampleChroma: Bool = true) throws -> [UInt8] {
    guard let handle = tjInitCompress() else { throw CodecError("JPEG: cannot start the encoder") }
    defer { tjDestroy(handle) }
    let packed = pack(bitmap, Channels(gray: gray, alpha: false))
    var buffer: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let format = gray ? TJPF_GRAY : TJPF_RGB
    let subsampling = gray ? TJSAMP_GRAY : subsampleChroma ? TJSAMP_420 : TJSAMP_444
    let status = tjCompress2(
        handle, packed, Int32(bitmap.width), 0, Int32(bitmap.height), Int32(format.rawValue),
        &buffer, &size, Int32(subsampling.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
    defer { if let buffer { tjFree(buffer) } }
    guard status == 0, let buffer else { throw CodecError("JPEG: \(String(cString: tjGetErrorStr2(handle)))") }
    return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
}

/// Encodes as lossy WebP at `quality` (0…100), with alpha when `alpha` is set.
func encodeWebP(_ bitmap: Bitmap, quality: Int, alpha: Bool) throws -> [UInt8] {
    var output: UnsafeMutablePointer<UInt8>?
    let size: Int
    if alpha {
        size = WebPEncodeRGBA(
            bitmap.pixels, Int32(bitmap.width), Int32(bitmap.height), Int32(bitmap.width * 4),
            Float(quality), &output)
    } else {
        let rgb = pack(bitmap, Channels(gray: false, alpha: false))
        size = WebPEncodeRGB(
            rgb, Int32(bitmap.width), Int32(bitmap.height), Int32(bitmap.width * 3), Float(quality), &output)
    }
    defer { if let output { WebPFree(output) } }
    guard size > 0, let output else { throw CodecError("WebP: encoding failed (\(bitmap.width)×\(bitmap.height))") }
    return Array(UnsafeBufferPointer(start: output, count: size))
}

/// RGBA → the interleaved channels asked for (gray takes R).
private func pack(_ bitmap: Bitmap, _ channels: Channels) -> [UInt8] {
    if !channels.gray && channels.alpha { return bitmap.pixels }
    let components = (channels.gray ? 1 : 3) + (channels.alpha ? 1 : 0)
    var out = [UInt8](repeating: 0, count: bitmap.pixelCount * components)
    bitmap.pixels.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            var o = 0
            for p in 0..<bitmap.pixelCount {
                let s = p * 4
                if channels.gray {
                    dst[o] = src[s]
                    o += 1
                } else {
                    dst[o] = src[s]
                    dst[o + 1] = src[s + 1]
                    dst[o + 2] = src[s + 2]
                    o += 3
                }
                if channels.alpha {
                    dst[o] = src[s + 3]
                    o += 1
                }
            }
        }
    }
    return out
}
