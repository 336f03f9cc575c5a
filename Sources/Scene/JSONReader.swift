#if canImport(Glibc)
    import Glibc
#endif

/// JSON `null` in the values `parseJSON` returns.
public struct JSONNull: Sendable, Equatable {}

/// Parses one JSON text (RFC 8259, UTF-8; a leading byte-order mark is skipped) into Swift values: `[String: Any]`,
/// `[Any]`, `String`, `Int` (a number written without fraction or exponent that fits), `Double` (any other number),
/// `Bool` and `JSONNull`. Strict: no trailing commas, comments, non-finite numbers or
/// invalid UTF-8; nesting deeper than 512 levels is refused (hostile files cannot exhaust the stack); a key given
/// twice keeps its last value. Throws a `.badInput` error saying what is wrong and at which byte.
public func parseJSON(_ bytes: UnsafeRawBufferPointer) throws -> Any {
    var reader = JSONReader(bytes: bytes)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.offset = 3 }
    let value = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.offset == bytes.count else { throw reader.failure("unexpected data after the JSON value") }
    return value
}

/// `parseJSON` over an array's bytes.
public func parseJSON(_ bytes: [UInt8]) throws -> Any {
    try bytes.withUnsafeBytes { try parseJSON($0) }
}

private struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func failure(_ what: String) -> ProcessingError {
        ProcessingError(.badInput, "invalid JSON at byte \(offset): \(what)")
    }

    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
    }

    mutating func expect(_ literal: StaticString, _ value: Any) throws -> Any {
        let text = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - offset >= text.count, bytes[offset..<offset + text.count].elementsEqual(text) else {
            throw failure("unknown literal")
        }
        offset += text.count
        return value
    }

    mutating func value(depth: Int) throws -> Any {
        skipSpace()
        guard let byte = current else { throw failure("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): return try expect("true", true)
        case UInt8(ascii: "f"): return try expect("false", false)
        case UInt8(ascii: "n"): return try expect("null", JSONNull())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character")
        }
    }

    mutating func object(depth: Int) throws -> [String: Any] {
        var result: [String: Any] = [:]
        try elements(closedBy: UInt8(ascii: "}"), depth: depth) { reader in
            reader.skipSpace()
            guard reader.current == UInt8(ascii: "\"") else { throw reader.failure("expected a string key") }
            let key = try reader.string()
            reader.skipSpace()
            guard reader.current == UInt8(ascii: ":") else { throw reader.failure("expected ':'") }
            reader.offset += 1
            result[key] = try reader.value(depth: depth)
        }
        return result
    }

    mutating func array(depth: Int) throws -> [Any] {
        var result: [Any] = []
        try elements(closedBy: UInt8(ascii: "]"), depth: depth) { reader in
            result.append(try reader.value(depth: depth))
        }
        return result
    }

    /// Reads the comma-separated elements of an object or array, its opening bracket at `offset`, through `close`;
    /// `element` reads one. Refuses nesting deeper than 512 levels.
    mutating func elements(closedBy close: UInt8, depth: Int, _ element: (inout JSONReader) throws -> Void) throws {
        guard depth <= 512 else { throw failure("nested more than 512 levels deep") }
        offset += 1
        skipSpace()
        if current == close {
            offset += 1
            return
        }
        while true {
            try element(&self)
            skipSpace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case close:
                offset += 1
                return
            default: throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))'")
            }
        }
    }

    mutating func string() throws -> String {
        offset += 1
        let start = offset
        // Fast path: no escapes.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { offset += 1 }
        guard let stop = current else { throw failure("unterminated string") }
        if stop == UInt8(ascii: "\"") {
            offset += 1
            return try text(UnsafeRawBufferPointer(rebasing: bytes[start..<offset - 1]))
        }
        var utf8 = Array(bytes[start..<offset])
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            offset += 1
            switch byte {
            case UInt8(ascii: "\""): return try utf8.withUnsafeBytes { try text($0) }
            case UInt8(ascii: "\\"):
                guard let escaped = current else { throw failure("unterminated string") }
                offset += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                default: throw failure("invalid escape")
                }
            case 0..<0x20: throw failure("control character in a string")
            default: utf8.append(byte)
            }
        }
    }

    /// The UTF-8 of a `\uXXXX` escape (the `\u` already read), joining a surrogate pair.
    mutating func unicodeEscape() throws -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate") }
            offset += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw failure("unpaired surrogate") }
        return Array(String(Character(unicode)).utf8)
    }

    mutating func hex4() throws -> UInt32 {
        guard bytes.count - offset >= 4 else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexDigitValue(bytes[offset]) else { throw failure("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    func text(_ utf8: UnsafeRawBufferPointer) throws -> String {
        guard let text = String(validating: utf8.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw failure("invalid UTF-8 in a string")
        }
        return text
    }

    /// A number in JSON's grammar: an `Int` when written as an integer that fits, else a `Double` converted by strtod
    /// (correctly rounded).
    mutating func number() throws -> Any {
        let start = offset
        func digits() -> Int {
            let first = offset
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { offset += 1 }
            return offset - first
        }
        if current == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        guard digits() > 0 else { throw failure("invalid number") }
        if bytes[integerStart] == UInt8(ascii: "0"), offset - integerStart > 1 { throw failure("leading zero") }
        if current != UInt8(ascii: "."), current != UInt8(ascii: "e"), current != UInt8(ascii: "E"),
            let integer = Int(String(decoding: bytes[start..<offset], as: UTF8.self))
        {
            return integer
        }
        if current == UInt8(ascii: ".") {
            offset += 1
            guard digits() > 0 else { throw failure("invalid number") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw failure("invalid number") }
        }
        // strtod needs a terminated string; numbers are short, so copy.
        var token = Array(bytes[start..<offset])
        token.append(0)
        let value = token.withUnsafeBufferPointer {
            strtod(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), nil)
        }
        guard value.isFinite else { throw failure("number out of range") }
        return value
    }
}
