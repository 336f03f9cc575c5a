import FoundationEssentials
import Scene

/// The folder a model lives in: every file an import reads besides the model itself must resolve inside it.
///
/// Paths written by other tools are tolerated: Windows backslashes, absolute Windows or foreign paths (the file
/// name is looked up beside the model), and letter-case mismatches. Symbolic links are resolved before the
/// containment check, so a link cannot lead outside the folder either.
public struct ModelFolder: Sendable {
    /// The resolved folder, without a trailing slash.
    public let root: String

    public init(modelURL: URL) {
        root = modelURL.deletingLastPathComponent().standardizedFileURL.resolvingSymlinksInPath().path
    }

    public enum Resolution: Equatable, Sendable {
        case found(String)
        case missing
        case outside
    }

    /// Resolves `reference` (relative to the folder, or absolute) to an existing file inside the folder.
    /// An absolute path outside the folder falls back to its file name beside the model, else is `.outside`.
    public func resolve(_ reference: String) -> Resolution {
        var text = reference.replacing("\\", with: "/")
        if text.hasPrefix("file://") { text = String(text.dropFirst(7)) }
        text = percentDecoded(text) ?? text
        guard !text.isEmpty else { return .missing }
        let isWindowsAbsolute = text.count >= 2 && text.dropFirst().first == ":" && text.first!.isLetter
        if text.hasPrefix("/") || isWindowsAbsolute {
            if !isWindowsAbsolute, let inside = contained(text) {
                if case .found = lookup(relative: inside) { return lookup(relative: inside) }
            }
            // A path from another machine: try the file name beside the model.
            let name = text.split(separator: "/").last.map(String.init) ?? ""
            let beside = name.isEmpty || name == ".." || name == "." ? .missing : lookup(relative: name)
            if case .found = beside { return beside }
            return isWindowsAbsolute ? .missing : .outside
        }
        guard let inside = contained(root + "/" + text) else { return .outside }
        return lookup(relative: inside)
    }

    /// The path relative to `root` when the lexically normalized `absolute` lies inside it.
    private func contained(_ absolute: String) -> String? {
        var parts: [Substring] = []
        for part in absolute.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if parts.popLast() == nil { return nil } } else { parts.append(part) }
        }
        let rootParts = root.split(separator: "/")
        guard parts.count > rootParts.count, Array(parts.prefix(rootParts.count)) == rootParts else { return nil }
        return parts.dropFirst(rootParts.count).joined(separator: "/")
    }

    /// Finds `relative` (already normalized, inside the folder), matching each component case-insensitively
    /// when the exact name does not exist, and checks the real location after resolving links.
    private func lookup(relative: String) -> Resolution {
        var current = root
        let fm = FileManager.default
        for component in relative.split(separator: "/").map(String.init) {
            let exact = current + "/" + component
            if fm.fileExists(atPath: exact) {
                current = exact
                continue
            }
            let lower = component.lowercased()
            let candidates = ((try? fm.contentsOfDirectory(atPath: current)) ?? []).sorted()
            guard let match = candidates.first(where: { $0.lowercased() == lower }) else { return .missing }
            current = current + "/" + match
        }
        var isDirectory = false
        guard fm.fileExists(atPath: current, isDirectory: &isDirectory), !isDirectory else { return .missing }
        let real = URL(fileURLWithPath: current).resolvingSymlinksInPath().path
        guard real.hasPrefix(root + "/") else { return .outside }
        return .found(real)
    }
}

/// `text` with its %XX escapes decoded; nil when an escape is malformed or the result is not UTF-8 (as Foundation's
/// `removingPercentEncoding`).
public func percentDecoded(_ text: String) -> String? {
    guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
    var bytes: [UInt8] = []
    var input = text.utf8.makeIterator()
    while let byte = input.next() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard let high = input.next().flatMap(hexDigitValue), let low = input.next().flatMap(hexDigitValue) else {
            return nil
        }
        bytes.append(high << 4 | low)
    }
    return String(validating: bytes, as: UTF8.self)
}
