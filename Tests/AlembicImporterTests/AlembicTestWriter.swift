/// A minimal writer of Ogawa-based Alembic archives, written from the format description, so the reader can be
/// tested on files whose every value is known.

/// Ogawa container: header, then groups and data blocks appended in order; the root group is patched in last.
struct OgawaWriter {
    private(set) var bytes: [UInt8] = Array("Ogawa".utf8) + [0xFF, 0x00, 0x01] + [UInt8](repeating: 0, count: 8)

    /// The offset the next block will be written at.
    var nextOffset: UInt64 { UInt64(bytes.count) }

    /// Appends a data block; returns its child reference (top bit set).
    mutating func data(_ payload: [UInt8]) -> UInt64 {
        if payload.isEmpty { return 1 << 63 }
        let offset = nextOffset
        bytes += le(UInt64(payload.count)) + payload
        return offset | 1 << 63
    }

    /// Appends a group of child references; returns its reference.
    mutating func group(_ children: [UInt64]) -> UInt64 {
        let offset = nextOffset
        bytes += le(UInt64(children.count))
        for child in children { bytes += le(child) }
        return offset
    }

    func finished(root: UInt64) -> [UInt8] {
        var out = bytes
        out.replaceSubrange(8..<16, with: le(root))
        return out
    }
}

func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
func bytes(_ values: [Double]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
func bytes(_ values: [Int32]) -> [UInt8] { values.flatMap { le($0) } }
func bytes(_ values: [UInt32]) -> [UInt8] { values.flatMap { le($0) } }

/// Alembic POD codes.
enum TestPOD: UInt32 {
    case bool = 0
    case uint8 = 1
    case uint32 = 5
    case int32 = 6
    case float32 = 10
    case float64 = 11
}

/// A property to write: scalar or array samples (raw little-endian bytes), or a compound of properties.
indirect enum TestProperty {
    case scalar(String, TestPOD, extent: Int, samples: [[UInt8]], metadata: String = "")
    case array(String, TestPOD, extent: Int, samples: [[UInt8]], metadata: String = "")
    case compound(String, [TestProperty], metadata: String = "")
}

struct TestObject {
    var name: String
    var metadata: String
    var properties: [TestProperty] = []
    var children: [TestObject] = []
}

/// Writes the AbcCoreOgawa layout: root group [version, library version, top object, archive metadata,
/// time samplings, indexed metadata]; objects as [properties, children…, headers+hashes]; compounds as
/// [properties…, headers].
struct AlembicWriter {
    var ogawa = OgawaWriter()

    mutating func archive(top children: [TestObject]) -> [UInt8] {
        archive(topGroup: object(TestObject(name: "ABC", metadata: "", children: children)))
    }

    /// Finishes the archive around an already written top object group.
    mutating func archive(topGroup: UInt64) -> [UInt8] {
        let root = ogawa.group([
            ogawa.data(bytes([Int32(1)])),
            ogawa.data(bytes([Int32(10709)])),
            topGroup,
            ogawa.data(Array("_ai_Application=tests".utf8)),
            ogawa.data(le(UInt32(1)) + bytes([1.0 / 24]) + le(UInt32(1)) + bytes([0.0])),
            ogawa.data([])
        ])
        return ogawa.finished(root: root)
    }

    mutating func object(_ object: TestObject) -> UInt64 {
        let properties = compound(object.properties)
        let children = object.children.map { self.object($0) }
        var headers: [UInt8] = []
        for child in object.children {
            headers += le(UInt32(child.name.utf8.count)) + Array(child.name.utf8) + [0xFF]
            headers += le(UInt32(child.metadata.utf8.count)) + Array(child.metadata.utf8)
        }
        headers += [UInt8](repeating: 0, count: 32)
        return ogawa.group([properties] + children + [ogawa.data(headers)])
    }

    mutating func compound(_ properties: [TestProperty]) -> UInt64 {
        var children: [UInt64] = []
        var headers: [UInt8] = []
        for property in properties {
            switch property {
            case let .scalar(name, pod, extent, samples, metadata):
                children.append(ogawa.group(samples.map { ogawa.data(key + $0) }))
                headers += header(
                    type: 1, pod: pod, extent: extent, samples: samples.count, name: name, metadata: metadata)
            case let .array(name, pod, extent, samples, metadata):
                children.append(ogawa.group(samples.flatMap { [ogawa.data(key + $0), ogawa.data([])] }))
                headers += header(
                    type: 2, pod: pod, extent: extent, samples: samples.count, name: name, metadata: metadata)
            case let .compound(name, inner, metadata):
                children.append(compound(inner))
                headers += header(type: 0, pod: nil, extent: 0, samples: 0, name: name, metadata: metadata)
            }
        }
        return ogawa.group(children + [ogawa.data(headers)])
    }

    private let key = [UInt8](repeating: 0xAB, count: 16)

    /// Property header with 4-byte sizes and inline metadata; one sample is flagged constant.
    private func header(type: UInt32, pod: TestPOD?, extent: Int, samples: Int, name: String, metadata: String)
        -> [UInt8]
    {
        var info: UInt32 = type | 2 << 2 | 0xFF << 20
        var out: [UInt8] = []
        if let pod {
            info |= pod.rawValue << 4 | UInt32(extent) << 12
            if samples == 1 { info |= 0x800 }
            out += le(UInt32(samples))
        }
        out += le(UInt32(name.utf8.count)) + Array(name.utf8)
        out += le(UInt32(metadata.utf8.count)) + Array(metadata.utf8)
        return le(info) + out
    }
}
