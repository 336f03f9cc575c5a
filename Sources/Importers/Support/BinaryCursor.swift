import Scene

/// Bounds-checked reading of binary data: every read and every declared count is checked against the bytes that
/// remain before anything is read or allocated, so a lying header becomes a clean `ProcessingError(.badInput)`.
///
/// The cursor does not own its bytes; keep their owner (a `MappedFile`, an array) alive while reading.
public struct BinaryCursor {
    public let bytes: UnsafeRawBufferPointer
    /// The offset of the next read.
    public var offset: Int
    /// Whether multi-byte values are big-endian.
    public var bigEndian: Bool
    /// The file named in errors.
    public let file: String

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, bigEndian: Bool = false, file: String) {
        self.bytes = bytes
        self.offset = offset
        self.bigEndian = bigEndian
        self.file = file
    }

    /// Bytes left after `offset`.
    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    /// The error a truncated or lying file gets.
    public func truncated(_ what: String) -> ProcessingError {
        ProcessingError(
            .badInput, file: file, "truncated or corrupt: \(what) at byte \(offset) runs past the end of the data")
    }

    /// Checks that `count` elements of `size` bytes fit in what remains (overflow-safe); call it before allocating.
    public func require(_ count: Int, of size: Int = 1, _ what: @autoclosure () -> String) throws {
        guard count >= 0, size >= 0 else { throw truncated(what()) }
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, total <= remaining else { throw truncated(what()) }
    }

    public mutating func skip(_ count: Int, _ what: @autoclosure () -> String = "data") throws {
        try require(count, what())
        offset += count
    }

    public mutating func seek(to newOffset: Int, _ what: @autoclosure () -> String = "offset") throws {
        guard newOffset >= 0, newOffset <= bytes.count else {
            throw ProcessingError(
                .badInput, file: file, "corrupt: \(what()) \(newOffset) lies outside the \(bytes.count)-byte data")
        }
        offset = newOffset
    }

    /// The next `count` bytes, without copying.
    public mutating func slice(_ count: Int, _ what: @autoclosure () -> String = "data") throws
        -> UnsafeRawBufferPointer
    {
        try require(count, what())
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String = "value") throws -> T
    {
        try require(MemoryLayout<T>.size, what())
        let raw = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }

    public mutating func readFloat(_ what: @autoclosure () -> String = "value") throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    public mutating func readDouble(_ what: @autoclosure () -> String = "value") throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }
}
