import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `bytes` so that `url` is either untouched or complete: into an unnamed file in `url`'s folder (O_TMPFILE),
/// flushed, then linked under a temporary name and renamed over `url` in the same instant. An interrupted or killed
/// run leaves nothing behind (the unnamed file vanishes with the process). Where the file system has no O_TMPFILE,
/// a named temporary `.NAME.PID.tmp` is used; such leftovers of processes that no longer run are removed first
/// (only then: reading a folder of thousands of outputs costs milliseconds, a small conversion's whole write).
public func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
    try writeAtomically(bytes, to: url, unnamedFirst: true)
}

/// `writeAtomically`; `unnamedFirst: false` takes the named-temporary path (tests of the fallback).
func writeAtomically(_ bytes: [UInt8], to url: URL, unnamedFirst: Bool) throws {
    let dir = url.deletingLastPathComponent()
    let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
    func failure(_ what: String) -> ProcessingError {
        ProcessingError(.io, file: url.path, "\(what): \(String(cString: strerror(errno)))")
    }
    var fd = unnamedFirst ? open(dir.path, O_TMPFILE_ | O_WRONLY | O_CLOEXEC, 0o644) : -1
    let unnamed = fd >= 0
    if !unnamed {
        removeStaleTemporaries(in: dir, for: url.lastPathComponent)
        fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }
    guard fd >= 0 else { throw failure("cannot create output") }
    defer { close(fd) }
    var problem: ProcessingError?
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                problem = failure("cannot write output")
                return
            }
            offset += n
        }
    }
    if problem == nil, fsync(fd) != 0 { problem = failure("cannot write output") }
    if problem == nil, unnamed {
        unlink(temp)
        if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, temp, AT_SYMLINK_FOLLOW) != 0 {
            problem = failure("cannot name output")
        }
    }
    if problem == nil, rename(temp, url.path) != 0 { problem = failure("cannot write output") }
    if let problem {
        unlink(temp)
        throw problem
    }
}

/// O_TMPFILE as Linux defines it (the C macro is not imported).
private let O_TMPFILE_: Int32 = 0o20000000 | O_DIRECTORY

/// Removes `.NAME.PID.tmp` files in `dir` whose process no longer runs. Reads the folder with readdir and compares
/// raw names, since output folders can hold thousands of files.
private func removeStaleTemporaries(in dir: URL, for name: String) {
    guard let folder = opendir(dir.path) else { return }
    defer { closedir(folder) }
    let prefix = Array(".\(name).".utf8)
    var stale: [String] = []
    while let entry = readdir(folder) {
        let matches = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            raw.count >= prefix.count && memcmp(raw.baseAddress!, prefix, prefix.count) == 0
        }
        guard matches else { continue }
        let entryName = withUnsafeBytes(of: entry.pointee.d_name) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        guard entryName.hasSuffix(".tmp"), let pid = pid_t(entryName.dropFirst(prefix.count).dropLast(4)),
            pid != getpid()
        else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { stale.append(entryName) }
    }
    for entry in stale { unlink(dir.appendingPathComponent(entry).path) }
}

/// Why writing `output` would destroy part of the input (nil when it would not): it is the input itself (same file
/// by path, link or inode), or an existing file in the input's folder that the input names (a texture, a .bin, an
/// .mtl; names found in the input's bytes or in an .mtl beside it that the input names).
public func outputConflict(input: URL, output: URL) -> String? {
    var outStat = stat()
    var inStat = stat()
    guard stat(output.path, &outStat) == 0, stat(input.path, &inStat) == 0 else { return nil }
    if outStat.st_dev == inStat.st_dev && outStat.st_ino == inStat.st_ino { return "is the input file" }
    let folder = input.resolvingSymlinksInPath().deletingLastPathComponent().path + "/"
    let target = output.resolvingSymlinksInPath()
    guard target.path.hasPrefix(folder) else { return nil }
    let names = Set([
        target.lastPathComponent, target.lastPathComponent.lowercased(),
        percentEncoded(target.lastPathComponent)
    ])
    .filter { !$0.isEmpty }
    guard let data = try? Data(contentsOf: input, options: .alwaysMapped) else { return nil }
    if names.contains(where: { data.containsBytes(of: $0) }) { return "is a file the input references" }
    // Material libraries the input names, one level deep (OBJ → MTL → textures).
    let siblings = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    for mtl in siblings where mtl.lowercased().hasSuffix(".mtl") && data.containsBytes(of: mtl) {
        if let library = try? Data(contentsOf: URL(fileURLWithPath: folder + mtl), options: .alwaysMapped),
            names.contains(where: { library.containsBytes(of: $0) })
        {
            return "is a file the input references (through \(mtl))"
        }
    }
    return nil
}

/// `name` with every byte outside RFC 3986's path characters written as %XX (as a URI in a glTF or MTL names it).
private func percentEncoded(_ name: String) -> String {
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/".utf8)
    let hex = Array("0123456789ABCDEF".utf8)
    var bytes: [UInt8] = []
    for byte in name.utf8 {
        if allowed.contains(byte) {
            bytes.append(byte)
        } else {
            bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Data {
    /// Whether the UTF-8 bytes of `text` occur in the data: memchr to each candidate first byte, then memcmp
    /// (`range(of:)` compares byte by byte, and this scans whole input files).
    fileprivate func containsBytes(of text: String) -> Bool {
        let needle = Array(text.utf8)
        return withUnsafeBytes { haystack in
            guard let base = haystack.baseAddress, !needle.isEmpty, haystack.count >= needle.count else { return false }
            let last = haystack.count - needle.count
            var start = 0
            while start <= last, let hit = memchr(base + start, Int32(needle[0]), last - start + 1) {
                let at = UnsafeRawPointer(hit) - base
                if memcmp(base + at, needle, needle.count) == 0 { return true }
                start = at + 1
            }
            return false
        }
    }
}
