import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Reads numbers and words from text-format bytes in place (OBJ, MTL, ASCII PLY and STL, ASCII FBX), without
/// creating strings. Lines end at `\n`; `\r`, spaces and tabs separate words.
///
/// The scanner does not own its bytes; keep their owner (a `MappedFile`) alive while scanning.
public struct TextScanner {
    public let base: UnsafePointer<UInt8>
    /// The offset of the next byte.
    public var offset: Int
    /// One past the last byte the scanner may read.
    public let end: Int

    /// Scans `bytes[range]`.
    public init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        // An empty buffer may have no base address; one static byte stands in for it.
        base = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? emptyText
        offset = start
        self.end = bytes.baseAddress == nil ? 0 : (end ?? bytes.count)
    }

    public var isAtEnd: Bool { offset >= end }

    /// Skips spaces, tabs and carriage returns (not line ends).
    @inline(__always) public mutating func skipSpaces() {
        while offset < end, isSpace(base[offset]) { offset += 1 }
    }

    /// True at a line end (or the end of the text) after skipping spaces.
    @inline(__always) public mutating func atLineEnd() -> Bool {
        skipSpaces()
        return offset >= end || base[offset] == 10
    }

    /// Moves past the next line end.
    @inline(__always) public mutating func skipLine() {
        let rest = end - offset
        guard rest > 0 else { return }
        if let found = memchr(base + offset, 10, rest) {
            offset = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - base + 1
        } else {
            offset = end
        }
    }

    /// The next word (a run of bytes other than whitespace) as an offset range; empty at a line end.
    @inline(__always) public mutating func word() -> Range<Int> {
        skipSpaces()
        let start = offset
        while offset < end, !isSpace(base[offset]), base[offset] != 10 { offset += 1 }
        return start..<offset
    }

    /// Whether `range` holds exactly the ASCII text `literal`, compared case-insensitively when asked.
    public func matches(_ range: Range<Int>, _ literal: StaticString, caseInsensitive: Bool = false) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let text = literal.utf8Start
        for i in 0..<range.count {
            let a = base[range.lowerBound + i]
            let b = text[i]
            if a == b { continue }
            if caseInsensitive, a | 0x20 == b | 0x20, (a | 0x20) >= 97, (a | 0x20) <= 122 { continue }
            return false
        }
        return true
    }

    /// The bytes of `range` as a string (invalid UTF-8 repaired).
    public func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// The rest of the line without surrounding whitespace, as a string; moves past the line end.
    public mutating func restOfLine() -> String {
        skipSpaces()
        let start = offset
        while offset < end, base[offset] != 10 { offset += 1 }
        var stop = offset
        while stop > start, isSpace(base[stop - 1]) { stop -= 1 }
        if offset < end { offset += 1 }
        return string(start..<stop)
    }

    /// The next number on the line as a Float (see `parseFloat`); nil, without moving, when none starts here.
    /// Trailing garbage glued to the number (`3.1+e2`) is skipped, as C's `atof` ignores it.
    @inline(__always) public mutating func float() -> Float? {
        skipSpaces()
        guard let value = parseFloat(base, &offset, end) else { return nil }
        while offset < end, !isSpace(base[offset]), base[offset] != 10, base[offset] != 47 { offset += 1 }
        return value
    }

    /// The next integer on the line (optional sign, decimal digits); nil, without moving, when none starts here.
    /// Values beyond ±2^62 saturate.
    @inline(__always) public mutating func integer() -> Int? {
        skipSpaces()
        return parseInteger(base, &offset, end)
    }
}

nonisolated(unsafe) private let emptyText: UnsafePointer<UInt8> = {
    let byte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    byte.initialize(to: 0)
    return UnsafePointer(byte)
}()

@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 11 || c == 12 }

