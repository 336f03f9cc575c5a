/// A JSON value whose objects keep their keys in insertion order, so serialization is deterministic.
enum JSONValue {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case int(Int)
    case float(Float)
    case bool(Bool)
    case null

    static func floats(_ values: [Float]) -> JSONValue { .array(values.map { .float($0) }) }
    static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .int($0) }) }

    /// Appends the compact serialization of `self` to `out`.
    func write(to out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, value) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .float(let f): out.append(contentsOf: JSONValue.format(f).utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }

    /// Shortest text that reads back as the same `Float`: no trailing ".0", exponent without "+" or leading zeros,
    /// negative zero as "0", and non-finite values (which JSON cannot express) as "0".
    static func format(_ value: Float) -> String {
        guard value.isFinite else { return "0" }
        if value == 0 { return "0" }
        var text = value.description  // shortest round-trip digits
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var mantissa = String(text[..<e])
            var exponent = String(text[text.index(after: e)...])
            var sign = ""
            if exponent.hasPrefix("+") {
                exponent.removeFirst()
            } else if exponent.hasPrefix("-") {
                exponent.removeFirst()
                sign = "-"
            }
            while exponent.count > 1 && exponent.hasPrefix("0") { exponent.removeFirst() }
            if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
            text = mantissa + "e" + sign + exponent
        } else if text.hasSuffix(".0") {
            text.removeLast(2)
        }
        return text
    }

    /// Writes `s` as a JSON string: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [92, UInt8(ascii: "f")])
            case 0..<0x20:
                out.append(contentsOf: [
                    92, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 15)]
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Builds a JSON object member list, skipping members whose value is nil.
struct JSONObjectBuilder {
    private(set) var members: [(String, JSONValue)] = []

    mutating func set(_ key: String, _ value: JSONValue?) {
        if let value { members.append((key, value)) }
    }

    var isEmpty: Bool { members.isEmpty }
    var value: JSONValue { .object(members) }
}
