import FoundationEssentials

/// Typed, never-trapping reads of `parseJSON` output.
enum JSONAccess {
    static func object(_ value: Any?) -> [String: Any]? { value as? [String: Any] }
    static func array(_ value: Any?) -> [Any]? { value as? [Any] }
    static func string(_ value: Any?) -> String? { value as? String }

    /// A JSON number (booleans excluded).
    static func number(_ value: Any?) -> Double? { (value as? Double) ?? (value as? Int).map(Double.init) }

    /// A JSON boolean.
    static func bool(_ value: Any?) -> Bool? { value as? Bool }

    /// A non-negative integer small enough (≤ 2^40) that sums and small products of a few of them cannot overflow.
    static func index(_ value: Any?) -> Int? {
        guard let d = number(value), d >= 0, d <= Double(1 << 40), d.rounded() == d else { return nil }
        return Int(d)
    }

    /// The array at a `/`-separated path of object keys from `root`.
    static func array(at path: String, in root: [String: Any]) -> [Any]? {
        var current: Any? = root
        for key in path.split(separator: "/") { current = object(current)?[String(key)] }
        return array(current)
    }

    /// Every value at `path` (keys; `[]` = each array element, `*` = each object member) below `value`,
    /// with its JSON pointer.
    static func resolve(_ value: Any, path: ArraySlice<Substring>, pointer: String) -> [(Any, String)] {
        guard let segment = path.first else { return [(value, pointer)] }
        let rest = path.dropFirst()
        switch segment {
        case "[]":
            guard let items = array(value) else { return [] }
            return items.enumerated().flatMap { resolve($1, path: rest, pointer: "\(pointer)/\($0)") }
        case "*":
            guard let members = object(value) else { return [] }
            return members.keys.sorted().flatMap {
                resolve(members[$0]!, path: rest, pointer: "\(pointer)/\(escape($0))")
            }
        default:
            guard let child = object(value)?[String(segment)] else { return [] }
            return resolve(child, path: rest, pointer: "\(pointer)/\(escape(String(segment)))")
        }
    }

    /// Escapes a key for a JSON pointer (RFC 6901).
    static func escape(_ key: String) -> String {
        key.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}
