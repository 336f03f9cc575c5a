/// A compact binary form of `Scene`, for handing an imported scene from an isolated importer process back to the
/// converter once: vertex and index arrays are stored as packed little-endian numbers (no per-element framing), the
/// rest as a tree of tagged values mirroring the types' `Codable` shape (so fields added to the model are carried
/// without changes here). Not an interchange format: both ends are the same build.
public enum SceneCodec {
    static let magic: [UInt8] = Array("OPTSCN1\n".utf8)

    public static func encode(_ scene: Scene) throws -> [UInt8] {
        let root = Box()
        try scene.encode(to: TreeEncoder(box: root, codingPath: []))
        var out = magic
        root.write(to: &out)
        return out
    }

    /// Throws `ProcessingError(.internal, …)` for bytes this encoder did not write.
    public static func decode(_ bytes: [UInt8]) throws -> Scene {
        guard bytes.starts(with: magic) else { throw corrupt("not a scene file") }
        var offset = magic.count
        let root = try Box.read(bytes, &offset, depth: 0)
        guard offset == bytes.count else { throw corrupt("trailing bytes") }
        do {
            return try Scene(from: TreeDecoder(box: root, codingPath: []))
        } catch let error as DecodingError {
            throw corrupt("\(error)")
        }
    }

    static func corrupt(_ what: String) -> ProcessingError {
        ProcessingError(.internal, "scene transfer data is corrupt: \(what)")
    }
}

// MARK: - The value tree

/// One encoded value: raw bytes (a scalar, a string or a packed array), a keyed or unkeyed list, or nil.
final class Box {
    enum Kind: UInt8 {
        case bytes = 0
        case keyed = 1
        case unkeyed = 2
        case null = 3
    }
    var kind: Kind
    var data: [UInt8] = []
    var keys: [String] = []
    var items: [Box] = []
    private var index: [String: Int]?

    init(_ kind: Kind = .null) { self.kind = kind }
    init(bytes: [UInt8]) {
        kind = .bytes
        data = bytes
    }

    func item(forKey key: String) -> Box? {
        if index == nil { index = Dictionary(zip(keys, keys.indices), uniquingKeysWith: { a, _ in a }) }
        return index![key].map { items[$0] }
    }

    func write(to out: inout [UInt8]) {
        out.append(kind.rawValue)
        switch kind {
        case .bytes:
            appendInteger(UInt64(data.count), to: &out)
            out += data
        case .keyed, .unkeyed:
            appendInteger(UInt64(items.count), to: &out)
            for (i, item) in items.enumerated() {
                if kind == .keyed {
                    appendInteger(UInt64(keys[i].utf8.count), to: &out)
                    out += keys[i].utf8
                }
                item.write(to: &out)
            }
        case .null:
            break
        }
    }

    /// Nesting follows the Swift types (a handful of levels); deeper data is not ours.
    static func read(_ bytes: [UInt8], _ offset: inout Int, depth: Int) throws -> Box {
        guard depth < 64 else { throw SceneCodec.corrupt("nested too deeply") }
        guard offset < bytes.count, let kind = Kind(rawValue: bytes[offset]) else {
            throw SceneCodec.corrupt("bad tag")
        }
        offset += 1
        let box = Box(kind)
        func length() throws -> Int {
            let value: UInt64 = try readInteger(bytes, &offset)
            guard value <= UInt64(bytes.count - offset) else { throw SceneCodec.corrupt("a length exceeds the data") }
            return Int(value)
        }
        switch kind {
        case .bytes:
            let n = try length()
            box.data = Array(bytes[offset..<offset + n])
            offset += n
        case .keyed, .unkeyed:
            let n = try length()  // each item takes at least one byte
            for _ in 0..<n {
                if kind == .keyed {
                    let k = try length()
                    box.keys.append(String(decoding: bytes[offset..<offset + k], as: UTF8.self))
                    offset += k
                }
                box.items.append(try read(bytes, &offset, depth: depth + 1))
            }
        case .null:
            break
        }
        return box
    }
}

private func appendInteger<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out += $0 }
}

private func readInteger<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: inout Int) throws -> T {
    let size = MemoryLayout<T>.size
    guard bytes.count - offset >= size else { throw SceneCodec.corrupt("truncated") }
    var value = T.zero
    withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + size]) }
    offset += size
    return T(littleEndian: value)
}

// MARK: - Packed arrays

