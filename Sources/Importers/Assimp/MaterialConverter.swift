import CAssimp
import FoundationEssentials
import ImportSupport
import Scene
import Textures

/// Converts Assimp materials to glTF PBR metallic-roughness and loads the images they use.
///
/// | glTF material            | glTF / GLB source                          | Phong, Lambert, FBX, OBJ, COLLADA source            |
/// |--------------------------|--------------------------------------------|-----------------------------------------------------|
/// | baseColorFactor          | `$clr.base` (else `$clr.diffuse`)          | `$clr.diffuse` (sRGB → linear), alpha = `$mat.opacity` |
/// | baseColorTexture         | BASE_COLOR (else DIFFUSE) texture          | DIFFUSE (else BASE_COLOR) texture; a black diffuse with a texture becomes white |
/// | metallic / roughness     | `$mat.metallicFactor` / `$mat.roughnessFactor` | 0 / √(2 ÷ (`$mat.shininess` + 2))                |
/// | metallicRoughnessTexture | UNKNOWN (glTF's metallicRoughness) texture | —                                                   |
/// | normalTexture            | NORMALS texture, scale `$tex.scale`        | NORMALS texture; OBJ `bump`/`map_Bump` (HEIGHT) when none |
/// | occlusionTexture         | LIGHTMAP texture, strength `$tex.strength` | AMBIENT_OCCLUSION, else LIGHTMAP texture            |
/// | emissive                 | `$clr.emissive`, EMISSIVE texture          | `$clr.emissive` (sRGB → linear), EMISSIVE texture; black with a texture becomes white |
/// | alphaMode / alphaCutoff  | `$mat.gltf.alphaMode` / `$mat.gltf.alphaCutoff` | BLEND when 0 < opacity < 1 (opacity 0 is ignored with a warning) |
/// | doubleSided              | `$mat.twosided`                            | `$mat.twosided`                                     |
/// | unlit                    | `$mat.gltf.unlit` or shading model Unlit   | shading model NoShading                             |
///
/// Images: embedded textures (`*N` references or matched by file name) keep their compressed bytes; uncompressed
/// embedded texels are encoded as PNG; `data:` URIs are decoded; other references are files resolved inside the
/// model's folder (`ModelFolder`). PNG, JPEG, WebP, BMP (recognized by their bytes) and TGA (by its `.tga` name and a
/// plausible header) are kept; the texture stage turns WebP, BMP and TGA into what glTF carries, even when
/// textures are otherwise kept as they are. Anything else becomes a warning and the material keeps its factors.
/// Identical references and identical bytes share one image.
struct MaterialConverter {
    let ai: UnsafePointer<aiScene>
    let sourceIsGLTF: Bool
    let isOBJ: Bool
    let folder: ModelFolder

    private(set) var table = TextureTable()
    private(set) var warnings: [String] = []
    private var imageByReference: [String: Int?] = [:]

    init(ai: UnsafePointer<aiScene>, sourceIsGLTF: Bool, isOBJ: Bool, folder: ModelFolder) {
        self.ai = ai
        self.sourceIsGLTF = sourceIsGLTF
        self.isOBJ = isOBJ
        self.folder = folder
    }

    mutating func convertAll() -> [Material] {
        pointers(ai.pointee.mMaterials, ai.pointee.mNumMaterials).map { pointer in
            guard let pointer else { return Material() }
            return convert(UnsafePointer(pointer))
        }
    }

