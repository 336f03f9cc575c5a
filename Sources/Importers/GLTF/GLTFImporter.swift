import FoundationEssentials
import ImportSupport
import Scene

/// Reads a glTF 2.0 file (`.gltf` with its buffers and images, or `.glb`) into a Scene, without Assimp.
///
/// Everything glTF core expresses is kept: accessors of every component type (normalized, strided, sparse),
/// primitive modes 0–6 (strips, fans and loops become lists), every TEXCOORD set, COLOR_0, skins (more than four
/// influences are reduced to the strongest four), morph targets with names, animations, cameras, node matrices or
/// TRS, names and `extras`. Extensions read: `KHR_mesh_quantization`, `KHR_draco_mesh_compression`,
/// `EXT_meshopt_compression`, `KHR_texture_transform`, `KHR_materials_*` (kept as typed extension values;
/// `pbrSpecularGlossiness` converted to metallic-roughness), `KHR_lights_punctual`, `EXT_mesh_gpu_instancing`,
/// `KHR_materials_variants`, `EXT_texture_webp` and `KHR_texture_basisu` (images kept as they are). A required extension outside this list is
/// an error naming it; an optional one is dropped with one warning.
///
/// Untrusted input: referenced files must be relative paths inside the model's folder, every size and count is
/// checked against the bytes that exist before anything is allocated, node graphs with cycles or shared children
/// are refused, and no walk recurses on input-controlled depth. Vertices are not welded (the weld stage does).
/// Throws `ProcessingError` (`.badInput` for a malformed file, `.io` when it cannot be read).
public func importGLTF(from url: URL) throws -> Scene {
    let file = try MappedFile(url)
    var reader = try GLTFReader(file: file, folder: ModelFolder(modelURL: url))
    return try reader.read()
}

/// Extensions whose meaning the reader keeps (or, for the compression ones, decodes).
let supportedExtensions = Set<String>([
    "KHR_mesh_quantization", "KHR_draco_mesh_compression", "EXT_meshopt_compression", "KHR_texture_transform",
    "KHR_materials_unlit", "KHR_materials_pbrSpecularGlossiness", "KHR_lights_punctual", "EXT_mesh_gpu_instancing",
    "EXT_texture_webp", "KHR_texture_basisu", "KHR_materials_variants"
]).union(keptMaterialExtensions)

/// Material extensions carried through as `Material.extensions`.
let keptMaterialExtensions: Set<String> = [
    "KHR_materials_emissive_strength", "KHR_materials_clearcoat", "KHR_materials_sheen", "KHR_materials_specular",
    "KHR_materials_transmission", "KHR_materials_volume", "KHR_materials_ior", "KHR_materials_iridescence",
    "KHR_materials_anisotropy", "KHR_materials_dispersion", "KHR_materials_diffuse_transmission"
]

typealias JSONObject = [String: Any]

struct GLTFReader {
    let file: MappedFile
    let path: String
    let folder: ModelFolder
    var root: JSONObject = [:]
    /// The GLB's BIN chunk.
    var bin: UnsafeRawBufferPointer?
    /// Each buffer's bytes (nil for an `EXT_meshopt_compression` fallback buffer without data).
    var buffers: [UnsafeRawBufferPointer?] = []
    /// Keeps mapped files and decoded data alive while `buffers` and views point into them.
    var storage = ByteStorage()
    /// Decoded `EXT_meshopt_compression` bufferViews.
    var decodedViews: [Int: UnsafeRawBufferPointer] = [:]
    /// Bytes of input (file and buffers): the bound for accessors that have no bufferView.
    var inputBytes: Int
    /// Scene texture of each glTF texture (nil when its image could not be read).
    var textureIndex: [Int?] = []
    var scene = Scene()
    var warnings: [String] = []

    init(file: MappedFile, folder: ModelFolder) throws {
        self.file = file
        path = file.path
        self.folder = folder
        inputBytes = file.count
    }

