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

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion; returns exit status and standard output (standard error is appended on failure).
func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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
