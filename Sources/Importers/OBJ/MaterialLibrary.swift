import FoundationEssentials
import ImportSupport
import Scene

/// The MTL libraries an OBJ names, read from the model's folder, and the glTF materials made from them.
///
/// The mapping follows the Assimp path's rules (Importers/Assimp/MaterialConverter.swift) so both agree:
/// `Kd` (sRGB → linear; 0.6 when absent, as Assimp) → base color, alpha from `d` or 1 − `Tr` (BLEND below 1; 0 is
/// ignored with a warning), `map_Kd` → base color texture (a black `Kd` with a texture becomes white), metallic 0
/// and roughness √(2 ÷ (`Ns` + 2)), `norm` (else `map_Bump`/`bump`) → normal texture with `-bm` as its scale, `Ke`
/// and `map_Ke` → emissive (black with a texture becomes white), `illum 0` → unlit. The PBR extension overrides:
/// `Pr` → roughness, `Pm` → metallic, `map_Pr` → metallic-roughness texture (a grayscale image serves both
/// channels, so it is used when `map_Pm` is absent or the same image). `map_Ks`, `Ks`, `map_d` (unless it is the
/// `map_Kd` image: then the base color's alpha blends), `aniso` and `clearcoat` have no field in the scene model
/// and are dropped; `-clamp on` clamps the sampler. The base color texture's `-o`/`-s` are baked into the UVs
/// of the primitives using the material (glTF has no per-texture transform here).
struct MaterialLibraries {
    let folder: ModelFolder
    let modelPath: String
    private(set) var table = TextureTable()
    private(set) var warnings: [String] = []
    private var definitions: [MTLMaterial] = []
    private var byName: [String: Int] = [:]
    private var loadedLibraries = Set<String>()
    private var converted: [Int: Material] = [:]
    private var imageByReference: [String: Int?] = [:]
    private var warnedNames = Set<String>()

    init(folder: ModelFolder, modelPath: String) {
        self.folder = folder
        self.modelPath = modelPath
    }

    /// Reads the library named by an `mtllib` statement (the whole text, else each word as a file name).
    mutating func load(_ names: String) {
        let candidates = [names] + (names.contains(" ") ? names.split(separator: " ").map(String.init) : [])
        var found = false
        for name in candidates where !loadedLibraries.contains(name) {
            switch folder.resolve(name) {
            case .found(let file):
                loadedLibraries.insert(name)
                found = true
                guard let data = FileManager.default.contents(atPath: file) else {
                    warn("material library '\(name)' cannot be read")
                    continue
                }
                parse(data)
            case .outside:
                loadedLibraries.insert(name)
                found = true
                warn("material library '\(name)' was not read: outside the model's folder")
            case .missing:
                continue
            }
            if name == names { break }
        }
        if !found, !loadedLibraries.contains(names) {
            loadedLibraries.insert(names)
            warn("material library '\(names)' not found beside the model")
        }
    }

    /// The slot of the material `name` (nil, with a warning, when no library defines it: the default material).
    mutating func slot(named name: String) -> Int? {
        if let slot = byName[name] { return slot }
        if warnedNames.insert(name).inserted {
            warn("material '\(name)' is not defined in the material libraries; its faces use the default material")
        }
        return nil
    }

    /// The glTF material for a slot.
    mutating func material(_ slot: Int) -> Material? {
        guard slot < definitions.count else { return nil }
        if let done = converted[slot] { return done }
        let material = convert(definitions[slot])
        converted[slot] = material
        return material
    }

    /// The base color texture's UV scale and offset for a slot, when it has one.
    func uvTransform(of slot: Int?) -> (scale: SIMD2<Float>, offset: SIMD2<Float>)? {
        guard let slot, slot < definitions.count, let map = definitions[slot].maps["map_kd"] else { return nil }
        guard map.scale != nil || map.offset != nil else { return nil }
        return (map.scale ?? SIMD2(1, 1), map.offset ?? .zero)
    }

    private mutating func warn(_ message: String) { warnings.append(message) }

    // MARK: Parsing

    private mutating func parse(_ data: Data) {
        data.withUnsafeBytes { bytes in
            var scanner = TextScanner(bytes)
            var current: MTLMaterial?
            func finish() {
                guard let material = current else { return }
                if byName[material.name] == nil {
                    byName[material.name] = definitions.count
                    definitions.append(material)
                }
            }
            while !scanner.isAtEnd {
                let keywordRange = scanner.word()
                guard !keywordRange.isEmpty else {
                    scanner.skipLine()
                    continue
                }
                let keyword = scanner.string(keywordRange).lowercased()
                if keyword == "newmtl" {
                    finish()
                    current = MTLMaterial(name: scanner.restOfLine())
                    continue
                }
                guard current != nil else {
                    scanner.skipLine()
                    continue
                }
                switch keyword {
                case "kd": current!.kd = color(&scanner)
                case "ke": current!.ke = color(&scanner)
                case "ns": current!.ns = scanner.float()
                case "d": current!.opacity = scanner.float()
                case "tr": current!.opacity = scanner.float().map { 1 - $0 }
                case "pr": current!.roughness = scanner.float()
                case "pm": current!.metallic = scanner.float()
                case "illum": current!.illum = scanner.integer()
                case "map_kd", "map_ks", "map_d", "map_bump", "bump", "norm", "map_pr", "map_pm", "map_ke":
                    let key = keyword == "bump" ? "map_bump" : keyword
                    if let map = TextureMap(parsing: scanner.restOfLine()) { current!.maps[key] = map }
                    continue
                default: break
                }
                scanner.skipLine()
            }
            finish()
        }
    }

