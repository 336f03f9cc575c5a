import Scene

/// Reads an ASCII FBX (`Name: value, value, … { children }`, `;` comments) into the same node tree as the binary
/// reader. Arrays (`*N { a: … }` in 7.x, long value lists in 6.x) become one array value. Nesting uses an explicit
/// stack, never recursion.
func parseASCIIFBX(_ bytes: UnsafeRawBufferPointer, file: String) throws -> FBXDocument {
    var document = FBXDocument(file: file)
    var lexer = FBXLexer(bytes: bytes)
    var open: [Int] = []
    var pending: FBXLexer.Token? = nil

    func next() throws -> FBXLexer.Token? {
        if let token = pending {
            pending = nil
            return token
        }
        return try lexer.next(file: file)
    }

    while let token = try next() {
        switch token {
        case .key(let name):
            let index = document.nodes.count
            document.nodes.append(FBXNode(name: name))
            if let parent = open.last {
                document.nodes[parent].children.append(index)
            } else {
                document.roots.append(index)
            }
            var values: [FBXValue] = []
            var expectValue = true
            valueLoop: while let t = try next() {
                switch t {
                case .comma:
                    expectValue = true
                case .value(let v) where expectValue:
                    values.append(v)
                    expectValue = false
                case .count where expectValue:
                    break
                default:
                    pending = t
                    break valueLoop
                }
            }
            document.nodes[index].values = packed(values)
            if case .open = pending {
                pending = nil
                open.append(index)
            }
        case .close:
            guard let node = open.popLast() else {
                throw ProcessingError(
                    .badInput, file: file, "corrupt ASCII FBX: unbalanced '}' at byte \(lexer.offset)")
            }
            collapseArray(&document, node)
        case .open:
            throw ProcessingError(
                .badInput, file: file, "corrupt ASCII FBX: '{' without a name at byte \(lexer.offset)")
        case .comma, .count, .value:
            throw ProcessingError(
                .badInput, file: file, "corrupt ASCII FBX: value without a name at byte \(lexer.offset)")
        }
    }
    guard open.isEmpty else {
        throw ProcessingError(.badInput, file: file, "truncated ASCII FBX: \(open.count) block(s) not closed")
    }
    if let header = document.child(nil, "FBXHeaderExtension"), let version = document.value(header, "FBXVersion")?.int {
        document.version = Int(clamping: version)
    }
    return document
}

/// Long all-numeric value lists become one array value (6.x writes arrays that way).
private func packed(_ values: [FBXValue]) -> [FBXValue] {
    guard values.count > 16 else { return values }
    var integers: [Int64] = []
    integers.reserveCapacity(values.count)
    for value in values {
        guard case .integer(let v) = value else {
            guard values.allSatisfy({ $0.double != nil }) else { return values }
            return [.numbers(values.map { $0.double! })]
        }
        integers.append(v)
    }
    return [.integers(integers)]
}

/// `Name: *N { a: v, v, … }` → `Name` with one array value.
private func collapseArray(_ document: inout FBXDocument, _ node: Int) {
    let children = document.nodes[node].children
    guard document.nodes[node].values.isEmpty, children.count == 1, document.nodes[children[0]].name == "a",
        document.nodes[children[0]].children.isEmpty
    else { return }
    let values = document.nodes[children[0]].values
    if values.count == 1, case .numbers = values[0] {
        document.nodes[node].values = values
    } else if values.count == 1, case .integers = values[0] {
        document.nodes[node].values = values
    } else if values.allSatisfy({ if case .integer = $0 { return true } else { return false } }) {
        document.nodes[node].values = [.integers(values.compactMap(\.int))]
    } else if values.allSatisfy({ $0.double != nil }) {
        document.nodes[node].values = [.numbers(values.compactMap(\.double))]
    } else {
        return
    }
    document.nodes[node].children = []
    document.nodes[children[0]].values = []
}

/// Splits ASCII FBX into keys (`Name:`), values, commas, braces and `*N` counts.
struct FBXLexer {
    enum Token {
        case key(String)
        case value(FBXValue)
        case comma, open, close, count
    }

    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next(file: String) throws -> Token? {
        while offset < bytes.count {
            let b = bytes[offset]
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D, 0x00:
                offset += 1
            case UInt8(ascii: ";"):
                while offset < bytes.count, bytes[offset] != 0x0A { offset += 1 }
            case UInt8(ascii: ","):
                offset += 1
                return .comma
            case UInt8(ascii: "{"):
                offset += 1
                return .open
            case UInt8(ascii: "}"):
                offset += 1
                return .close
            case UInt8(ascii: "\""):
                let start = offset + 1
                var end = start
                while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
                guard end < bytes.count else {
                    throw ProcessingError(
                        .badInput, file: file, "truncated ASCII FBX: unterminated string at byte \(offset)")
                }
                offset = end + 1
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                return .value(
                    .string(text.contains("&quot;") ? text.replacing("&quot;", with: "\"") : text))
            case UInt8(ascii: "*"):
                offset += 1
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
                return .count
            default:
                let start = offset
                while offset < bytes.count, isWordByte(bytes[offset]) { offset += 1 }
                guard offset > start else {
                    throw ProcessingError(
                        .badInput, file: file, "corrupt ASCII FBX: unexpected byte \(b) at byte \(offset)")
                }
                let word = UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
                if offset < bytes.count, bytes[offset] == UInt8(ascii: ":") {
                    offset += 1
                    return .key(String(decoding: word, as: UTF8.self))
                }
                return .value(parseWord(word))
            }
        }
        return nil
    }
}

private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

private func isWordByte(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"),
        UInt8(ascii: "."), UInt8(ascii: "#"), UInt8(ascii: "|"), 0x80...0xFF:
        return true
    default:
        return false
    }
}

/// A number (integer when it has no fraction or exponent; `1.#INF`, `-1.#IND` and friends as infinities/NaN), else
/// a bare word (`T`, `Y`, …) as a string.
private func parseWord(_ word: UnsafeRawBufferPointer) -> FBXValue {
    guard let first = word.first,
        isDigit(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
            || first == UInt8(ascii: ".")
    else {
        return .string(String(decoding: word, as: UTF8.self))
    }
    var integer: Int64 = 0
    var negative = false
    var isInteger = word.count <= 19
    for (i, b) in word.enumerated() {
        if i == 0, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
            negative = b == UInt8(ascii: "-")
            isInteger = isInteger && word.count > 1
            continue
        }
        guard isDigit(b) else {
            isInteger = false
            break
        }
        integer = integer &* 10 &+ Int64(b - 0x30)
    }
    if isInteger { return .integer(negative ? -integer : integer) }
    let text = String(decoding: word, as: UTF8.self)
    if let value = Double(text) { return .number(value) }
    if text.contains("#INF") || text.lowercased().contains("inf") {
        return .number(text.hasPrefix("-") ? -.infinity : .infinity)
    }
    if text.contains("#") || text.lowercased().contains("nan") { return .number(.nan) }
    return .string(text)
}
