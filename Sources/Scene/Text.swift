#if canImport(Glibc)
    import Glibc
#endif

extension StringProtocol {
    /// The text without leading and trailing whitespace (newlines included).
    public var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }

    /// The text cut or filled with spaces to exactly `width` characters (for columns).
    public func padded(to width: Int) -> String {
        count >= width ? String(prefix(width)) : String(self) + String(repeating: " ", count: width - count)
    }
}

/// `value` in fixed notation with `places` decimals, as printf's `%.Nf` writes it ("1.500").
public func fixed(_ value: Double, places: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let count = Int(withVaList([Int32(places), value]) { vsnprintf(&buffer, 64, "%.*f", $0) })
    guard count < 64 else { return String(value) }
    return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The value of an ASCII hexadecimal digit (`0`–`9`, `a`–`f`, `A`–`F`), nil for any other byte.
public func hexDigitValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