    private mutating func convert(_ m: UnsafePointer<aiMaterial>) -> Material {
        var out = Material(name: string(m, "?mat.name") ?? "")
        out.doubleSided = (int(m, "$mat.twosided") ?? 0) != 0
        let shading = int(m, "$mat.shadingm")

        if sourceIsGLTF {
            if let base = color(m, "$clr.base") ?? color(m, "$clr.diffuse") { out.baseColorFactor = clamp(base) }
            out.baseColorTexture = texture(m, aiTextureType_BASE_COLOR) ?? texture(m, aiTextureType_DIFFUSE)
            out.metallicFactor = float(m, "$mat.metallicFactor").map(unitClamped) ?? 1
            out.roughnessFactor = float(m, "$mat.roughnessFactor").map(unitClamped) ?? 1
            out.metallicRoughnessTexture =
                texture(m, aiTextureType_UNKNOWN)
                ?? texture(m, aiTextureType_METALNESS) ?? texture(m, aiTextureType_DIFFUSE_ROUGHNESS)
            out.normalTexture = texture(m, aiTextureType_NORMALS)
            if out.normalTexture != nil { out.normalScale = float(m, "$tex.scale", aiTextureType_NORMALS) ?? 1 }
            out.occlusionTexture = texture(m, aiTextureType_LIGHTMAP) ?? texture(m, aiTextureType_AMBIENT_OCCLUSION)
            if out.occlusionTexture != nil {
                out.occlusionStrength = float(m, "$tex.strength", aiTextureType_LIGHTMAP).map(unitClamped) ?? 1
            }
            if let emissive = color(m, "$clr.emissive") { out.emissiveFactor = clamp3(emissive) }
            out.emissiveTexture = texture(m, aiTextureType_EMISSIVE)
            switch string(m, "$mat.gltf.alphaMode") {
            case "MASK": out.alphaMode = .mask
            case "BLEND": out.alphaMode = .blend
            default: out.alphaMode = .opaque
            }
            if let cutoff = float(m, "$mat.gltf.alphaCutoff"), cutoff.isFinite, cutoff >= 0 { out.alphaCutoff = cutoff }
            out.unlit = (int(m, "$mat.gltf.unlit") ?? 0) != 0 || shading == Int32(aiShadingMode_Unlit.rawValue)
            return out
        }

        out.baseColorTexture = texture(m, aiTextureType_DIFFUSE) ?? texture(m, aiTextureType_BASE_COLOR)
        out.normalTexture = texture(m, aiTextureType_NORMALS) ?? (isOBJ ? texture(m, aiTextureType_HEIGHT) : nil)
        out.occlusionTexture = texture(m, aiTextureType_AMBIENT_OCCLUSION) ?? texture(m, aiTextureType_LIGHTMAP)
        out.emissiveTexture = texture(m, aiTextureType_EMISSIVE)
        let phong = PhongMaterial(
            diffuse: color(m, "$clr.diffuse").map(rgb) ?? SIMD3(repeating: 1),
            opacity: float(m, "$mat.opacity") ?? 1, shininess: float(m, "$mat.shininess") ?? 0,
            emissive: color(m, "$clr.emissive").map(rgb) ?? .zero)
        if let warning = phong.applyFactors(to: &out) { warnings.append(warning) }
        out.unlit = shading == Int32(aiShadingMode_NoShading.rawValue)
        return out
    }

    // MARK: Textures and images

    private mutating func texture(_ m: UnsafePointer<aiMaterial>, _ type: aiTextureType) -> TextureRef? {
        guard cassimp_getMaterialTextureCount(m, type) > 0 else { return nil }
        var path = aiString()
        var uvIndex: UInt32 = 0
        var modes = [aiTextureMapMode_Wrap, aiTextureMapMode_Wrap, aiTextureMapMode_Wrap]
        guard cassimp_getMaterialTexture(m, type, 0, &path, nil, &uvIndex, nil, nil, &modes, nil) == aiReturn_SUCCESS
        else {
            return nil
        }
        let reference = path.string
        guard !reference.isEmpty, let image = image(for: reference) else { return nil }

        func wrap(_ mode: aiTextureMapMode) -> Int {
            switch mode {
            case aiTextureMapMode_Clamp, aiTextureMapMode_Decal: return Sampler.clampToEdge
            case aiTextureMapMode_Mirror: return Sampler.mirroredRepeat
            default: return Sampler.repeatWrap
            }
        }
        var sampler = Sampler(wrapS: wrap(modes[0]), wrapT: wrap(modes[1]))
        if sourceIsGLTF {
            sampler.magFilter = int(m, "$tex.mappingfiltermag", type).map(Int.init).flatMap(validFilter)
            sampler.minFilter = int(m, "$tex.mappingfiltermin", type).map(Int.init).flatMap(validFilter)
        }
        let textureIndex = table.texture(image: image, sampler: sampler)
        var texCoord = Int(uvIndex)
        if texCoord > 1 {
            warnings.append("texture '\(reference)' uses UV set \(texCoord); only 2 sets are kept, so it reads set 0")
            texCoord = 0
        }
        return TextureRef(texture: textureIndex, texCoord: texCoord)
    }