/// Parses an optionally signed decimal integer at `p[i]`; advances `i` past it. Saturates beyond ±2^62.
@inline(__always)
public func parseInteger(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Int? {
    var j = i
    var negative = false
    if j < end, p[j] == 45 || p[j] == 43 {
        negative = p[j] == 45
        j += 1
    }
    let first = j
    var value = 0
    while j < end, p[j] &- 48 < 10 {
        if value < 1 << 62 { value = value * 10 + Int(p[j] &- 48) }
        j += 1
    }
    guard j > first else { return nil }
    i = j
    return negative ? -value : value
}

private let floatPowers: [Float] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
private let doublePowers: [Double] = [
    1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
]

/// Parses a decimal floating-point number at `p[i]` (`-1`, `+2.`, `.5`, `3.1e-2`, `1E5`, `nan`, `inf`,
/// `infinity`, case-insensitive) and advances `i` past it; nil, without moving, when no number starts there.
///
/// Exact: the result is the Float nearest to the decimal value (round-half-even), as `strtof` gives, but without
/// its cost for the common short numbers: up to 7 significant digits with a small exponent take one exact Float
/// operation, up to 15 digits one exact Double operation (checked for the rare double-rounding case); anything
/// else goes to `strtof`.
public func parseFloat(_ p: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int) -> Float? {
    var j = i
    var negative = false
    if j < end, p[j] == 45 || p[j] == 43 {
        negative = p[j] == 45
        j += 1
    }
    if j < end, p[j] | 0x20 == 110 || p[j] | 0x20 == 105 {  // n, i
        func word(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            guard end - j >= n else { return false }
            for k in 0..<n where p[j + k] | 0x20 != text.utf8Start[k] { return false }
            return true
        }
        if word("nan") {
            i = j + 3
            return .nan
        }
        if word("infinity") {
            i = j + 8
            return negative ? -.infinity : .infinity
        }
        if word("inf") {
            i = j + 3
            return negative ? -.infinity : .infinity
        }
        return nil
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var exponent = 0
    var truncated = false
    var sawDigit = false
    while j < end, p[j] &- 48 < 10 {
        let d = UInt64(p[j] &- 48)
        sawDigit = true
        if digits < 19 {
            if mantissa != 0 || d != 0 {
                mantissa = mantissa * 10 + d
                digits += 1
            }
        } else {
            exponent += 1
            truncated = truncated || d != 0
        }
        j += 1
    }
    if j < end, p[j] == 46 {
        j += 1
        while j < end, p[j] &- 48 < 10 {
            let d = UInt64(p[j] &- 48)
            sawDigit = true
            if digits < 19 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa * 10 + d
                    digits += 1
                }
                exponent -= 1
            } else {
                truncated = truncated || d != 0
            }
            j += 1
        }
    }
    guard sawDigit else { return nil }
    if j < end, p[j] | 0x20 == 101 {  // e
        var k = j + 1
        var negativeExponent = false
        if k < end, p[k] == 45 || p[k] == 43 {
            negativeExponent = p[k] == 45
            k += 1
        }
        if k < end, p[k] &- 48 < 10 {
            var e = 0
            while k < end, p[k] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(p[k] &- 48) }
                k += 1
            }
            exponent += negativeExponent ? -e : e
            j = k
        }
    }
    let start = i
    i = j
    if mantissa == 0 { return negative ? -0.0 : 0 }
    if !truncated {
        if mantissa <= 1 << 24, exponent >= -10, exponent <= 10 {
            let m = Float(mantissa)
            let value = exponent < 0 ? m / floatPowers[-exponent] : m * floatPowers[exponent]
            return negative ? -value : value
        }
        if mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            let m = Double(mantissa)
            let value = exponent < 0 ? m / doublePowers[-exponent] : m * doublePowers[exponent]
            // Converting the correctly rounded Double to Float is exact unless it lies exactly halfway
            // between two Floats (its 29 dropped bits are 1000…0); then the decimal value decides.
            if value.bitPattern & 0x1FFF_FFFF != 0x1000_0000 {
                let single = Float(value)
                return negative ? -single : single
            }
        }
    }
    return slowParseFloat(p + start, count: j - start)
}

/// `strtof` on a copy (the mapped bytes are not NUL-terminated).
private func slowParseFloat(_ p: UnsafePointer<UInt8>, count: Int) -> Float {
    var text = [CChar](repeating: 0, count: count + 1)
    for k in 0..<count { text[k] = CChar(bitPattern: p[k]) }
    return strtof(text, nil)
}
