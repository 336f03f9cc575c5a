import CZlib
import ImportSupport
import Scene

/// The 23 bytes every binary FBX starts with, before its 4-byte version.
let fbxBinaryMagic: [UInt8] = Array("Kaydara FBX Binary  ".utf8) + [0, 0x1A, 0]

/// Reads a binary FBX (versions 3000–7700; 64-bit record headers from 7500) into one node tree.
///
/// Nested records are read with an explicit stack, so input depth never becomes call depth. Every record's end
/// offset must lie inside its parent's; every array's count is checked against the bytes that remain (or, when
/// compressed, against a decompression budget proportional to the file) before anything is allocated.
func parseBinaryFBX(_ bytes: UnsafeRawBufferPointer, file: String) throws -> FBXDocument {
    var cursor = BinaryCursor(bytes, file: file)
    try cursor.skip(fbxBinaryMagic.count, "binary FBX header")
    let version = Int(try cursor.read(UInt32.self, "FBX version"))
    guard (3000...7999).contains(version) else {
        throw FBXUnsupported("binary FBX version \(version) (the native reader reads 3000–7999)")
    }
    var document = FBXDocument(file: file)
    document.version = version
    let wide = version >= 7500
    let headerSize = wide ? 25 : 13
    var budget = max(64 << 20, bytes.count * 32)
    // (node index, end offset) of the records whose children are being read.
    var open: [(node: Int, end: Int)] = []

    while true {
        if let top = open.last, cursor.offset == top.end {
            open.removeLast()
            continue
        }
        let limit = open.last?.end ?? bytes.count
        if open.isEmpty, cursor.remaining < headerSize {
            throw document.badInput("truncated binary FBX: the top-level record list has no end record")
        }
        let start = cursor.offset
        let end =
            wide
            ? Int(clamping: try cursor.read(UInt64.self, "record header"))
            : Int(try cursor.read(UInt32.self, "record header"))
        let valueCount =
            wide
            ? Int(clamping: try cursor.read(UInt64.self, "record header"))
            : Int(try cursor.read(UInt32.self, "record header"))
        let valueBytes =
            wide
            ? Int(clamping: try cursor.read(UInt64.self, "record header"))
            : Int(try cursor.read(UInt32.self, "record header"))
        let nameLength = Int(try cursor.read(UInt8.self, "record header"))
        if end == 0 && valueCount == 0 && valueBytes == 0 && nameLength == 0 {
            // The null record closing a child list (or the top level).
            guard let top = open.popLast() else { break }
            guard cursor.offset == top.end else {
                throw document.badInput(
                    "corrupt binary FBX: record list of '\(document.nodes[top.node].name)' ends early at byte \(start)")
            }
            continue
        }
        guard end > cursor.offset, end <= limit else {
            throw document.badInput(
                "corrupt binary FBX: record at byte \(start) ends at \(end), outside its parent (\(limit))")
        }
        var record = BinaryCursor(UnsafeRawBufferPointer(rebasing: bytes[0..<end]), offset: cursor.offset, file: file)
        let name = String(decoding: try record.slice(nameLength, "record name"), as: UTF8.self)
        guard valueBytes <= end - record.offset else { throw record.truncated("values of '\(name)'") }
        let valuesEnd = record.offset + valueBytes
        try record.require(valueCount, of: 1, "values of '\(name)'")
        var values: [FBXValue] = []
        values.reserveCapacity(valueCount)
        var valueCursor = BinaryCursor(
            UnsafeRawBufferPointer(rebasing: bytes[0..<valuesEnd]), offset: record.offset, file: file)
        for _ in 0..<valueCount { values.append(try readValue(&valueCursor, name: name, budget: &budget)) }
        let index = document.nodes.count
        document.nodes.append(FBXNode(name: name, values: values))
        if let parent = open.last {
            document.nodes[parent.node].children.append(index)
        } else {
            document.roots.append(index)
        }
        cursor.offset = valuesEnd
        if valuesEnd < end { open.append((index, end)) }
    }
    return document
}

