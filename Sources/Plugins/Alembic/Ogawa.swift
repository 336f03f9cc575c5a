import Scene

/// The 8 bytes every HDF5 file starts with (legacy Alembic archives).
let hdf5Magic: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
/// "Ogawa": the first 5 bytes of every Ogawa-based Alembic archive.
let ogawaMagic: [UInt8] = Array("Ogawa".utf8)

/// Read-only, bounds-checked view of an Ogawa container.
///
/// An Ogawa file is a 16-byte header (magic, frozen flag, big-endian version, offset of the root group) and a
/// tree of groups and data blocks addressed by file offsets. A group is a little-endian `UInt64` child count
/// followed by that many `UInt64` child references (top bit set: data block; offset 0: empty). A data block is a
/// `UInt64` size followed by that many bytes. Every offset and size is checked against the file size before use.
struct OgawaReader {
    /// One child of a group: another group or a data block, by file offset (0 means empty).
    enum Child: Equatable {
        case group(Int)
        case data(Int)
    }

    let bytes: [UInt8]
    let path: String
    /// Offset of the archive's root group.
    let root: Int

    init(bytes: [UInt8], path: String) throws {
        self.bytes = bytes
        self.path = path
        guard bytes.count >= 16, bytes.starts(with: ogawaMagic) else {
            throw ProcessingError(
                .badInput, file: path, "not an Ogawa-based Alembic archive (bad magic or under 16 bytes)")
        }
        guard bytes[5] == 0xFF else {
            throw ProcessingError(.badInput, file: path, "Alembic archive was not closed cleanly while being written")
        }
        let version = Int(bytes[6]) << 8 | Int(bytes[7])
        guard version == 1 else {
            throw ProcessingError(.badInput, file: path, "unsupported Ogawa version \(version) (only version 1 exists)")
        }
        root = try Self.offset(Self.loadU64(bytes, at: 8, path: path), in: bytes, path: path, what: "root group")
    }

    /// A `ProcessingError` for corrupt data in this file.
    func corrupt(_ message: String) -> ProcessingError {
        ProcessingError(.badInput, file: path, "corrupt Alembic: \(message)")
    }

    /// The children of the group at `offset` (0: the empty group).
    func group(_ offset: Int) throws -> [Child] {
        if offset == 0 { return [] }
        let count = try u64(at: offset)
        // Each reference takes 8 bytes, so the count is bounded by the bytes left before it is trusted.
        guard count <= UInt64((bytes.count - offset - 8) / 8) else {
            throw corrupt("group at offset \(offset) claims \(count) children, more than the file can hold")
        }
        var children: [Child] = []
        children.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            let raw = try u64(at: offset + 8 + 8 * i)
            let isData = raw & (1 << 63) != 0
            let target = try Self.offset(
                raw & ~(1 << 63), in: bytes, path: path, what: "child \(i) of group at \(offset)")
            children.append(isData ? .data(target) : .group(target))
        }
        return children
    }

    /// The byte range of the data block at `offset` (0: empty).
    func data(_ offset: Int) throws -> Range<Int> {
        if offset == 0 { return 0..<0 }
        let size = try u64(at: offset)
        guard size <= UInt64(bytes.count - offset - 8) else {
            throw corrupt(
                "data block at offset \(offset) claims \(size) bytes, past the end of the file (\(bytes.count) bytes)")
        }
        return (offset + 8)..<(offset + 8 + Int(size))
    }

    /// The data block of a child that must be data.
    func data(_ child: Child, _ what: @autoclosure () -> String) throws -> Range<Int> {
        guard case .data(let offset) = child else { throw corrupt("\(what()) is a group, expected data") }
        return try data(offset)
    }

    /// The children of a child that must be a group.
    func group(_ child: Child, _ what: @autoclosure () -> String) throws -> [Child] {
        guard case .group(let offset) = child else { throw corrupt("\(what()) is data, expected a group") }
        return try group(offset)
    }

    private func u64(at offset: Int) throws -> UInt64 {
        try Self.loadU64(bytes, at: offset, path: path)
    }

    private static func loadU64(_ bytes: [UInt8], at offset: Int, path: String) throws -> UInt64 {
        guard offset >= 0, offset <= bytes.count - 8 else {
            throw ProcessingError(
                .badInput, file: path,
                "corrupt Alembic: offset \(offset) is past the end of the file (\(bytes.count) bytes)")
        }
        return bytes.loadLE(UInt64.self, at: offset)
    }

    private static func offset(_ raw: UInt64, in bytes: [UInt8], path: String, what: String) throws -> Int {
        guard raw == 0 || raw <= UInt64(bytes.count - 8) else {
            throw ProcessingError(
                .badInput, file: path,
                "corrupt Alembic: \(what) points to offset \(raw), past the end of the file (\(bytes.count) bytes)")
        }
        return Int(raw)
    }
}

extension Array where Element == UInt8 {
    /// A little-endian integer at `offset`; the caller has checked the bounds.
    func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
