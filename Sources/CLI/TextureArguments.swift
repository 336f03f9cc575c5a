import ArgumentParser
import Textures

/// The texture options of `convert`.
struct TextureArguments: ParsableArguments {
    @Option(
        help:
            "Texture encoding: auto (JPEG for opaque color and JPEG sources, PNG otherwise), jpeg, png, webp (EXT_texture_webp) or keep (BMP/TGA still become PNG)."
    )
    var textureFormat: TextureOptions.Format = .auto

    @Option(help: "Longest texture side in pixels (never enlarges).")
    var textureMax: Int?

    @Option(help: "Longest side for base color and emissive textures (overrides --texture-max).")
    var textureMaxColor: Int?

    @Option(help: "Longest side for normal maps (overrides --texture-max).")
    var textureMaxNormal: Int?

    @Option(help: "Longest side for metallic-roughness and occlusion textures (overrides --texture-max).")
    var textureMaxData: Int?

    @Flag(help: "Shrink texture sides to powers of two.")
    var texturePot = false

    @Option(
        help:
            "JPEG quality, \(TextureOptions.jpegQualityRange.lowerBound)-\(TextureOptions.jpegQualityRange.upperBound)."
    )
    var jpegQuality = TextureOptions().jpegQuality

    @Option(
        help:
            "WebP quality, \(TextureOptions.webpQualityRange.lowerBound)-\(TextureOptions.webpQualityRange.upperBound)."
    )
    var webpQuality = TextureOptions().webpQuality

    @Flag(help: "With --texture-format webp, also keep a PNG/JPEG image for viewers without EXT_texture_webp.")
    var webpFallback = false

    @Option(help: "Images whose header declares more pixels are dropped with a warning (decompression bombs).")
    var maxImagePixels = TextureOptions().maxImagePixels

    func validate() throws {
        for (name, value) in [
            ("--texture-max", textureMax), ("--texture-max-color", textureMaxColor),
            ("--texture-max-normal", textureMaxNormal), ("--texture-max-data", textureMaxData)
        ] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
        let (jpeg, webp) = (TextureOptions.jpegQualityRange, TextureOptions.webpQualityRange)
        if !jpeg.contains(jpegQuality) {
            throw ValidationError("--jpeg-quality must be in \(jpeg.lowerBound)...\(jpeg.upperBound)")
        }
        if !webp.contains(webpQuality) {
            throw ValidationError("--webp-quality must be in \(webp.lowerBound)...\(webp.upperBound)")
        }
        if maxImagePixels < 1 { throw ValidationError("--max-image-pixels must be at least 1") }
        if webpFallback && textureFormat != .webp {
            throw ValidationError("--webp-fallback needs --texture-format webp")
        }
    }

    var options: TextureOptions {
        var o = TextureOptions()
        o.format = textureFormat
        o.maxSize = textureMax
        o.maxSizeByClass[.color] = textureMaxColor
        o.maxSizeByClass[.normal] = textureMaxNormal
        o.maxSizeByClass[.data] = textureMaxData
        o.powerOfTwo = texturePot
        o.jpegQuality = jpegQuality
        o.webpQuality = webpQuality
        o.webpFallback = webpFallback
        o.maxImagePixels = maxImagePixels
        return o
    }
}

extension TextureOptions.Format: ExpressibleByArgument {}
