import FoundationEssentials

/// "image/png", "image/jpeg", "image/webp" or "image/bmp" from the leading bytes; "image/x-tga" for a file named
/// `*.tga` whose header has a known TGA image type; else nil.
public func imageMIMEType(_ bytes: [UInt8], name: String = "") -> String? {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
    if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
        return "image/webp"
    }
    if bytes.count >= 26, bytes.starts(with: Array("BM".utf8)) { return "image/bmp" }
    if name.lowercased().hasSuffix(".tga"), bytes.count >= 18, bytes[1] <= 1, [1, 2, 3, 9, 10, 11].contains(bytes[2]) {
        return "image/x-tga"
    }
    return nil
}

/// The last path component, accepting both slash kinds.
public func fileName(_ reference: String) -> String {
    String(reference.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
}
