import FoundationEssentials
import ImportSupport
import Scene

/// FBX Lambert/Phong materials → glTF PBR, by the Assimp path's rules (Importers/Assimp/MaterialConverter.swift):
/// base color = `DiffuseColor` × `DiffuseFactor` (sRGB → linear), alpha = `Opacity` (else 1 − mean
/// `TransparentColor` × `TransparencyFactor`), BLEND when below 1; metallic 0, roughness √(2 ÷ (shininess + 2));
/// emissive = `EmissiveColor` × `EmissiveFactor`. Textures connected to `DiffuseColor`, `NormalMap` and
/// `EmissiveColor` become the base color, normal and emissive textures; their images come from the `Video`'s
/// embedded `Content`, else from the file (`RelativeFilename`, then `FileName`) resolved inside the model's folder.
struct FBXMaterials {
    private var byKey: [FBXKey: Int] = [:]
    private var imageByReference: [String: Int?] = [:]
    /// The images, samplers and textures made so far (the scene takes them at the end of the import).
    private(set) var table = TextureTable()

    private var fallback: Int?

    /// "DefaultMaterial" (diffuse 0.8 gray) for polygons without a material, as the Assimp path gives them.
    mutating func defaultMaterial(_ b: inout FBXSceneBuilder) -> Int {
        if let fallback { return fallback }
        var out = Material(name: "DefaultMaterial")
        out.baseColorFactor = SIMD4(SIMD3(repeating: srgbToLinear(0.8)), 1)
        out.metallicFactor = 0
        b.scene.materials.append(out)
        fallback = b.scene.materials.count - 1
        return b.scene.materials.count - 1
    }

    /// The scene material for an FBX Material object, converting it on first use.
    mutating func material(_ key: FBXKey, _ b: inout FBXSceneBuilder) -> Int {
        if let index = byKey[key] { return index }
        guard let object = b.objects[key] else { return 0 }
        let p = b.properties(object)
        var out = Material(name: object.name)
        func color(_ base: String) -> SIMD3<Float>? {
            guard var c = p.vector(base + "Color") ?? p.vector(base) else { return nil }
            if let factor = p.double(base + "Factor"), factor.isFinite { c *= factor }
            return SIMD3<Float>(c)
        }
        out.baseColorTexture = texture(
            key, slots: ["DiffuseColor", "Diffuse", "Maya|TEX_color_map", "3dsMax|Parameters|base_color_map"], &b)
        out.normalTexture = texture(key, slots: ["NormalMap", "Maya|TEX_normal_map", "3dsMax|Parameters|norm_map"], &b)
        out.emissiveTexture = texture(
            key, slots: ["EmissiveColor", "Maya|TEX_emissive_map", "3dsMax|Parameters|emit_color_map"], &b)
        var opacity: Float = 1
        if let value = p.double("Opacity"), value.isFinite {
            opacity = Float(value)
        } else if let transparent = color("Transparent") {
            opacity = 1 - (transparent.x + transparent.y + transparent.z) / 3
        }
        let phong = PhongMaterial(
            diffuse: color("Diffuse") ?? SIMD3(repeating: 1), opacity: opacity,
            shininess: Float(p.double("ShininessExponent") ?? p.double("Shininess") ?? 0),
            emissive: color("Emissive") ?? .zero)
        if let warning = phong.applyFactors(to: &out) { b.warn(warning) }
        b.scene.materials.append(out)
        byKey[key] = b.scene.materials.count - 1
        return b.scene.materials.count - 1
    }

    private mutating func texture(_ material: FBXKey, slots: [String], _ b: inout FBXSceneBuilder) -> TextureRef? {
        let connected = b.children(of: material, kind: "Texture")
        guard let (key, object, _) = connected.first(where: { slots.contains($0.2 ?? "") }) else { return nil }
        let p = b.doc.properties(of: object.node)
        let relative = b.doc.value(object.node, "RelativeFilename")?.text ?? ""
        let absolute = b.doc.value(object.node, "FileName")?.text ?? ""
        let reference = relative.isEmpty ? absolute : relative
        var embedded: [UInt8] = []
        // The connected Video's content, else (an orphan Video) any Video with the same file name.
        let baseName = fileName(reference).lowercased()
        let videos =
            b.children(of: key, kind: "Video").map(\.1)
            + b.objects.values.filter { video in
                video.kind == "Video" && !baseName.isEmpty
                    && ["RelativeFilename", "Filename", "FileName"].contains { field in
                        fileName(b.doc.value(video.node, field)?.text ?? "").lowercased() == baseName
                    }
            }.sorted { $0.node < $1.node }
        for video in videos {
            if let content = videoContent(b.doc, video.node), !content.isEmpty {
                embedded = content
                break
            }
        }
        guard let image = image(reference: reference, fallback: absolute, embedded: embedded, &b) else { return nil }
        func wrap(_ name: String) -> Int { (p.int(name) ?? 0) == 1 ? Sampler.clampToEdge : Sampler.repeatWrap }
        let sampler = Sampler(wrapS: wrap("WrapModeU"), wrapT: wrap("WrapModeV"))
        let textureIndex = table.texture(image: image, sampler: sampler)
        return TextureRef(texture: textureIndex, texCoord: 0)
    }

    private mutating func image(reference: String, fallback: String, embedded: [UInt8], _ b: inout FBXSceneBuilder)
        -> Int?
    {
        let cacheKey = embedded.isEmpty ? reference : reference + "#embedded\(embedded.count)"
        if let cached = imageByReference[cacheKey] { return cached }
        var bytes = embedded
        var failure: String?
        if bytes.isEmpty {
            for candidate in [reference, fallback] where !candidate.isEmpty {
                switch b.folder.resolve(candidate) {
                case .found(let path):
                    bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
                    failure = bytes.isEmpty ? "cannot read the file" : nil
                case .missing: failure = failure ?? "file not found beside the model"
                case .outside: failure = "path is outside the model's folder"
                }
                if !bytes.isEmpty { break }
            }
        }
        let name = fileName(reference)
        var result: Int?
        if bytes.isEmpty {
            b.warn("texture '\(reference)' not loaded: \(failure ?? "no file name"); the material keeps its factors")
        } else if let image = table.image(bytes: bytes, name: name) {
            result = image
        } else {
            b.warn("texture '\(reference)' not loaded: unsupported image format; the material keeps its factors")
        }
        imageByReference[cacheKey] = result
        return result
    }
}

/// The bytes of a `Video`'s `Content`: raw in binary files, base64 strings (possibly split) in ASCII files.
private func videoContent(_ doc: FBXDocument, _ video: Int) -> [UInt8]? {
    guard let content = doc.child(video, "Content") else { return nil }
    var text = ""
    for value in doc[content].values {
        switch value {
        case .bytes(let bytes): return bytes
        case .string(let s): text += s
        default: continue
        }
    }
    return Data(base64Encoded: text, options: .ignoreUnknownCharacters).map { [UInt8]($0) }
}