    func bad(_ message: String) -> ProcessingError { ProcessingError(.badInput, file: path, message) }

    mutating func read() throws -> Scene {
        let json = try parseContainer()
        let parsed: Any
        do {
            parsed = try json.withUnsafeBytes { try parseJSON($0) }
        } catch {
            throw bad("not valid glTF JSON: \(describe(error))")
        }
        guard let object = parsed as? JSONObject else { throw bad("the glTF JSON is not an object") }
        root = object
        try checkAsset()
        try checkStructure()
        try checkExtensions()
        try loadBuffers()
        try readImagesTexturesSamplers()
        try readMaterials()
        try readMeshes()
        try readCameras()
        try readLights()
        try readNodes()
        try readSkins()
        try readAnimations()
        guard scene.meshes.contains(where: { $0.primitives.contains { $0.vertexCount > 0 } }) else {
            throw bad("contains no geometry")
        }
        scene.warnings = warnings
        return scene
    }

    // MARK: Container

    /// The JSON text: the whole file, or a GLB's JSON chunk (whose BIN chunk goes to `bin`).
    mutating func parseContainer() throws -> Data {
        let bytes = file.bytes
        var cursor = BinaryCursor(bytes, file: path)
        guard bytes.count >= 4, bytes.load(as: UInt32.self) == UInt32(0x4654_6C67).littleEndian else {
            guard bytes.count > 0 else { throw bad("the file is empty") }
            var start = 0
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }  // UTF-8 BOM
            return Data(bytes[start...])
        }
        _ = try cursor.read(UInt32.self, "GLB magic")
        let version = try cursor.read(UInt32.self, "GLB version")
        guard version == 2 else { throw bad("GLB version \(version) is not supported (only 2)") }
        let length = Int(try cursor.read(UInt32.self, "GLB length"))
        guard length <= bytes.count, length >= 12 else {
            throw bad("GLB header declares \(length) bytes, the file has \(bytes.count)")
        }
        var limited = BinaryCursor(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), offset: 12, file: path)
        var json: Data?
        while !limited.isAtEnd {
            let chunkLength = Int(try limited.read(UInt32.self, "GLB chunk length"))
            let type = try limited.read(UInt32.self, "GLB chunk type")
            let data = try limited.slice(chunkLength, "GLB chunk of \(chunkLength) bytes")
            switch type {
            case 0x4E4F_534A where json == nil: json = Data(data)
            case 0x004E_4942 where json != nil && bin == nil: bin = data
            default:
                if json == nil { throw bad("the first GLB chunk is not JSON") }
            }
            try limited.seek(to: min(limited.offset + (4 - limited.offset % 4) % 4, length), "GLB chunk padding")
        }
        guard let json else { throw bad("the GLB has no JSON chunk") }
        return json
    }

    func checkAsset() throws {
        guard let asset = object(root["asset"]) else { throw bad("asset is missing (not a glTF 2.0 file?)") }
        guard let version = string(asset["version"]) else { throw bad("asset.version is missing") }
        let major = version.split(separator: ".").first.flatMap { Int($0) }
        guard major == 2 else { throw bad("glTF version \(version) is not supported (only 2.x)") }
    }

    /// The document's shape: collections are arrays of objects, `scene` names a scene, meshes have primitives.
    func checkStructure() throws {
        for name in [
            "accessors", "animations", "buffers", "bufferViews", "cameras", "images", "materials", "meshes",
            "nodes", "samplers", "scenes", "skins", "textures"
        ] where root[name] != nil {
            guard let all = array(root[name]), all.allSatisfy({ object($0) != nil }) else {
                throw bad("\(name) must be an array of objects")
            }
        }
        if let scene = root["scene"] {
            guard let s = index(scene), s < items("scenes").count else { throw bad("scene \(scene) does not exist") }
        }
        for (m, mesh) in items("meshes").enumerated() {
            guard let primitives = array(object(mesh)?["primitives"]), !primitives.isEmpty,
                primitives.allSatisfy({ object($0) != nil })
            else {
                throw bad("mesh \(m): primitives must be a non-empty array of objects")
            }
        }
    }

    /// An unsupported required extension is an error naming it; unsupported optional ones are dropped with a warning.
    mutating func checkExtensions() throws {
        let required = (array(root["extensionsRequired"]) ?? []).compactMap(string)
        if let missing = required.first(where: { !supportedExtensions.contains($0) }) {
            throw bad("requires extension \(missing), which is not supported")
        }
        let used = (array(root["extensionsUsed"]) ?? []).compactMap(string)
        let dropped = Array(Set(used.filter { !supportedExtensions.contains($0) })).sorted()
        if !dropped.isEmpty {
            warnings.append("unsupported optional extension(s) dropped: \(dropped.joined(separator: ", "))")
        }
    }

    // MARK: Buffers and bufferViews

    mutating func loadBuffers() throws {
        for (i, value) in items("buffers").enumerated() {
            let place = "buffer \(i)"
            guard let buffer = object(value), let length = index(buffer["byteLength"]) else {
                throw bad("\(place): byteLength is missing or invalid")
            }
            let isFallback =
                (object(object(buffer["extensions"])?["EXT_meshopt_compression"])?["fallback"] as? Bool) == true
            guard let uri = string(buffer["uri"]) else {
                if i == 0, let bin {
                    guard length <= bin.count else {
                        throw bad("\(place): byteLength \(length) exceeds the \(bin.count)-byte BIN chunk")
                    }
                    buffers.append(UnsafeRawBufferPointer(rebasing: bin[0..<length]))
                } else if isFallback {
                    buffers.append(nil)
                } else {
                    throw bad("\(place): has no uri and is not the GLB's BIN chunk")
                }
                continue
            }
            let data = try load(uri: uri, what: place)
            guard length <= data.count else {
                throw bad("\(place): byteLength \(length) exceeds the \(data.count) bytes of its data")
            }
            inputBytes += data.count
            buffers.append(UnsafeRawBufferPointer(rebasing: data[0..<length]))
        }
    }

    /// The bytes a uri names: a base64 `data:` uri, or a relative path inside the model's folder.
    mutating func load(uri: String, what: String) throws -> UnsafeRawBufferPointer {
        if uri.hasPrefix("data:") {
            guard let comma = uri.firstIndex(of: ","), uri[..<comma].hasSuffix(";base64") else {
                throw bad("\(what): data uri is not base64")
            }
            guard
                let data = Data(
                    base64Encoded: String(uri[uri.index(after: comma)...]), options: .ignoreUnknownCharacters)
            else {
                throw bad("\(what): data uri is not valid base64")
            }
            return storage.keep(data)
        }
        let decoded = percentDecoded(uri) ?? uri
        let hasScheme = startsWithURIScheme(decoded)
        guard !hasScheme, !decoded.hasPrefix("/"), !decoded.hasPrefix("\\") else {
            throw bad("\(what): uri '\(uri)' is not a relative path inside the model's folder")
        }
        switch folder.resolve(decoded) {
        case .found(let found):
            let mapped = try MappedFile(URL(fileURLWithPath: found))
            storage.mapped.append(mapped)
            return mapped.bytes
        case .missing: throw bad("\(what): file '\(uri)' not found beside the model")
        case .outside: throw bad("\(what): uri '\(uri)' leads outside the model's folder")
        }
    }

    /// The bytes of bufferView `i` (decoded when it uses `EXT_meshopt_compression`).
    mutating func viewBytes(_ i: Int) throws -> (bytes: UnsafeRawBufferPointer, stride: Int?) {
        guard let view = item("bufferViews", i) else { throw bad("bufferView \(i) does not exist") }
        let stride = index(view["byteStride"])
        if let stride, stride < 1 || stride > 252 {
            throw bad("bufferView \(i): byteStride \(stride) is outside 1...252")
        }
        if let meshopt = object(object(view["extensions"])?["EXT_meshopt_compression"]) {
            if let done = decodedViews[i] { return (done, stride) }
            let decoded = try decodeMeshopt(meshopt, view: i)
            decodedViews[i] = decoded
            return (decoded, stride)
        }
        guard let bufferIndex = index(view["buffer"]), bufferIndex < buffers.count, let buffer = buffers[bufferIndex]
        else {
            throw bad("bufferView \(i): its buffer does not exist or holds no data")
        }
        guard let length = index(view["byteLength"]) else { throw bad("bufferView \(i): byteLength is missing") }
        let offset = index(view["byteOffset"] ?? 0) ?? -1
        guard offset >= 0, offset + length <= buffer.count else {
            throw bad(
                "bufferView \(i): bytes \(offset)..<\(offset + length) exceed buffer \(bufferIndex) of \(buffer.count) bytes"
            )
        }
        return (UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length]), stride)
    }

    // MARK: JSON access

    func items(_ name: String) -> [Any] { array(root[name]) ?? [] }

    func item(_ name: String, _ i: Int?) -> JSONObject? {
        guard let i, let all = array(root[name]), i >= 0, i < all.count else { return nil }
        return object(all[i])
    }
}

