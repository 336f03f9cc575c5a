import Foundation
import Scene

/// Writes `bytes` to a temporary file beside `url`, flushes it, and renames it over `url`.
/// On any failure the temporary file is removed and `url` is untouched.
public func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        throw ProcessingError(.io, file: url.path, "cannot create output: \(String(cString: strerror(errno)))")
    }
    var failure: String?
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                return
            }
            offset += n
        }
    }
    if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
    close(fd)
    if failure == nil, rename(temp.path, url.path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(temp.path)
        throw ProcessingError(.io, file: url.path, "cannot write output: \(failure)")
    }
}