private func readValue(_ c: inout BinaryCursor, name: String, budget: inout Int) throws -> FBXValue {
    let type = try c.read(UInt8.self, "value type of '\(name)'")
    switch type {
    case UInt8(ascii: "Y"): return .integer(Int64(try c.read(Int16.self, "value of '\(name)'")))
    case UInt8(ascii: "C"), UInt8(ascii: "B"): return .integer(Int64(try c.read(UInt8.self, "value of '\(name)'")))
    case UInt8(ascii: "I"): return .integer(Int64(try c.read(Int32.self, "value of '\(name)'")))
    case UInt8(ascii: "L"): return .integer(try c.read(Int64.self, "value of '\(name)'"))
    case UInt8(ascii: "F"): return .number(Double(try c.readFloat("value of '\(name)'")))
    case UInt8(ascii: "D"): return .number(try c.readDouble("value of '\(name)'"))
    case UInt8(ascii: "S"), UInt8(ascii: "R"):
        let length = Int(try c.read(UInt32.self, "length of '\(name)'"))
        let data = try c.slice(length, "data of '\(name)'")
        if type == UInt8(ascii: "R") { return .bytes(Array(data)) }
        return .string(String(decoding: data, as: UTF8.self))
    case UInt8(ascii: "f"), UInt8(ascii: "d"), UInt8(ascii: "i"), UInt8(ascii: "l"), UInt8(ascii: "b"),
        UInt8(ascii: "c"):
        return try readArray(&c, type: type, name: name, budget: &budget)
    default:
        throw c.truncated("unknown value type \(type) of '\(name)'")
    }
}

/// Checks an array's header and claimed size and records where its bytes are; nothing is decoded or allocated here.
private func readArray(_ c: inout BinaryCursor, type: UInt8, name: String, budget: inout Int) throws -> FBXValue {
    let count = Int(try c.read(UInt32.self, "array of '\(name)'"))
    let encoding = try c.read(UInt32.self, "array of '\(name)'")
    let stored = Int(try c.read(UInt32.self, "array of '\(name)'"))
    let start = c.offset
    _ = try c.slice(stored, "array of '\(name)'")
    let total = count * FBXStoredArray.elementSize(type)  // count < 2^32, size ≤ 8: no overflow
    switch encoding {
    case 0:
        guard stored == total else { throw c.truncated("array of '\(name)' (\(count) elements in \(stored) bytes)") }
    case 1:
        // Deflate expands at most ~1032×; beyond that, or beyond the file's budget, the count is a lie.
        guard total <= stored * 1032 + 64, total <= budget else {
            throw ProcessingError(
                .badInput, file: c.file,
                "corrupt binary FBX: compressed array of '\(name)' claims \(count) elements in \(stored) bytes")
        }
        budget -= total
    default:
        throw ProcessingError(
            .badInput, file: c.file, "corrupt binary FBX: array of '\(name)' has unknown encoding \(encoding)")
    }
    return .stored(FBXStoredArray(type: type, count: count, compressed: encoding == 1, range: start..<start + stored))
}

/// A binary FBX array left in the mapped file by the parser: its element type ('d', 'f', 'l', 'i', 'b' or 'c'),
/// its element count (checked against its bytes, or against the inflation bounds when compressed) and where its
/// bytes are.
struct FBXStoredArray: Sendable {
    var type: UInt8
    var count: Int
    var compressed: Bool
    var range: Range<Int>

    static func elementSize(_ type: UInt8) -> Int {
        switch type {
        case UInt8(ascii: "d"), UInt8(ascii: "l"): return 8
        case UInt8(ascii: "f"), UInt8(ascii: "i"): return 4
        default: return 1
        }
    }

    /// Decodes into `out` (room for exactly `count` elements); false when compressed data does not inflate to
    /// `count` elements. The file pages the array occupied are released afterwards.
    func decode<T: FBXArrayElement>(_ file: MappedFile, into out: UnsafeMutableBufferPointer<T>) -> Bool {
        guard count > 0, out.count == count else { return count == 0 && out.isEmpty }
        guard let reader = FBXArrayReader(self, file) else { return false }
        return reader.read(into: out) == count && reader.finish()
    }

    /// Converts `count` little-endian elements of this array's type at the start of `raw` into `out`.
    fileprivate func convert<T: FBXArrayElement>(
        _ raw: UnsafeRawBufferPointer, count: Int, into out: UnsafeMutablePointer<T>
    ) {
        func each<E>(_: E.Type, _ make: (E) -> T) {
            for i in 0..<count {
                out[i] = make(raw.loadUnaligned(fromByteOffset: i * MemoryLayout<E>.size, as: E.self))
            }
        }
        switch type {
        case UInt8(ascii: "d"): each(UInt64.self) { T(fbxNumber: Double(bitPattern: UInt64(littleEndian: $0))) }
        case UInt8(ascii: "f"): each(UInt32.self) { T(fbxNumber: Double(Float(bitPattern: UInt32(littleEndian: $0)))) }
        case UInt8(ascii: "l"): each(Int64.self) { T(fbxInteger: Int64(littleEndian: $0)) }
        case UInt8(ascii: "i"): each(Int32.self) { T(fbxInteger: Int64(Int32(littleEndian: $0))) }
        default: each(UInt8.self) { T(fbxInteger: Int64($0)) }
        }
    }
}