    private mutating func image(for reference: String) -> Int? {
        if let cached = imageByReference[reference] { return cached }
        let result: Int?
        switch loadImageBytes(reference) {
        case .failure(let failure):
            warnings.append("texture '\(reference)' not loaded: \(failure.reason); the material keeps its factors")
            result = nil
        case .success(let (name, bytes)):
            if let image = table.image(bytes: bytes, name: name, typeHint: name.isEmpty ? reference : name) {
                result = image
            } else {
                let kind = imageKind(bytes) ?? URL(fileURLWithPath: name).pathExtension.uppercased()
                warnings.append(
                    "texture '\(reference)' not loaded: unsupported image format (\(kind.isEmpty ? "unknown" : kind)); "
                        + "the material keeps its factors")
                result = nil
            }
        }
        imageByReference[reference] = result
        return result
    }

    private struct LoadFailure: Error { var reason: String }

    private func loadImageBytes(_ reference: String) -> Result<(String, [UInt8]), LoadFailure> {
        let embedded = pointers(ai.pointee.mTextures, ai.pointee.mNumTextures)
        if reference.hasPrefix("*") {
            guard let index = Int(reference.dropFirst()), index >= 0, index < embedded.count,
                let texture = embedded[index]
            else { return .failure(LoadFailure(reason: "embedded texture missing")) }
            return embeddedBytes(texture, fallbackName: "texture\(index)")
        }
        let baseName = fileName(reference)
        if let texture = embedded.first(where: { pointer in
            guard let name = pointer?.pointee.mFilename.string, !name.isEmpty else { return false }
            return name == reference || fileName(name) == baseName
        }) ?? nil {
            return embeddedBytes(texture, fallbackName: baseName)
        }
        if reference.hasPrefix("data:") {
            guard let comma = reference.firstIndex(of: ","), reference[..<comma].hasSuffix(";base64"),
                let data = Data(
                    base64Encoded: String(reference[reference.index(after: comma)...]),
                    options: .ignoreUnknownCharacters)
            else { return .failure(LoadFailure(reason: "malformed data URI")) }
            return .success(("", [UInt8](data)))
        }
        switch folder.resolve(reference) {
        case .found(let file):
            guard let data = FileManager.default.contents(atPath: file) else {
                return .failure(LoadFailure(reason: "cannot read the file"))
            }
            return .success((baseName, [UInt8](data)))
        case .missing:
            return .failure(LoadFailure(reason: "file not found beside the model"))
        case .outside:
            return .failure(LoadFailure(reason: "path is outside the model's folder"))
        }
    }