/// Owners of the bytes `GLTFReader` points into.
final class ByteStorage {
    var mapped: [MappedFile] = []
    private var owned: [UnsafeMutableRawBufferPointer] = []

    /// A copy of `data` that lives as long as this storage.
    func keep(_ data: Data) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
        _ = data.copyBytes(to: buffer.bindMemory(to: UInt8.self))
        owned.append(buffer)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<data.count])
    }

    func keep(_ bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        owned.append(buffer)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }

    deinit { for buffer in owned { buffer.deallocate() } }
}

// MARK: - Typed reads of parseJSON output (never trapping)

func object(_ value: Any?) -> JSONObject? { value as? JSONObject }
func array(_ value: Any?) -> [Any]? { value as? [Any] }
func string(_ value: Any?) -> String? { value as? String }
func number(_ value: Any?) -> Double? { (value as? Double) ?? (value as? Int).map(Double.init) }

/// A non-negative integer no larger than 2^40, so sums and small products cannot overflow.
func index(_ value: Any?) -> Int? {
    guard let d = number(value), d >= 0, d <= Double(1 << 40), d.rounded() == d else { return nil }
    return Int(d)
}

func float(_ value: Any?) -> Float? { number(value).map(Float.init) }

/// Exactly `count` numbers.
func floats(_ value: Any?, count: Int) -> [Float]? {
    guard let values = array(value), values.count == count else { return nil }
    let result = values.compactMap(float)
    return result.count == count ? result : nil
}

/// A JSON value as an `ExtensionValue`; nesting deeper than 64 levels is cut off (replaced by null).
func extensionValue(_ value: Any, depth: Int = 0) -> ExtensionValue {
    guard depth < 64 else { return .null }
    if let object = value as? JSONObject {
        return .object(object.mapValues { extensionValue($0, depth: depth + 1) })
    }
    if let items = value as? [Any] { return .array(items.map { extensionValue($0, depth: depth + 1) }) }
    if let text = value as? String { return .string(text) }
    if let number = number(value) { return .number(number) }
    if let flag = value as? Bool { return .bool(flag) }
    return .null
}

/// Whether `text` starts with a URI scheme (RFC 3986): a letter, then letters, digits, "+", "-" or ".", then ":".
func startsWithURIScheme(_ text: String) -> Bool {
    let scheme = text.utf8.prefix { $0 != UInt8(ascii: ":") }
    func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
    guard let first = scheme.first, isLetter(first), scheme.count < text.utf8.count else { return false }
    return scheme.allSatisfy {
        isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || "+-.".utf8.contains($0)
    }
}
