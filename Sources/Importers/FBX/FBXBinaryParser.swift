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

private func readArray(_ c: inout BinaryCursor, type: UInt8, name: String, budget: inout Int) throws -> FBXValue {
    let count = Int(try c.read(UInt32.self, "array of '\(name)'"))
    let encoding = try c.read(UInt32.self, "array of '\(name)'")
    let stored = Int(try c.read(UInt32.self, "array of '\(name)'"))
    let size: Int
    switch type {
    case UInt8(ascii: "d"), UInt8(ascii: "l"): size = 8
    case UInt8(ascii: "f"), UInt8(ascii: "i"): size = 4
    default: size = 1
    }
    let raw = try c.slice(stored, "array of '\(name)'")
    let total = count * size  // count < 2^32, size ≤ 8: no overflow
    switch encoding {
    case 0:
        guard stored == total else { throw c.truncated("array of '\(name)' (\(count) elements in \(stored) bytes)") }
        return decodeArray(raw, type: type, count: count)
    case 1:
        // Deflate expands at most ~1032×; beyond that, or beyond the file's budget, the count is a lie.
        guard total <= stored * 1032 + 64, total <= budget else {
            throw ProcessingError(
                .badInput, file: c.file,
                "corrupt binary FBX: compressed array of '\(name)' claims \(count) elements in \(stored) bytes")
        }
        budget -= total
        if total == 0 { return decodeArray(raw, type: type, count: 0) }
        // Inflated straight into the array that keeps the values (no second buffer of the same size): doubles and
        // 64-bit integers as they are, 32-bit values into the upper half of their 64-bit array and then widened
        // in place, front to back (element i is read before anything at or past it is written).
        func inflate(into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
            var outLength = uLongf(total)
            let status = uncompress(
                (out.baseAddress! + offset).assumingMemoryBound(to: Bytef.self), &outLength,
                raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(stored))
            return status == Z_OK && Int(outLength) == total
        }
        // `count` 8-byte values: 32-bit ones widened by `widen`, 64-bit ones byte-ordered by `order`; nil when the
        // data does not inflate.
        func inflated<Wide>(widen: (UInt32) -> Wide, order: (Wide) -> Wide) -> [Wide]? {
            var ok = true
            let values = [Wide](unsafeUninitializedCapacity: count) { out, n in
                let bytes = UnsafeMutableRawBufferPointer(out)
                ok = inflate(into: bytes, at: 8 * count - total)
                if !ok {
                    bytes.initializeMemory(as: UInt8.self, repeating: 0)
                } else if size == 4 {
                    for i in 0..<count {
                        let bits = bytes.loadUnaligned(fromByteOffset: 4 * count + 4 * i, as: UInt32.self)
                        out[i] = widen(UInt32(littleEndian: bits))
                    }
                } else {
                    for i in 0..<count { out[i] = order(out[i]) }
                }
                n = count
            }
            return ok ? values : nil
        }
        let value: FBXValue?
        switch type {
        case UInt8(ascii: "d"), UInt8(ascii: "f"):
            value = inflated(
                widen: { Double(Float(bitPattern: $0)) },
                order: { Double(bitPattern: UInt64(littleEndian: $0.bitPattern)) }
            ).map { .numbers($0) }
        case UInt8(ascii: "l"), UInt8(ascii: "i"):
            value = inflated(widen: { Int64(Int32(bitPattern: $0)) }, order: { Int64(littleEndian: $0) })
                .map { .integers($0) }
        default:
            var output = [UInt8](repeating: 0, count: total)
            let ok = output.withUnsafeMutableBytes { inflate(into: $0, at: 0) }
            value = ok ? output.withUnsafeBytes { decodeArray($0, type: type, count: count) } : nil
        }
        guard let value else {
            throw ProcessingError(
                .badInput, file: c.file, "corrupt binary FBX: compressed array of '\(name)' does not inflate")
        }
        return value
    default:
        throw ProcessingError(
            .badInput, file: c.file, "corrupt binary FBX: array of '\(name)' has unknown encoding \(encoding)")
    }
}

private func decodeArray(_ raw: UnsafeRawBufferPointer, type: UInt8, count: Int) -> FBXValue {
    func load<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
        [Int64](unsafeUninitializedCapacity: count) { out, n in
            for i in 0..<count {
                out[i] = Int64(T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)))
            }
            n = count
        }
    }
    switch type {
    case UInt8(ascii: "d"):
        return .numbers(
            [Double](unsafeUninitializedCapacity: count) { out, n in
                for i in 0..<count {
                    out[i] = Double(
                        bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                }
                n = count
            })
    case UInt8(ascii: "f"):
        return .numbers(
            [Double](unsafeUninitializedCapacity: count) { out, n in
                for i in 0..<count {
                    out[i] = Double(
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    )
                }
                n = count
            })
    case UInt8(ascii: "l"): return .integers(load(Int64.self))
    case UInt8(ascii: "i"): return .integers(load(Int32.self))
    default: return .integers(load(UInt8.self))
    }
}
