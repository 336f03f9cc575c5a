import Foundation
import Testing

@testable import Scene

@Suite struct TextTests {
    @Test func trimmingPaddingAndFixedNotation() {
        #expect("  a b \t\n".trimmed == "a b")
        #expect(" \n ".trimmed == "")
        #expect("ab".padded(to: 4) == "ab  ")
        #expect("abcdef".padded(to: 3) == "abc")
        #expect(fixed(1.5, places: 3) == "1.500")
        // printf rounds the exact binary value (0.0005 and -12.345 are stored a little beyond their decimal).
        #expect(fixed(0.0005, places: 3) == "0.001")
        #expect(fixed(-12.345, places: 2) == "-12.35")
        #expect(fixed(2.25, places: 1) == String(format: "%.1f", 2.25))
    }

    @Test func errorsAreDescribedInOneHumanPhrase() {
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: "/nonexistent/folder/file"))
            Issue.record("read a missing file")
        } catch {
            #expect(describe(error) == "No such file or directory")
        }
        #expect(describe(ProcessingError(.badInput, file: "x", "bad")) == "bad")
        struct Document: Decodable { var count: Int }
        do {
            _ = try JSONDecoder().decode(Document.self, from: Data("{}".utf8))
        } catch {
            #expect(describe(error) == "missing 'count'")
        }
    }
}