/// The bulk arrays of the model as packed little-endian scalars (the platforms we build for are little-endian, so
/// element types without padding are copied as they are); nil for any other type.
private func packedBytes<T>(_ value: T) -> [UInt8]? {
    func raw<E>(_ array: [E]) -> [UInt8] { array.withUnsafeBytes { Array($0) } }
    // By static type: an empty array would cast to any array type.
    switch T.self {
    case is [SIMD2<Float>].Type: return raw(value as! [SIMD2<Float>])
    case is [SIMD3<Float>].Type:
        // 16-byte stride in memory, 12 bytes packed.
        let array = value as! [SIMD3<Float>]
        guard !array.isEmpty else { return [] }
        return [UInt8](unsafeUninitializedCapacity: array.count * 12) { buffer, count in
            let out = UnsafeMutableRawPointer(buffer.baseAddress!)
            for (i, v) in array.enumerated() {
                out.storeBytes(of: v.x, toByteOffset: i * 12, as: Float.self)
                out.storeBytes(of: v.y, toByteOffset: i * 12 + 4, as: Float.self)
                out.storeBytes(of: v.z, toByteOffset: i * 12 + 8, as: Float.self)
            }
            count = array.count * 12
        }
    case is [SIMD4<Float>].Type: return raw(value as! [SIMD4<Float>])
    case is [SIMD4<UInt16>].Type: return raw(value as! [SIMD4<UInt16>])
    case is [Float].Type: return raw(value as! [Float])
    case is [UInt32].Type: return raw(value as! [UInt32])
    case is [UInt8].Type: return value as? [UInt8]
    case is [Int].Type: return raw((value as! [Int]).map { Int64($0) })
    default: return nil
    }
}

private func unpacked<T>(_ type: T.Type, _ data: [UInt8]) throws -> T? {
    func raw<E>(_: E.Type) throws -> [E] {
        let size = MemoryLayout<E>.stride
        guard data.count % size == 0 else { throw SceneCodec.corrupt("a packed array's size") }
        let n = data.count / size
        return [E](unsafeUninitializedCapacity: n) { buffer, count in
            data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
            count = n
        }
    }
    switch type {
    case is [SIMD2<Float>].Type: return try raw(SIMD2<Float>.self) as? T
    case is [SIMD3<Float>].Type:
        guard data.count % 12 == 0 else { throw SceneCodec.corrupt("a packed array's size") }
        return data.withUnsafeBytes { src in
            (0..<data.count / 12).map { i in
                SIMD3(
                    src.loadUnaligned(fromByteOffset: i * 12, as: Float.self),
                    src.loadUnaligned(fromByteOffset: i * 12 + 4, as: Float.self),
                    src.loadUnaligned(fromByteOffset: i * 12 + 8, as: Float.self))
            }
        } as? T
    case is [SIMD4<Float>].Type: return try raw(SIMD4<Float>.self) as? T
    case is [SIMD4<UInt16>].Type: return try raw(SIMD4<UInt16>.self) as? T
    case is [Float].Type: return try raw(Float.self) as? T
    case is [UInt32].Type: return try raw(UInt32.self) as? T
    case is [UInt8].Type: return data as? T
    case is [Int].Type: return try raw(Int64.self).map { Int($0) } as? T
    default: return nil
    }
}

#if _endian(big)
    #error("SceneCodec stores arrays in memory order, which is little-endian only")
#endif

// MARK: - Encoder

