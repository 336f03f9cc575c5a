import Foundation
import TestSupport
import Testing

/// Fixture paths, the built binary and the venv Python for the texture tests.
enum Paths {
    static let repo = TestPaths.repo

    static func fixture(_ name: String) -> URL { repo.appendingPathComponent("fixtures/textures/\(name)") }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: fixture(name))) }

    static let optimize = TestPaths.optimize

    static let python = TestPaths.testPython

    /// A fresh scratch folder.
    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("textures-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The JSON chunk of a GLB as a dictionary.
func glbJSON(_ url: URL) throws -> [String: Any] {
    let bytes = Array(try Data(contentsOf: url))
    guard bytes.count >= 20 else { throw TestFailure("\(url.path): too short for a GLB") }
    let length = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
    let object = try JSONSerialization.jsonObject(with: Data(bytes[20..<(20 + length)]))
    guard let root = object as? [String: Any] else { throw TestFailure("\(url.path): JSON chunk is not an object") }
    return root
}

extension Dictionary where Key == String, Value == Any {
    func array(_ key: String) -> [[String: Any]] { (self[key] as? [[String: Any]]) ?? [] }
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
}
