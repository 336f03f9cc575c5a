import Foundation

/// Where the repository and its test tools are.
public enum TestPaths {
    public static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let fixtures = repo.appendingPathComponent("fixtures/models")
    /// `<repo>/../shared/corpus`, where the third-party models are (it may be absent: see `corpus`).
    public static let corpusFolder = repo.deletingLastPathComponent().appendingPathComponent("shared/corpus")
    /// The corpus folder, nil when it (its MANIFEST.tsv) is absent, as on a user's machine.
    public static let corpus: URL? =
        FileManager.default.fileExists(atPath: corpusFolder.appendingPathComponent("MANIFEST.tsv").path)
        ? corpusFolder : nil
    /// The venv `Tests/Scripts/setup.sh` prepares.
    public static let python = repo.appendingPathComponent(".venv/bin/python").path
    /// The Python with the test readers (trimesh, pygltflib, DracoPy, Pillow): OPTIMIZE_TEST_PYTHON, else the venv's;
    /// nil when it is missing.
    public static let testPython: URL? = {
        let path = ProcessInfo.processInfo.environment["OPTIMIZE_TEST_PYTHON"] ?? python
        return FileManager.default.isExecutableFile(atPath: path) ? URL(fileURLWithPath: path) : nil
    }()
    /// OPTIMIZE_TEST_REQUIRE_TOOLS=1 (run-all.sh, CI): missing helper tools fail the tests instead of skipping them.
    public static let toolsRequired = ProcessInfo.processInfo.environment["OPTIMIZE_TEST_REQUIRE_TOOLS"] == "1"

    /// The `optimize` executable SwiftPM built next to the test bundle.
    public static let optimize: URL = {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            repo.appendingPathComponent(".build/debug")
        ].compactMap { $0?.appendingPathComponent("optimize") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }()

    /// An executable on PATH, or nil.
    public static func which(_ name: String) -> URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
    /// Local S3 (moto), fault-injecting proxy, credential endpoints, listing with boto3.
    public static let s3Helper = repo.appendingPathComponent("Tests/S3Tests/Support/s3_test_helper.py").path
    public static var motoInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: repo.appendingPathComponent(".venv/bin/moto_server").path)
    }
}

/// A helper that did not start or answer.
public struct HelperError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// A Python test helper (a server on 127.0.0.1) that prints one JSON line and serves until its stdin closes, at the
/// latest when the test process exits.
public final class HelperProcess: @unchecked Sendable {
    public let process = Process()
    private let stdin = Pipe()
    /// The JSON object the helper printed on its first line.
    public let info: [String: Any]

    /// Starts `script` with the venv's Python; `environment` is added to the test process's own.
    public init(_ script: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: TestPaths.python)
        process.arguments = [script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw HelperError(description: "test helper \(arguments.first ?? script) did not start")
        }
        self.info = info
    }

    public var port: Int { info["port"] as! Int }

    /// Closes the helper's stdin and waits for it to end.
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { try? stdin.fileHandleForWriting.close() }

    /// Runs a one-shot helper command and parses the JSON object it prints.
    public static func call(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: TestPaths.python)
        process.arguments = [script] + arguments
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HelperError(description: "helper \(arguments.first ?? script) printed no JSON object")
        }
        return object
    }

    /// A moto S3 server with auth on and `buckets` created.
    public static func moto(buckets: [String]) throws -> HelperProcess {
        try HelperProcess(TestPaths.s3Helper, ["moto"] + buckets)
    }
}
