import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// A whole file mapped read-only into memory: native readers parse its bytes in place, without a copy, and the
/// kernel pages them in (and drops them) as the parse moves along.
///
/// The mapping lives as long as this object; `bytes` must not escape it.
public final class MappedFile: @unchecked Sendable {
    /// The file's path, as given (for messages).
    public let path: String
    /// The file's bytes; empty for an empty file.
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    /// Maps `url`; throws ProcessingError(.io) when it cannot be opened or mapped.
    public init(_ url: URL) throws {
        path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ProcessingError(.io, file: path, "cannot open file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ProcessingError(.io, file: path, "cannot read file: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ProcessingError(.io, file: path, "not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw ProcessingError(.io, file: path, "cannot map file: \(String(cString: strerror(errno)))")
        }
        _ = madvise(base, size, MADV_SEQUENTIAL)
        mapping = base
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let mapping { munmap(mapping, bytes.count) }
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The file's size in bytes.
    public var count: Int { bytes.count }

    /// Drops the pages wholly inside `range` from this process's memory (they are read again from the page cache if
    /// touched later), so a reader that is done with a part of a large file does not keep it resident. Safe while
    /// other threads read other parts: the bytes never change.
    public func release(_ range: Range<Int>) {
        guard let mapping else { return }
        let page = Self.pageSize
        let start = (max(range.lowerBound, 0) + page - 1) / page * page
        let end = min(range.upperBound, bytes.count) / page * page
        guard end > start else { return }
        _ = madvise(mapping + start, end - start, MADV_DONTNEED)
    }
}

/// The size of the file at `url` in bytes; 0 when it cannot be read.
public func fileSize(_ url: URL) -> Int {
    var info = stat()
    return stat(url.path, &info) == 0 ? Int(info.st_size) : 0
}
