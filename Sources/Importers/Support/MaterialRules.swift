import Scene

/// The images, samplers and textures an importer collects, each stored once: images by their bytes, samplers by
/// value (the default sampler is no sampler), textures by image and sampler.
public struct TextureTable {
    public private(set) var images: [Image] = []
    public private(set) var samplers: [Sampler] = []
    public private(set) var textures: [Texture] = []
    private var imageByBytes: [[UInt8]: Int] = [:]
    private var textureByKey: [TextureKey: Int] = [:]

    private struct TextureKey: Hashable {
        var image: Int
        var sampler: Int?
    }

    public init() {}

    /// The image holding `bytes` (added on first sight), or nil when they are in no format `imageMIMEType` knows.
    /// `name` is the image's name; `typeHint` the name whose extension tells a TGA (defaults to `name`).
    public mutating func image(bytes: [UInt8], name: String, typeHint: String? = nil) -> Int? {
        guard let mime = imageMIMEType(bytes, name: typeHint ?? name) else { return nil }
        if let existing = imageByBytes[bytes] { return existing }
        images.append(Image(name: name, mimeType: mime, data: bytes))
        imageByBytes[bytes] = images.count - 1
        return images.count - 1
    }

    /// The texture drawing `image` with `sampler`.
    public mutating func texture(image: Int, sampler: Sampler = Sampler()) -> Int {
        var samplerIndex: Int?
        if sampler != Sampler() {
            if let existing = samplers.firstIndex(of: sampler) {
                samplerIndex = existing
            } else {
                samplers.append(sampler)
                samplerIndex = samplers.count - 1
            }
        }
        let key = TextureKey(image: image, sampler: samplerIndex)
        if let existing = textureByKey[key] { return existing }
        textures.append(Texture(image: image, sampler: samplerIndex))
        textureByKey[key] = textures.count - 1
        return textures.count - 1
    }
}

/// The one rule set that turns a Lambert/Phong material (MTL, FBX, and the formats Assimp reads other than glTF)
/// into glTF metallic-roughness factors: base color = the sRGB diffuse color in linear space (white when it is black
/// and a base color texture is set), alpha = opacity (BLEND below 1; 0 is ignored with a warning, as files that
/// say 0 mean "unset" far more often than "invisible"), metallic 0, roughness √(2 ÷ (shininess + 2)), emissive =
/// the sRGB emissive color in linear space (white when it is black and an emissive texture is set).
public struct PhongMaterial {
    /// sRGB diffuse color (clamped to 0…1 here).
    public var diffuse: SIMD3<Float>
    /// Opacity, 0…1 (values outside are clamped; not finite means opaque).
    public var opacity: Float
    /// Phong specular exponent; negative counts as 0.
    public var shininess: Float
    /// sRGB emissive color, black when absent.
    public var emissive: SIMD3<Float>

    public init(diffuse: SIMD3<Float>, opacity: Float = 1, shininess: Float = 0, emissive: SIMD3<Float> = .zero) {
        self.diffuse = diffuse
        self.opacity = opacity
        self.shininess = shininess
        self.emissive = emissive
    }

    /// Sets `material`'s base color, alpha mode, metallic, roughness and emissive factors; its textures must be set
    /// already. Returns a warning to pass on, if any.
    public func applyFactors(to material: inout Material) -> String? {
        let black = SIMD3<Float>.zero
        let white = SIMD3<Float>(repeating: 1)
        let base = linearColor(diffuse)
        var alpha = unitClamped(opacity)
        var warning: String?
        if alpha == 0 {
            warning = "material '\(material.name)' has opacity 0, which was ignored (treated as opaque)"
            alpha = 1
        }
        material.baseColorFactor = SIMD4(material.baseColorTexture != nil && base == black ? white : base, alpha)
        if alpha < 1 { material.alphaMode = .blend }
        material.metallicFactor = 0
        let exponent = max(shininess, 0)
        material.roughnessFactor = exponent.isFinite ? unitClamped((2 / (exponent + 2)).squareRoot()) : 1
        let glow = linearColor(emissive)
        material.emissiveFactor = material.emissiveTexture != nil && glow == black ? white : glow
        return warning
    }
}

/// `v` clamped to 0…1; 1 when not finite.
public func unitClamped(_ v: Float) -> Float { v.isFinite ? min(max(v, 0), 1) : 1 }

/// An sRGB color clamped to 0…1 and converted to linear space.
public func linearColor(_ c: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(srgbToLinear(unitClamped(c.x)), srgbToLinear(unitClamped(c.y)), srgbToLinear(unitClamped(c.z)))
}
