import Scene

/// Alembic metadata: `key=value` pairs separated by `;`.
struct MetaData: Equatable {
    private var pairs: [String: String] = [:]

    init() {}

    init(parsing text: String) {
        for token in text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let eq = token.firstIndex(of: "=") else { continue }
            pairs[String(token[..<eq])] = String(token[token.index(after: eq)...])
        }
    }

    subscript(key: String) -> String? { pairs[key] }
}

/// Alembic's plain-old-data element types, with their on-disk codes.
enum POD: UInt8 {
    case bool = 0
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64, float16, float32, float64, string, wstring

    /// Bytes per element (strings: bytes per character unit).
    var size: Int {
        switch self {
        case .bool, .uint8, .int8, .string: return 1
        case .uint16, .int16, .float16: return 2
        case .uint32, .int32, .float32, .wstring: return 4
        case .uint64, .int64, .float64: return 8
        }
    }
}

/// What a property header says about one property.
struct PropertyHeader {
    enum Kind { case compound, scalar, array }

    var name: String
    var kind: Kind
    var pod: POD = .uint8
    var extent: Int = 1
    /// Samples written (the count `getNumSamples` reports).
    var sampleCount: Int = 0
    var firstChanged: Int = 0
    var lastChanged: Int = 0
    var metadata: MetaData

    /// Which stored sample holds logical sample `index` (clamped to the samples written); repeated leading and
    /// trailing samples are stored once.
    func storedIndex(_ index: Int) -> Int {
        let i = min(max(index, 0), sampleCount - 1)
        if i < firstChanged || (firstChanged == 0 && lastChanged == 0) { return 0 }
        if i >= lastChanged { return max(lastChanged - firstChanged + 1, 0) }
        return i - firstChanged + 1
    }
}

/// A compound property: its children's headers and the Ogawa children holding them (property `i` is child `i`).
struct CompoundProperty {
    var headers: [PropertyHeader] = []
    var children: [OgawaReader.Child] = []

    func find(_ name: String) -> (header: PropertyHeader, child: OgawaReader.Child)? {
        guard let i = headers.firstIndex(where: { $0.name == name }) else { return nil }
        return (headers[i], children[i])
    }
}

/// One object's header as its parent lists it.
struct ObjectHeader {
    var name: String
    var metadata: MetaData
}

/// One stored sample of a scalar or array property: its raw bytes and where they live (an identity for sharing).
struct Sample {
    var pod: POD
    var extent: Int
    var range: Range<Int>

    /// Number of POD values (not extent-sized elements).
    var valueCount: Int { range.count / pod.size }
}

/// An opened Ogawa-based Alembic archive (the AbcCoreOgawa layout on top of `OgawaReader`).
///
/// Root group: [0] file version (Int32), [1] library version (Int32), [2] top object, [3] archive metadata,
/// [4] time samplings, [5] indexed metadata. Object group: [0] properties, [1...n] child objects,
/// [last] child headers + 32 bytes of hashes. Compound group: one child per property, [last] property headers.
struct AlembicArchive {
    let file: OgawaReader
    /// Metadata strings shared by index; index 0 is the empty metadata.
    let indexedMetadata: [MetaData]
    /// Group offset of the top object.
    let top: Int

    init(bytes: [UInt8], path: String) throws {
        file = try OgawaReader(bytes: bytes, path: path)
        let root = try file.group(file.root)
        guard root.count > 5, case .data(let versionOffset) = root[0], case .data(let libraryOffset) = root[1],
            case .group(let top) = root[2], case .data = root[3], case .data = root[4],
            case .data(let metaOffset) = root[5]
        else { throw file.corrupt("the root group does not have the Alembic layout") }
        let versionRange = try file.data(versionOffset)
        guard versionRange.count == 4 else { throw file.corrupt("the archive version is missing") }
        let version = Int32(bitPattern: bytes.loadLE(UInt32.self, at: versionRange.lowerBound))
        guard version >= 0, version <= 1 else {
            throw ProcessingError(.badInput, file: path, "unsupported Alembic file version \(version)")
        }
        let libraryRange = try file.data(libraryOffset)
        let library =
            libraryRange.count == 4 ? Int32(bitPattern: bytes.loadLE(UInt32.self, at: libraryRange.lowerBound)) : 0
        guard library >= 9999 else {
            throw ProcessingError(.badInput, file: path, "unsupported Alembic library version \(library)")
        }
        self.top = top
        var metadata = [MetaData()]
        let metaRange = try file.data(metaOffset)
        var pos = metaRange.lowerBound
        while pos < metaRange.upperBound {
            let size = Int(bytes[pos])
            pos += 1
            guard pos + size <= metaRange.upperBound else { throw file.corrupt("indexed metadata runs past its block") }
            metadata.append(MetaData(parsing: String(decoding: bytes[pos..<pos + size], as: UTF8.self)))
            pos += size
        }
        indexedMetadata = metadata
    }

    /// UTF-8 text of a byte range (invalid sequences repaired).
    func string(_ range: Range<Int>) -> String {
        String(decoding: file.bytes[range], as: UTF8.self)
    }

    // MARK: Objects

