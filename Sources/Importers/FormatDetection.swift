import FoundationEssentials
import ImportSupport
import Scene

/// Input formats recognized from file content (never from the extension alone).
public enum InputFormat: String, Sendable, CaseIterable {
    case fbx, obj, stl, ply, collada, zae, gltf, glb, usd, usdz, alembic

    /// The file extension Assimp needs to pick its loader for this format, or nil when Assimp cannot read it.
    var assimpExtension: String? {
        switch self {
        case .fbx: return "fbx"
        case .obj: return "obj"
        case .stl: return "stl"
        case .ply: return "ply"
        case .collada: return "dae"
        case .zae: return "zae"
        case .gltf: return "gltf"
        case .glb: return "glb"
        case .usd, .usdz, .alembic: return nil
        }
    }

    /// Whether a native reader (Sources/Importers/GLTF, OBJ, STL, PLY, FBX) reads this format unless `--importer assimp`.
    var hasNativeReader: Bool {
        switch self {
        case .gltf, .glb, .obj, .stl, .ply, .fbx: return true
        default: return false
        }
    }

    /// A human-readable name for messages.
    var displayName: String {
        switch self {
        case .fbx: return "FBX"
        case .obj: return "OBJ"
        case .stl: return "STL"
        case .ply: return "PLY"
        case .collada: return "COLLADA"
        case .zae: return "ZAE"
        case .gltf: return "glTF"
        case .glb: return "GLB"
        case .usd: return "USD"
        case .usdz: return "USDZ"
        case .alembic: return "Alembic"
        }
    }
}

/// Detects the format from the file's bytes; throws ProcessingError(.badInput) when unrecognized, (.io) when unreadable.
public func detectFormat(of url: URL) throws -> InputFormat {
    let file = try MappedFile(url)
    if file.count == 0 { throw ProcessingError(.badInput, file: url.path, "empty file") }
    let head = [UInt8](file.bytes.prefix(headLength))
    // The end-of-central-directory record (22 bytes) and the longest comment (65,535) of a zip.
    let tail = { [UInt8](file.bytes.suffix(65_557)) }
    if let format = detectFormat(head: head, fileSize: UInt64(file.count), tail: tail) { return format }
    throw ProcessingError(.badInput, file: url.path, "unrecognized file format")
}

/// How many leading bytes detection looks at.
private let headLength = 1 << 20

/// Content-based detection on the first bytes of a file. `tail` supplies the last bytes (for zip directories).
func detectFormat(head: [UInt8], fileSize: UInt64, tail: () -> [UInt8]?) -> InputFormat? {
    func starts(with magic: String) -> Bool { head.starts(with: Array(magic.utf8)) }

    if starts(with: "Kaydara FBX Binary") { return .fbx }
    if starts(with: "glTF"), head.count >= 8, head[4] == 2 { return .glb }
    if starts(with: "PXR-USDC") { return .usd }
    if starts(with: "#usda") { return .usd }
    if starts(with: "Ogawa") { return .alembic }
    if head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return .alembic }
    if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return detectZip(head: head, tail: tail()) }
    if starts(with: "ply\n") || starts(with: "ply\r\n") { return .ply }
    if let stl = detectBinarySTL(head: head, fileSize: fileSize) { return stl }

    // Everything below is text.
    var body = head[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    guard !body.contains(0) else { return nil }
    let text = String(decoding: body.prefix(65_536), as: UTF8.self)
    let trimmed = text.drop(while: \.isWhitespace)

    if trimmed.hasPrefix("<"), text.contains("<COLLADA") { return .collada }
    if text.hasPrefix("; FBX") || text.contains("FBXHeaderExtension:") { return .fbx }
    if trimmed.hasPrefix("{") {
        let whole = String(decoding: body, as: UTF8.self)
        if whole.contains("\"asset\"") || (whole.contains("\"accessors\"") && whole.contains("\"meshes\"")) {
            return .gltf
        }
        return nil
    }
    if trimmed.lowercased().hasPrefix("solid"), text.contains("facet") || text.contains("endsolid") { return .stl }
    if looksLikeOBJ(text) { return .obj }
    return nil
}

