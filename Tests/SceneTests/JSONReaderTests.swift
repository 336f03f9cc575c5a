import Foundation
import Testing

@testable import Scene

@Suite struct JSONReaderTests {
    func parse(_ text: String) throws -> Any { try parseJSON(Array(text.utf8)) }

    func failure(_ bytes: [UInt8]) -> String? {
        do {
            _ = try parseJSON(bytes)
            return nil
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput)
            return error.message
        } catch {
            return "\(error)"
        }
    }

    func failure(_ text: String) -> String? { failure(Array(text.utf8)) }

    @Test func valuesBecomeSwiftValues() throws {
        let value = try parse(
            #" {"a": [1, -0, 2.5, -1e3, 1E-2, 12345678901234567890], "b": true, "c": null, "d": "x"} "#)
        let object = try #require(value as? [String: Any])
        let numbers = try #require(object["a"] as? [Any])
        #expect(numbers[0] as? Int == 1)
        #expect(numbers[1] as? Int == 0)
        #expect(numbers[2] as? Double == 2.5)
        #expect(numbers[3] as? Double == -1000)
        #expect(numbers[4] as? Double == 0.01)
        // Correctly rounded, like Swift's own literals.
        let exact = try parse("[0.10000000149011612, 0.007354614324867725, -5.205485820169997e-08]") as? [Double]
        #expect(exact == [0.10000000149011612, 0.007354614324867725, -5.205485820169997e-08])
        // Too large for Int: a Double.
        #expect(numbers[5] as? Double == 12_345_678_901_234_567_890)
        #expect(object["b"] as? Bool == true)
        #expect(object["b"] as? Int == nil)
        #expect(object["c"] is JSONNull)
        #expect(object["d"] as? String == "x")
    }

    @Test func stringsDecodeEscapesAndSurrogatePairs() throws {
        let text = try parse(#""q\"b\\s\/\b\f\n\r\t \u00e9 \ud83d\ude00 é""#) as? String
        #expect(text == "q\"b\\s/\u{8}\u{c}\n\r\t é 😀 é")
    }

    @Test func aByteOrderMarkIsSkippedAndTheLastDuplicateKeyWins() throws {
        let value = try parseJSON([0xEF, 0xBB, 0xBF] + Array(#"{"k": 1, "k": 2}"#.utf8))
        #expect((value as? [String: Any])?["k"] as? Int == 2)
    }

    @Test func malformedTextIsRefusedWithItsPlace() {
        let cases: [(String, String)] = [
            ("[1, 2,]", "unexpected character"), ("{\"a\": 1,}", "expected a string key"), ("01", "leading zero"),
            (".5", "unexpected character"), ("1.", "invalid number"), ("1e", "invalid number"),
            ("tru", "unknown literal"),
            ("\"abc", "unterminated string"), ("\"a\u{1}b\"", "control character"),
            (#""\ud800""#, "unpaired surrogate"),
            (#""\udc00x""#, "unpaired surrogate"), (#""\x""#, "invalid escape"), (#""\u12G4""#, "invalid \\u escape"),
            ("{} x", "unexpected data after"), ("1e400", "out of range"), ("", "unexpected end"),
            ("{\"a\" 1}", "expected ':'"), ("[1 2]", "expected ',' or ']'")
        ]
        for (text, expected) in cases {
            let message = failure(text)
            #expect(message?.contains(expected) == true, "\(text): \(message ?? "accepted")")
            #expect(message?.hasPrefix("invalid JSON at byte ") == true, "\(text)")
        }
        #expect(failure([0x22, 0xC3, 0x28, 0x22])?.contains("invalid UTF-8") == true)
    }

    @Test func nestingIsLimitedTo512Levels() throws {
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try parse(deep)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(failure(tooDeep)?.contains("512 levels") == true)
        // Far deeper than any stack allows if it were not cut off.
        #expect(failure(String(repeating: "{\"a\":", count: 200_000))?.contains("512 levels") == true)
    }

    /// Every glTF document among the fixtures and the corpus reads the same as Foundation's JSONSerialization reads it
    /// (numbers to within a few units in the last place: Foundation's conversion is not correctly rounded, ours is).
    @Test func realDocumentsMatchFoundation() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var roots = [repository.appendingPathComponent("fixtures")]
        let corpus = repository.deletingLastPathComponent().appendingPathComponent("shared/corpus/files/gltf")
        if FileManager.default.fileExists(atPath: corpus.path) { roots.append(corpus) }
        var compared = 0
        for root in roots {
            let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            for case let file as URL in files where file.pathExtension == "gltf" {
                let data = try Data(contentsOf: file)
                guard let expected = try? JSONSerialization.jsonObject(with: data) else { continue }
                let ours = try parseJSON(Array(data))
                let difference = firstDifference(ours, expected, at: "")
                #expect(difference == nil, "\(file.lastPathComponent): \(difference ?? "")")
                compared += 1
            }
        }
        #expect(compared > 0)
    }

    /// Where two parsed documents first differ (a JSON pointer and both values), nil when they are the same.
    func firstDifference(_ a: Any, _ b: Any, at pointer: String) -> String? {
        if let a = a as? [String: Any], let b = b as? [String: Any] {
            guard a.keys.sorted() == b.keys.sorted() else {
                return "\(pointer): keys \(a.keys.sorted()) vs \(b.keys.sorted())"
            }
            return a.keys.sorted().lazy.compactMap { self.firstDifference(a[$0]!, b[$0]!, at: pointer + "/" + $0) }
                .first
        }
        if let a = a as? [Any], let b = b as? [Any] {
            guard a.count == b.count else { return "\(pointer): \(a.count) vs \(b.count) items" }
            return zip(a, b).enumerated().lazy.compactMap { self.firstDifference($1.0, $1.1, at: "\(pointer)/\($0)") }
                .first
        }
        let (x, y) = (canonical(a), canonical(b))
        if x.hasPrefix("n"), y.hasPrefix("n"), let p = Double(x.dropFirst()), let q = Double(y.dropFirst()),
            abs(p - q) <= 4 * max(p.ulp, q.ulp)
        {
            return nil
        }
        return x == y ? nil : "\(pointer): \(x.prefix(80)) vs \(y.prefix(80))"
    }

    /// A printable form in which numbers compare by value and booleans stay booleans (exact type checks: with
    /// Foundation loaded, `as?` would bridge numbers and booleans into each other).
    func canonical(_ value: Any) -> String {
        let kind = Swift.type(of: value)
        if kind is NSNumber.Type, let number = value as? NSNumber {
            return String(cString: number.objCType) == "c" ? "b\(number.boolValue)" : "n\(number.doubleValue)"
        }
        switch value {
        case let object as [String: Any]:
            return "{" + object.keys.sorted().map { "\($0):\(canonical(object[$0]!))" }.joined(separator: ",") + "}"
        case let items as [Any]: return "[" + items.map(canonical).joined(separator: ",") + "]"
        case let text as String: return "s\(text)"
        case let flag as Bool where kind == Bool.self: return "b\(flag)"
        case let number as Int where kind == Int.self: return "n\(Double(number))"
        case let number as Double where kind == Double.self: return "n\(number)"
        default: return "null"
        }
    }
}