    private func embeddedBytes(_ texture: UnsafeMutablePointer<aiTexture>, fallbackName: String)
        -> Result<(String, [UInt8]), LoadFailure>
    {
        let t = texture.pointee
        let name = t.mFilename.length > 0 ? fileName(t.mFilename.string) : fallbackName
        guard let data = t.pcData else { return .failure(LoadFailure(reason: "embedded texture has no data")) }
        if t.mHeight == 0 {
            let raw = UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self)
            return .success((name, Array(UnsafeBufferPointer(start: raw, count: Int(t.mWidth)))))
        }
        let width = Int(t.mWidth)
        let height = Int(t.mHeight)
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<(width * height) {
            let texel = data[i]
            rgba[i * 4] = texel.r
            rgba[i * 4 + 1] = texel.g
            rgba[i * 4 + 2] = texel.b
            rgba[i * 4 + 3] = texel.a
        }
        // The name with its extension (if any) replaced by .png.
        let dot = name.lastIndex(of: ".").flatMap { $0 != name.startIndex && !name[$0...].contains("/") ? $0 : nil }
        let pngName = name.isEmpty ? name : name[..<(dot ?? name.endIndex)] + ".png"
        guard width > 0, height > 0, let png = try? encodePNG(Bitmap(width: width, height: height, pixels: rgba)) else {
            return .failure(LoadFailure(reason: "embedded texture cannot be encoded as PNG"))
        }
        return .success((pngName, png))
    }

    // MARK: Material properties

    private func float(_ m: UnsafePointer<aiMaterial>, _ key: String, _ type: aiTextureType = aiTextureType_NONE)
        -> Float?
    {
        var value: Float = 0
        var count: UInt32 = 1
        let ok =
            cassimp_getMaterialFloatArray(m, key, type.rawValue, 0, &value, &count) == aiReturn_SUCCESS && count == 1
        return ok && value.isFinite ? value : nil
    }

    private func int(_ m: UnsafePointer<aiMaterial>, _ key: String, _ type: aiTextureType = aiTextureType_NONE)
        -> Int32?
    {
        var value: Int32 = 0
        var count: UInt32 = 1
        let ok =
            cassimp_getMaterialIntegerArray(m, key, type.rawValue, 0, &value, &count) == aiReturn_SUCCESS && count == 1
        return ok ? value : nil
    }

    private func color(_ m: UnsafePointer<aiMaterial>, _ key: String) -> SIMD4<Float>? {
        var c = aiColor4D()
        guard cassimp_getMaterialColor(m, key, 0, 0, &c) == aiReturn_SUCCESS else { return nil }
        return SIMD4(c.r, c.g, c.b, c.a)
    }

    private func string(_ m: UnsafePointer<aiMaterial>, _ key: String) -> String? {
        var s = aiString()
        return cassimp_getMaterialString(m, key, 0, 0, &s) == aiReturn_SUCCESS ? s.string : nil
    }
}

private func clamp(_ c: SIMD4<Float>) -> SIMD4<Float> {
    SIMD4(unitClamped(c.x), unitClamped(c.y), unitClamped(c.z), unitClamped(c.w))
}
private func clamp3(_ c: SIMD4<Float>) -> SIMD3<Float> { SIMD3(unitClamped(c.x), unitClamped(c.y), unitClamped(c.z)) }
private func rgb(_ c: SIMD4<Float>) -> SIMD3<Float> { SIMD3(c.x, c.y, c.z) }

private func validFilter(_ value: Int) -> Int? {
    [9728, 9729, 9984, 9985, 9986, 9987].contains(value) ? value : nil
}

/// A name for other image formats recognizable by their leading bytes.
private func imageKind(_ bytes: [UInt8]) -> String? {
    func has(_ s: String, at offset: Int = 0) -> Bool {
        bytes.count >= offset + s.utf8.count && Array(bytes[offset..<(offset + s.utf8.count)]) == Array(s.utf8)
    }
    if has("BM") { return "BMP" }
    if has("DDS ") { return "DDS" }
    if has("GIF8") { return "GIF" }
    if has("RIFF"), has("WEBP", at: 8) { return "WebP" }
    if has("II*\u{0}") || has("MM\u{0}*") { return "TIFF" }
    if has("8BPS") { return "PSD" }
    if has("#?RADIANCE") || has("#?RGBE") { return "HDR" }
    if bytes.starts(with: [0x76, 0x2F, 0x31, 0x01]) { return "EXR" }
    if bytes.starts(with: [0xAB, 0x4B, 0x54, 0x58]) { return "KTX" }
    return nil
}