    /// An object's properties and its children (header and group offset each).
    func object(_ offset: Int) throws -> (properties: CompoundProperty, children: [(ObjectHeader, Int)]) {
        let kids = try file.group(offset)
        var properties = CompoundProperty()
        if let first = kids.first, case .group(let propertiesOffset) = first {
            properties = try compound(propertiesOffset)
        }
        guard let last = kids.last, case .data(let headersOffset) = last else { return (properties, []) }
        let headers = try objectHeaders(file.data(headersOffset))
        guard headers.count <= kids.count - 2 else {
            throw file.corrupt("an object lists \(headers.count) children but stores \(max(kids.count - 2, 0))")
        }
        var children: [(ObjectHeader, Int)] = []
        for (i, header) in headers.enumerated() {
            guard case .group(let childOffset) = kids[i + 1] else {
                throw file.corrupt("child object '\(header.name)' is data, expected a group")
            }
            children.append((header, childOffset))
        }
        return (properties, children)
    }

    private func objectHeaders(_ block: Range<Int>) throws -> [ObjectHeader] {
        // The last 32 bytes are the properties and children hashes.
        guard block.count > 32 else { return [] }
        let end = block.upperBound - 32
        let bytes = file.bytes
        var pos = block.lowerBound
        var headers: [ObjectHeader] = []
        while pos < end {
            guard pos + 4 <= end else { throw file.corrupt("object header name size runs past its block") }
            let nameSize = Int(bytes.loadLE(UInt32.self, at: pos))
            pos += 4
            guard nameSize < end - pos else { throw file.corrupt("object header name runs past its block") }
            let name = string(pos..<pos + nameSize)
            pos += nameSize
            let metaIndex = Int(bytes[pos])
            pos += 1
            let metadata: MetaData
            if metaIndex == 0xFF {
                guard pos + 4 <= end else { throw file.corrupt("object '\(name)' metadata size runs past its block") }
                let size = Int(bytes.loadLE(UInt32.self, at: pos))
                pos += 4
                guard size <= end - pos else { throw file.corrupt("object '\(name)' metadata runs past its block") }
                metadata = MetaData(parsing: string(pos..<pos + size))
                pos += size
            } else {
                guard metaIndex < indexedMetadata.count else {
                    throw file.corrupt("object '\(name)' refers to metadata \(metaIndex) of \(indexedMetadata.count)")
                }
                metadata = indexedMetadata[metaIndex]
            }
            headers.append(ObjectHeader(name: name, metadata: metadata))
        }
        return headers
    }

    // MARK: Properties

    /// The compound property stored in the group at `offset`.
    func compound(_ offset: Int) throws -> CompoundProperty {
        let kids = try file.group(offset)
        guard let last = kids.last, case .data(let headersOffset) = last else { return CompoundProperty() }
        let headers = try propertyHeaders(file.data(headersOffset))
        guard headers.count <= kids.count - 1 else {
            throw file.corrupt("a compound property lists \(headers.count) properties but stores \(kids.count - 1)")
        }
        return CompoundProperty(headers: headers, children: Array(kids.prefix(headers.count)))
    }

    /// The compound property of a child that must be a compound.
    func compound(_ entry: (header: PropertyHeader, child: OgawaReader.Child)) throws -> CompoundProperty {
        guard entry.header.kind == .compound, case .group(let offset) = entry.child else {
            throw file.corrupt("property '\(entry.header.name)' is not a compound property")
        }
        return try compound(offset)
    }

    private func propertyHeaders(_ block: Range<Int>) throws -> [PropertyHeader] {
        let bytes = file.bytes
        var pos = block.lowerBound
        let end = block.upperBound
        var headers: [PropertyHeader] = []
        func sized(_ hint: UInt32, _ what: String) throws -> Int {
            switch hint {
            case 0 where pos + 1 <= end:
                defer { pos += 1 }
                return Int(bytes[pos])
            case 1 where pos + 2 <= end:
                defer { pos += 2 }
                return Int(bytes.loadLE(UInt16.self, at: pos))
            case 2 where pos + 4 <= end:
                defer { pos += 4 }
                return Int(bytes.loadLE(UInt32.self, at: pos))
            default:
                throw file.corrupt("property header \(what) runs past its block")
            }
        }
        while pos < end {
            guard pos + 4 <= end else { throw file.corrupt("property header runs past its block") }
            let info = bytes.loadLE(UInt32.self, at: pos)
            pos += 4
            let hint = (info >> 2) & 0x3
            var header = PropertyHeader(name: "", kind: .compound, metadata: MetaData())
            if info & 0x3 != 0 {
                header.kind = info & 0x3 == 1 ? .scalar : .array
                guard let pod = POD(rawValue: UInt8((info >> 4) & 0xF)) else {
                    throw file.corrupt("property header has unknown data type \((info >> 4) & 0xF)")
                }
                header.pod = pod
                header.extent = Int((info >> 12) & 0xFF)
                header.sampleCount = try sized(hint, "sample count")
                if info & 0x200 != 0 {
                    header.firstChanged = try sized(hint, "first changed index")
                    header.lastChanged = try sized(hint, "last changed index")
                } else if info & 0x800 != 0 {
                    header.firstChanged = 0
                    header.lastChanged = 0
                } else {
                    header.firstChanged = 1
                    header.lastChanged = header.sampleCount - 1
                }
                guard header.lastChanged <= header.sampleCount else {
                    throw file.corrupt("property header has inconsistent sample indices")
                }
                if info & 0x100 != 0 { _ = try sized(hint, "time sampling index") }
            }
            let nameSize = try sized(hint, "name size")
            guard nameSize <= end - pos else { throw file.corrupt("property name runs past its block") }
            header.name = string(pos..<pos + nameSize)
            pos += nameSize
            let metaIndex = Int((info >> 20) & 0xFF)
            if metaIndex == 0xFF {
                let size = try sized(hint, "metadata size")
                guard size <= end - pos else {
                    throw file.corrupt("property '\(header.name)' metadata runs past its block")
                }
                header.metadata = MetaData(parsing: string(pos..<pos + size))
                pos += size
            } else {
                guard metaIndex < indexedMetadata.count else {
                    throw file.corrupt(
                        "property '\(header.name)' refers to metadata \(metaIndex) of \(indexedMetadata.count)")
                }
                header.metadata = indexedMetadata[metaIndex]
            }
            headers.append(header)
        }
        return headers
    }