private struct TreeEncoder: Encoder {
    let box: Box
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        box.kind = .keyed
        return KeyedEncodingContainer(KeyedWriter(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        box.kind = .unkeyed
        return UnkeyedWriter(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleWriter(box: box, codingPath: codingPath) }
}

/// Encodes one value into `box`: packed bytes for bulk arrays and scalars, else the value's own `encode(to:)`.
private func encodeValue<T: Encodable>(_ value: T, into box: Box, codingPath: [any CodingKey]) throws {
    if let bytes = packedBytes(value) ?? scalarBytes(value) {
        box.kind = .bytes
        box.data = bytes
    } else {
        try value.encode(to: TreeEncoder(box: box, codingPath: codingPath))
    }
}

private func scalarBytes<T>(_ value: T) -> [UInt8]? {
    var out: [UInt8] = []
    switch T.self {
    case is Bool.Type: out.append(value as! Bool ? 1 : 0)
    case is String.Type: out += (value as! String).utf8
    case is Float.Type: appendInteger((value as! Float).bitPattern, to: &out)
    case is Double.Type: appendInteger((value as! Double).bitPattern, to: &out)
    case is Int.Type: appendInteger(Int64(value as! Int), to: &out)
    case is UInt16.Type: appendInteger(value as! UInt16, to: &out)
    case is UInt32.Type: appendInteger(value as! UInt32, to: &out)
    case is UInt8.Type: out.append(value as! UInt8)
    default: return nil
    }
    return out
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    var codingPath: [any CodingKey]

    private func child(_ key: Key) -> Box {
        let child = Box()
        box.keys.append(key.stringValue)
        box.items.append(child)
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { _ = child(key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: child(key), codingPath: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        TreeEncoder(box: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(box: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        TreeEncoder(box: child(Key(stringValue: "super")!), codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(box: child(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer {
    let box: Box
    var codingPath: [any CodingKey]
    var count: Int { box.items.count }

    private func child() -> Box {
        let child = Box()
        box.items.append(child)
        return child
    }

    mutating func encodeNil() throws { _ = child() }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: child(), codingPath: codingPath)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        TreeEncoder(box: child(), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        TreeEncoder(box: child(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { TreeEncoder(box: child(), codingPath: codingPath) }
}

private struct SingleWriter: SingleValueEncodingContainer {
    let box: Box
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.kind = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try encodeValue(value, into: box, codingPath: codingPath) }
}

// MARK: - Decoder

private struct TreeDecoder: Decoder {
    let box: Box
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard box.kind == .keyed else { throw mismatch("a keyed value") }
        return KeyedDecodingContainer(KeyedReader(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard box.kind == .unkeyed else { throw mismatch("a list") }
        return UnkeyedReader(box: box, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleReader(box: box, codingPath: codingPath)
    }

    func mismatch(_ expected: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: "expected \(expected)"))
    }
}

private func decodeValue<T: Decodable>(_ type: T.Type, from box: Box, codingPath: [any CodingKey]) throws -> T {
    if box.kind == .bytes {
        if let value = try unpacked(type, box.data) ?? scalar(type, box.data) { return value }
    }
    return try T(from: TreeDecoder(box: box, codingPath: codingPath))
}

private func scalar<T>(_ type: T.Type, _ data: [UInt8]) throws -> T? {
    func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        var offset = 0
        let value: I = try readInteger(data, &offset)
        guard offset == data.count else { throw SceneCodec.corrupt("a scalar's size") }
        return value
    }
    switch type {
    case is Bool.Type: return try (integer(UInt8.self) != 0) as? T
    case is String.Type: return String(decoding: data, as: UTF8.self) as? T
    case is Float.Type: return try Float(bitPattern: integer(UInt32.self)) as? T
    case is Double.Type: return try Double(bitPattern: integer(UInt64.self)) as? T
    case is Int.Type: return try Int(integer(Int64.self)) as? T
    case is UInt16.Type: return try integer(UInt16.self) as? T
    case is UInt32.Type: return try integer(UInt32.self) as? T
    case is UInt8.Type: return try integer(UInt8.self) as? T
    default: return nil
    }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let box: Box
    var codingPath: [any CodingKey]
    var allKeys: [Key] { box.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { box.item(forKey: key.stringValue) != nil }

    private func child(_ key: Key) throws -> Box {
        guard let item = box.item(forKey: key.stringValue) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return item
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).kind == .null }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decodeValue(type, from: child(key), codingPath: codingPath + [key])
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try TreeDecoder(box: child(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(box: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        TreeDecoder(box: try child(Key(stringValue: "super")!), codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(box: try child(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedReader: UnkeyedDecodingContainer {
    let box: Box
    var codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { box.items.count }
    var isAtEnd: Bool { currentIndex >= box.items.count }

    init(box: Box, codingPath: [any CodingKey]) {
        self.box = box
        self.codingPath = codingPath
    }

    private mutating func next() throws -> Box {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "list ended"))
        }
        defer { currentIndex += 1 }
        return box.items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, box.items[currentIndex].kind == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try decodeValue(type, from: next(), codingPath: codingPath)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        try TreeDecoder(box: next(), codingPath: codingPath).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(box: next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder { TreeDecoder(box: try next(), codingPath: codingPath) }
}

private struct SingleReader: SingleValueDecodingContainer {
    let box: Box
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool { box.kind == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(type, from: box, codingPath: codingPath) }
}
