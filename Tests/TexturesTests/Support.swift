import Foundation
import Testing

/// Fixture paths, the built binary and the venv Python for the texture tests.
enum Paths {
    /// The repository root (this file is Tests/TexturesTests/Support.swift).
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> URL { repo.appendingPathComponent("fixtures/textures/\(name)") }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: fixture(name))) }

    /// The `optimize` executable SwiftPM built (TexturesTests depends on it).
    static let optimize: URL = {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            repo.appendingPathComponent(".build/debug"),
        ].compactMap { $0?.appendingPathComponent("optimize") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// The venv interpreter with Pillow and pygltflib (OPTIMIZE_TEST_PYTHON, else <repo>/.venv/bin/python).
    static let python: URL? = {
        let path = ProcessInfo.processInfo.environment["OPTIMIZE_TEST_PYTHON"]
            ?? repo.appendingPathComponent(".venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? URL(fileURLWithPath: path) : nil
    }()

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
