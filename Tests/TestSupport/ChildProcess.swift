import Foundation

/// The outcome of one child process.
public struct RunResult: Sendable {
    public var status: Int32
    /// Killed by a signal (crash), including our own kill after a timeout.
    public var signaled: Bool
    public var timedOut: Bool
    public var stdout: String
    public var stderr: String
    public var seconds: Double

    /// The non-empty lines the child wrote to stderr.
    public var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
    public var crashed: Bool { signaled || timedOut }
    public var summary: String {
        timedOut
            ? "timed out after \(Int(seconds)) s"
            : signaled
                ? "killed by signal \(status)"
                : "exit \(status)\(stderr.isEmpty ? "" : ": " + stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// Runs `executable args` with a timeout (in `environment` when given, else ours); output goes through temporary
/// files so large output cannot block.
public func run(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 120
) throws -> RunResult {
    let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("optimize-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
    else {
        throw TestFailure("cannot create output files in \(scratch.path)")
    }
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }

    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let start = Date()
    try process.run()
    var timedOut = false
    while process.isRunning {
        if Date().timeIntervalSince(start) > timeout {
            timedOut = true
            process.terminate()
            let grace = Date()
            while process.isRunning && Date().timeIntervalSince(grace) < 3 { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            break
        }
        usleep(5_000)
    }
    process.waitUntilExit()
    let seconds = Date().timeIntervalSince(start)
    return RunResult(
        status: process.terminationStatus,
        signaled: process.terminationReason == .uncaughtSignal,
        timedOut: timedOut,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
        seconds: seconds)
}

/// Runs the built `optimize` with `arguments`.
public func optimize(_ arguments: [String], timeout: Double = 120) throws -> RunResult {
    try run(TestPaths.optimize, arguments, timeout: timeout)
}

/// A failed precondition of a test, with its reason.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh temporary folder, removed by `cleanup()`.
public struct TemporaryFolder {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("optimize-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> URL { try write(relative, Data(text.utf8)) }

    @discardableResult
    public func write(_ relative: String, _ data: Data) throws -> URL {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file
    }

    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}
