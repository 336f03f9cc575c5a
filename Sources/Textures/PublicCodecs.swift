import Scene

// The codec entry points other modules use (the preview renderer): Textures stays the only user of libpng,
// libturbojpeg and libwebp.

/// Decodes a scene image (PNG, JPEG, WebP, BMP or TGA, by its MIME type) to 8-bit RGBA, refusing an image whose
/// header declares more than `maxPixels` pixels before decoding anything. Errors are one-line descriptions.
public func decodeBitmap(_ image: Image, maxPixels: Int) throws -> Bitmap {
    guard let format = ImageFormat(mimeType: image.mimeType) else {
        throw CodecError("unsupported image type \(image.mimeType)")
    }
    return try decodeImage(image.data, format, maxPixels: maxPixels)
}

/// Encodes 8-bit RGBA as a PNG with RGB (when `alpha` is false) or RGBA samples. Deterministic bytes.
public func encodePNG(_ bitmap: Bitmap, alpha: Bool) throws -> [UInt8] {
    try encodePNG(bitmap, Channels(gray: false, alpha: alpha))
}