    private func color(_ scanner: inout TextScanner) -> SIMD3<Float>? {
        guard let r = scanner.float() else { return nil }
        let g = scanner.float() ?? r
        let b = scanner.float() ?? r
        return SIMD3(r, g, b)
    }

    // MARK: Conversion

    private mutating func convert(_ m: MTLMaterial) -> Material {
        var out = Material(name: m.name)
        out.baseColorTexture = texture(m.maps["map_kd"])
        if let alphaMap = m.maps["map_d"], alphaMap.path == m.maps["map_kd"]?.path, out.baseColorTexture != nil {
            out.alphaMode = .blend
        }
        if let roughnessMap = m.maps["map_pr"] {
            if m.maps["map_pm"] == nil || m.maps["map_pm"]?.path == roughnessMap.path {
                out.metallicRoughnessTexture = texture(roughnessMap)
            } else {
                warn(
                    "material '\(m.name)': separate map_Pr and map_Pm images cannot be combined; their factors are kept"
                )
            }
        } else if m.maps["map_pm"] != nil {
            warn("material '\(m.name)': map_Pm without map_Pr is not supported; the metallic factor is kept")
        }
        if let normalMap = m.maps["norm"] ?? m.maps["map_bump"] {
            out.normalTexture = texture(normalMap)
            if out.normalTexture != nil, let scale = normalMap.bumpScale, scale.isFinite { out.normalScale = scale }
        }
        out.emissiveTexture = texture(m.maps["map_ke"])
        let phong = PhongMaterial(
            diffuse: m.kd ?? SIMD3(repeating: 0.6), opacity: m.opacity ?? 1, shininess: m.ns ?? 0,
            emissive: m.ke ?? .zero)
        if let warning = phong.applyFactors(to: &out) { warn(warning) }
        // The PBR extension's values win over the Phong ones; a metallic-roughness texture is multiplied by 1.
        let textured = out.metallicRoughnessTexture != nil
        out.metallicFactor = m.metallic.map(unitClamped) ?? (textured && m.maps["map_pm"] != nil ? 1 : 0)
        if let roughness = m.roughness {
            out.roughnessFactor = unitClamped(roughness)
        } else if textured {
            out.roughnessFactor = 1
        }
        out.unlit = m.illum == 0
        return out
    }

    private mutating func texture(_ map: TextureMap?) -> TextureRef? {
        guard let map, let image = image(for: map.path) else { return nil }
        let sampler = map.clamp ? Sampler(wrapS: Sampler.clampToEdge, wrapT: Sampler.clampToEdge) : Sampler()
        return TextureRef(texture: table.texture(image: image, sampler: sampler))
    }

    private mutating func image(for reference: String) -> Int? {
        if let cached = imageByReference[reference] { return cached }
        var result: Int?
        switch folder.resolve(reference) {
        case .found(let file):
            if let data = FileManager.default.contents(atPath: file) {
                let bytes = [UInt8](data)
                let name = fileName(reference)
                if let image = table.image(bytes: bytes, name: name) {
                    result = image
                } else {
                    let kind = URL(fileURLWithPath: name).pathExtension.uppercased()
                    warn(
                        "texture '\(reference)' not loaded: unsupported image format (\(kind.isEmpty ? "unknown" : kind)); "
                            + "the material keeps its factors")
                }
            } else {
                warn("texture '\(reference)' not loaded: cannot read the file; the material keeps its factors")
            }
        case .missing:
            warn("texture '\(reference)' not loaded: file not found beside the model; the material keeps its factors")
        case .outside:
            warn(
                "texture '\(reference)' not loaded: path is outside the model's folder; the material keeps its factors")
        }
        imageByReference[reference] = result
        return result
    }
}

/// One `newmtl` block.
struct MTLMaterial {
    var name: String
    var kd: SIMD3<Float>?
    var ke: SIMD3<Float>?
    var ns: Float?
    var opacity: Float?
    var roughness: Float?
    var metallic: Float?
    var illum: Int?
    /// Texture statements by lowercased keyword (`bump` stored as `map_bump`).
    var maps: [String: TextureMap] = [:]
}

/// A texture statement: its options and the file it names (which may contain spaces).
struct TextureMap: Equatable {
    var path: String
    var scale: SIMD2<Float>?
    var offset: SIMD2<Float>?
    var bumpScale: Float?
    var clamp = false

    /// Options taking a fixed number of words.
    private static let arguments: [String: Int] = [
        "-blendu": 1, "-blendv": 1, "-cc": 1, "-clamp": 1, "-bm": 1,
        "-boost": 1, "-mm": 2, "-texres": 1, "-imfchan": 1, "-type": 1
    ]

    init?(parsing text: String) {
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)[...]
        path = ""
        while let option = words.first, option.hasPrefix("-"), option.count > 1, Float(option) == nil {
            words = words.dropFirst()
            let name = option.lowercased()
            if name == "-o" || name == "-s" || name == "-t" {
                var values: [Float] = []
                while values.count < 3, let word = words.first, let value = Float(word) {
                    values.append(value)
                    words = words.dropFirst()
                }
                guard let u = values.first else { continue }
                let uv = SIMD2(u, values.count > 1 ? values[1] : (name == "-o" ? 0 : u))
                if name == "-o" { offset = uv } else if name == "-s" { scale = uv }
                continue
            }
            let count = Self.arguments[name] ?? 0
            let values = Array(words.prefix(count))
            words = words.dropFirst(count)
            if name == "-bm", let value = values.first.flatMap(Float.init) { bumpScale = value }
            if name == "-clamp" { clamp = values.first?.lowercased() == "on" }
        }
        path = words.joined(separator: " ")
        if path.isEmpty { return nil }
    }
}