/// A binary STL: 80-byte header, triangle count, 50 bytes per triangle.
private func detectBinarySTL(head: [UInt8], fileSize: UInt64) -> InputFormat? {
    guard head.count >= 84 else { return nil }
    let count = UInt64(head[80]) | UInt64(head[81]) << 8 | UInt64(head[82]) << 16 | UInt64(head[83]) << 24
    return count > 0 && 84 + 50 * count == fileSize ? .stl : nil
}

/// OBJ: every statement in the first 64 KiB is a known OBJ keyword, with at least one vertex.
private func looksLikeOBJ(_ text: String) -> Bool {
    let keywords: Set<Substring> = [
        "v", "vn", "vt", "vp", "f", "l", "p", "o", "g", "s", "mtllib", "usemtl",
        "usemap", "maplib", "cstype", "deg", "curv", "curv2", "surf", "parm", "end",
        "trim", "hole", "bmat", "step", "mg", "lod", "shadow_obj", "trace_obj"
    ]
    var vertices = 0
    var lines = text.split(whereSeparator: \.isNewline)
    if text.utf8.count >= 65_536, lines.count > 1 { lines.removeLast() }  // possibly cut mid-line
    for line in lines {
        let statement = line.drop(while: \.isWhitespace)
        if statement.isEmpty || statement.hasPrefix("#") || statement.hasPrefix("\\") { continue }
        let keyword = statement.prefix(while: { !$0.isWhitespace })
        guard keywords.contains(keyword) else { return false }
        if keyword == "v" { vertices += 1 }
    }
    return vertices > 0
}

/// Zip archives: USDZ when the first entry is a USD layer, ZAE when any entry is a .dae.
private func detectZip(head: [UInt8], tail: [UInt8]?) -> InputFormat? {
    if head.count >= 30 {
        let nameLength = Int(head[26]) | Int(head[27]) << 8
        if head.count >= 30 + nameLength {
            let first = String(decoding: head[30..<(30 + nameLength)], as: UTF8.self).lowercased()
            if first.hasSuffix(".usdc") || first.hasSuffix(".usda") || first.hasSuffix(".usd") { return .usdz }
        }
    }
    let names = zipEntryNames(tail ?? []) ?? []
    if names.contains(where: { $0.lowercased().hasSuffix(".dae") }) { return .zae }
    return nil
}

/// Entry names from a zip's central directory, found through the end-of-central-directory record in `tail`.
/// Only works when the central directory lies within `tail`; otherwise returns nil.
private func zipEntryNames(_ tail: [UInt8]) -> [String]? {
    func u16(_ i: Int) -> Int { Int(tail[i]) | Int(tail[i + 1]) << 8 }
    func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
    guard tail.count >= 22 else { return nil }
    var eocd = tail.count - 22
    while eocd >= 0, !(tail[eocd] == 0x50 && tail[eocd + 1] == 0x4B && tail[eocd + 2] == 5 && tail[eocd + 3] == 6) {
        eocd -= 1
    }
    guard eocd >= 0 else { return nil }
    let entries = u16(eocd + 10)
    let directorySize = u32(eocd + 12)
    var offset = eocd - directorySize
    guard offset >= 0 else { return nil }
    var names: [String] = []
    for _ in 0..<entries {
        guard offset + 46 <= eocd, u32(offset) == 0x0201_4B50 else { break }
        let nameLength = u16(offset + 28)
        let extra = u16(offset + 30)
        let comment = u16(offset + 32)
        guard offset + 46 + nameLength <= tail.count else { break }
        names.append(String(decoding: tail[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self))
        offset += 46 + nameLength + extra + comment
    }
    return names
}