/// Reads a stored array front to back, a piece at a time, converting whole elements as they come: compressed data is
/// inflated through a 64 KiB window (no second buffer), so a layer can be decoded block by block alongside the work
/// that uses it.
final class FBXArrayReader: @unchecked Sendable {  // used by one worker at a time
    private let array: FBXStoredArray
    private let file: MappedFile
    private let size: Int
    private let stream: UnsafeMutablePointer<z_stream>?  // nil when the array is stored uncompressed
    private let window: UnsafeMutableRawBufferPointer
    private var pending = 0..<0  // inflated bytes in the window not yet converted
    private var ended = false
    private var delivered = 0  // elements read so far
    /// The array's element count.
    var count: Int { array.count }

    /// Nil when zlib cannot start.
    init?(_ array: FBXStoredArray, _ file: MappedFile) {
        (self.array, self.file, size) = (array, file, FBXStoredArray.elementSize(array.type))
        window = .allocate(byteCount: array.compressed ? 64 << 10 : 0, alignment: 8)
        guard array.compressed else {
            stream = nil
            return
        }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[array.range])
        stream.pointee.next_in = UnsafeMutablePointer(mutating: raw.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(raw.count)
        guard inflateInit_(stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            window.deallocate()
            return nil
        }
        self.stream = stream
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
        window.deallocate()
        file.release(array.range)
    }

    /// Fills the start of `out` with the next elements: all of `out` unless the array ends first. Returns how many
    /// were written, or nil when the compressed data is corrupt or ends early.
    func read<T: FBXArrayElement>(into out: UnsafeMutableBufferPointer<T>) -> Int? {
        guard let base = out.baseAddress else { return 0 }
        var filled = 0
        guard let stream else {
            filled = min(out.count, array.count - delivered)
            let raw = UnsafeRawBufferPointer(rebasing: file.bytes[array.range])
            array.convert(UnsafeRawBufferPointer(rebasing: raw[(delivered * size)...]), count: filled, into: base)
            delivered += filled
            return filled
        }
        while filled < out.count, delivered < array.count {
            let whole = min(pending.count / size, out.count - filled, array.count - delivered)
            if whole > 0 {
                array.convert(
                    UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(window)[pending]), count: whole,
                    into: base + filled)
                (filled, delivered) = (filled + whole, delivered + whole)
                pending = pending.lowerBound + whole * size..<pending.upperBound
                continue
            }
            guard !ended, inflateMore(stream) else { return nil }
        }
        return filled
    }

    /// The next `count` elements, or nil when the array has fewer or its data is corrupt.
    func next<T: FBXArrayElement>(_ count: Int) -> [T]? {
        var elements = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        return elements.withUnsafeMutableBufferPointer({ read(into: $0) }) == count ? elements : nil
    }

    /// Reads what is left and tells whether the data ends right after the array's last element.
    func finish() -> Bool {
        var rest = [Double](repeating: 0, count: 4096)
        while delivered < array.count {
            guard let n = rest.withUnsafeMutableBufferPointer({ read(into: $0) }), n > 0 else { return false }
        }
        guard let stream else { return true }
        while pending.isEmpty, !ended {
            guard inflateMore(stream) else { return false }
        }
        return delivered == array.count && pending.isEmpty
    }

    /// Moves the bytes of a partial element to the window's start and inflates after them; false when the data is
    /// corrupt or ends early.
    private func inflateMore(_ stream: UnsafeMutablePointer<z_stream>) -> Bool {
        let base = window.baseAddress!
        if !pending.isEmpty, pending.lowerBound > 0 {
            base.copyMemory(from: base + pending.lowerBound, byteCount: pending.count)
        }
        pending = 0..<pending.count
        stream.pointee.next_out = (base + pending.count).assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(window.count - pending.count)
        let status = inflate(stream, Z_NO_FLUSH)
        guard status == Z_OK || status == Z_STREAM_END else { return false }
        ended = status == Z_STREAM_END
        pending = 0..<window.count - Int(stream.pointee.avail_out)
        return true
    }
}