    /// Logical sample `index` (clamped) of a scalar or array property; nil when it has no samples.
    func sample(_ entry: (header: PropertyHeader, child: OgawaReader.Child), index: Int) throws -> Sample? {
        let header = entry.header
        guard header.kind != .compound else {
            throw file.corrupt("property '\(header.name)' is compound, expected values")
        }
        guard header.sampleCount > 0 else { return nil }
        guard header.pod != .string, header.pod != .wstring else {
            throw file.corrupt("property '\(header.name)' holds strings, expected numbers")
        }
        let kids = try file.group(entry.child, "property '\(header.name)'")
        let stored = header.storedIndex(index)
        let slot = header.kind == .array ? stored * 2 : stored
        guard slot < kids.count else {
            throw file.corrupt("property '\(header.name)' is missing stored sample \(stored)")
        }
        let block = try file.data(kids[slot], "sample \(stored) of '\(header.name)'")
        // Samples start with a 16-byte key (a hash), unless empty.
        if block.isEmpty { return Sample(pod: header.pod, extent: header.extent, range: block) }
        guard block.count >= 16 else {
            throw file.corrupt("sample \(stored) of '\(header.name)' is shorter than its key")
        }
        let range = (block.lowerBound + 16)..<block.upperBound
        if header.kind == .scalar {
            guard range.count == header.pod.size * header.extent else {
                throw file.corrupt(
                    "scalar '\(header.name)' sample is \(range.count) bytes, expected \(header.pod.size * header.extent)"
                )
            }
        } else {
            let elementSize = header.pod.size * max(header.extent, 1)
            guard range.count % elementSize == 0 else {
                throw file.corrupt(
                    "sample \(stored) of '\(header.name)' is \(range.count) bytes, not a multiple of \(elementSize)")
            }
        }
        return Sample(pod: header.pod, extent: header.extent, range: range)
    }

    /// The sample's values as `Double`s.
    func doubles(_ sample: Sample) -> [Double] {
        let n = sample.valueCount
        let start = sample.range.lowerBound
        return file.bytes.withUnsafeBytes { raw -> [Double] in
            var out = [Double]()
            out.reserveCapacity(n)
            for i in 0..<n {
                let o = start + i * sample.pod.size
                switch sample.pod {
                case .float32:
                    out.append(
                        Double(
                            Float(
                                bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                        ))
                case .float64:
                    out.append(
                        Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
                case .float16:
                    out.append(
                        Double(halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
                    )
                default: out.append(Double(integer(raw, o, sample.pod)))
                }
            }
            return out
        }
    }

    /// The sample's values as integers (floats truncated).
    func integers(_ sample: Sample) -> [Int] {
        switch sample.pod {
        case .float16, .float32, .float64:
            return doubles(sample).map { $0.isFinite && abs($0) < 9e15 ? Int($0) : -1 }
        default:
            let n = sample.valueCount
            let start = sample.range.lowerBound
            return file.bytes.withUnsafeBytes { raw in
                (0..<n).map { integer(raw, start + $0 * sample.pod.size, sample.pod) }
            }
        }
    }

    private func integer(_ raw: UnsafeRawBufferPointer, _ o: Int, _ pod: POD) -> Int {
        switch pod {
        case .bool, .uint8: return Int(raw[o])
        case .int8: return Int(Int8(bitPattern: raw[o]))
        case .uint16: return Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        case .int16: return Int(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int16.self)))
        case .uint32: return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
        case .int32: return Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        case .uint64:
            let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))
            return v > UInt64(Int.max) ? -1 : Int(v)
        case .int64: return Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
        case .float16, .float32, .float64, .string, .wstring: return -1
        }
    }
}

/// IEEE 754 half → single precision.
private func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
        return (sign != 0 ? -1 : 1) * Float(mantissa) * 0x1p-24
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}
