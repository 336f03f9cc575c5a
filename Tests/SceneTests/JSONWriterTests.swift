import Foundation
import Scene
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    struct Inner: Codable, Equatable {
        var name: String
        var point: SIMD3<Float>
    }

    struct Outer: Codable, Equatable {
        var zebra: Int
        var apple: Double
        var text: String
        var missing: String?
        var flags: [Bool]
        var inner: [Inner]
        var empty: [Int]
        var table: [String: Int]
    }

    @Test("keys sorted, indented by two, text escaped, optionals left out; it reads back through both readers")
    func roundTrip() throws {
        let value = Outer(
            zebra: -3, apple: 0.1, text: "a \"quoted\" /path\\ with\nnewline and \u{01}", missing: nil,
            flags: [true, false], inner: [Inner(name: "é", point: SIMD3(1, 2.5, -0.25))], empty: [],
            table: ["b": 2, "a": 1])
        let bytes = try encodeJSON(value)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\n  \"apple\" : 0.1,\n  \"empty\" : [],\n  \"flags\" : [\n    true,\n    false\n  ],"))
        #expect(text.contains(#""text" : "a \"quoted\" /path\\ with\nnewline and \u0001""#))
        #expect(!text.contains("missing"))
        #expect(text.contains("\"table\" : {\n    \"a\" : 1,\n    \"b\" : 2\n  }"))
        #expect(try JSONDecoder().decode(Outer.self, from: Data(bytes)) == value)
        let parsed = try #require(try parseJSON(bytes) as? [String: Any])
        #expect(parsed.keys.sorted() == ["apple", "empty", "flags", "inner", "table", "text", "zebra"])
    }

    @Test("a number JSON cannot hold is an encoding error")
    func nonFinite() {
        #expect(throws: EncodingError.self) { try encodeJSON([Double.nan]) }
        #expect(throws: EncodingError.self) { try encodeJSON(["x": Float.infinity]) }
    }
}
