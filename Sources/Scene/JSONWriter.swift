/// Encodes `value` as JSON text with keys sorted and two-space indentation (the layout of Foundation's JSONEncoder
/// with `.prettyPrinted, .sortedKeys`, slashes unescaped), through its `Encodable` conformance.
///
/// The conversion path uses it for `--report` instead of Foundation's encoder, whose generic code a conversion
/// otherwise never maps (a 12-triangle conversion with a report: about 1 MiB less resident). Throws
/// `EncodingError.invalidValue` for non-finite numbers, which JSON cannot express.
public func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
    let root = JSONNode()
    try value.encode(to: JSONTreeEncoder(node: root, codingPath: []))
    var out: [UInt8] = []
    root.write(to: &out, indent: 0)
    return out
}

/// One value being encoded: an object, an array, or a scalar already in its JSON text; nothing yet is `null`.
private final class JSONNode {
    var members: [String: JSONNode]?
    var elements: [JSONNode]?
    var scalar: String?

    func write(to out: inout [UInt8], indent: Int) {
        func newline(_ depth: Int) {
            out.append(10)
            out.append(contentsOf: repeatElement(32, count: depth * 2))
        }
        if let members {
            guard !members.isEmpty else { return out.append(contentsOf: "{}".utf8) }
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                writeJSONString(key, to: &out)
                out.append(contentsOf: " : ".utf8)
                members[key]!.write(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "}"))
        } else if let elements {
            guard !elements.isEmpty else { return out.append(contentsOf: "[]".utf8) }
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                element.write(to: &out, indent: indent + 1)
            }
            newline(indent)
            out.append(UInt8(ascii: "]"))
        } else {
            out.append(contentsOf: (scalar ?? "null").utf8)
        }
    }
}

private func writeJSONString(_ string: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in string.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
        case 10: out.append(contentsOf: "\\n".utf8)
        case 13: out.append(contentsOf: "\\r".utf8)
        case 9: out.append(contentsOf: "\\t".utf8)
        case 0..<32:
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: "\\u00".utf8)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}

private func jsonString(_ string: String) -> String {
    var out: [UInt8] = []
    writeJSONString(string, to: &out)
    return String(decoding: out, as: UTF8.self)
}

private func jsonNumber<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, _ path: [any CodingKey]) throws
    -> String
{
    guard value.isFinite else {
        throw EncodingError.invalidValue(
            value, EncodingError.Context(codingPath: path, debugDescription: "\(value) is not valid in JSON"))
    }
    var text = value.description
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

private struct JSONTreeEncoder: Encoder {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(JSONKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return JSONUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueContainer(node: node, codingPath: codingPath)
    }
}

/// A key for array positions in coding paths.
private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

private struct JSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONNode
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> JSONNode {
        let child = JSONNode()
        node.members![key.stringValue] = child
        return child
    }

    private func set(_ text: String, _ key: Key) { child(key).scalar = text }

    mutating func encodeNil(forKey key: Key) throws { set("null", key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(value ? "true" : "false", key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(jsonString(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try jsonNumber(value, codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try jsonNumber(value, codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(String(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(String(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: JSONTreeEncoder(node: child(key), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        JSONTreeEncoder(node: child(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        JSONTreeEncoder(node: child(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let key = JSONKey("super")
        let child = JSONNode()
        node.members![key.stringValue] = child
        return JSONTreeEncoder(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        JSONTreeEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

/// A string key for `superEncoder()`.
private struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct JSONUnkeyedContainer: UnkeyedEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var count: Int { node.elements!.count }

    private func next() -> JSONNode {
        let child = JSONNode()
        node.elements!.append(child)
        return child
    }

    private func add(_ text: String) { next().scalar = text }
    private var path: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    mutating func encodeNil() throws { add("null") }
    mutating func encode(_ value: Bool) throws { add(value ? "true" : "false") }
    mutating func encode(_ value: String) throws { add(jsonString(value)) }
    mutating func encode(_ value: Double) throws { add(try jsonNumber(value, path)) }
    mutating func encode(_ value: Float) throws { add(try jsonNumber(value, path)) }
    mutating func encode(_ value: Int) throws { add(String(value)) }
    mutating func encode(_ value: Int8) throws { add(String(value)) }
    mutating func encode(_ value: Int16) throws { add(String(value)) }
    mutating func encode(_ value: Int32) throws { add(String(value)) }
    mutating func encode(_ value: Int64) throws { add(String(value)) }
    mutating func encode(_ value: UInt) throws { add(String(value)) }
    mutating func encode(_ value: UInt8) throws { add(String(value)) }
    mutating func encode(_ value: UInt16) throws { add(String(value)) }
    mutating func encode(_ value: UInt32) throws { add(String(value)) }
    mutating func encode(_ value: UInt64) throws { add(String(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = self.path
        try value.encode(to: JSONTreeEncoder(node: next(), codingPath: path))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let path = self.path
        return JSONTreeEncoder(node: next(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = self.path
        return JSONTreeEncoder(node: next(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = self.path
        return JSONTreeEncoder(node: next(), codingPath: path)
    }
}

private struct JSONSingleValueContainer: SingleValueEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = "null" }
    mutating func encode(_ value: Bool) throws { node.scalar = value ? "true" : "false" }
    mutating func encode(_ value: String) throws { node.scalar = jsonString(value) }
    mutating func encode(_ value: Double) throws { node.scalar = try jsonNumber(value, codingPath) }
    mutating func encode(_ value: Float) throws { node.scalar = try jsonNumber(value, codingPath) }
    mutating func encode(_ value: Int) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int8) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int16) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int32) throws { node.scalar = String(value) }
    mutating func encode(_ value: Int64) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt8) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt16) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt32) throws { node.scalar = String(value) }
    mutating func encode(_ value: UInt64) throws { node.scalar = String(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: JSONTreeEncoder(node: node, codingPath: codingPath))
    }
}
