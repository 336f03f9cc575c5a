import Foundation
import Spawn

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program in its own process group with stdin from /dev/null and stdout/stderr into files, waits with a
/// wall-clock limit, and on expiry or task cancellation sends SIGTERM, then SIGKILL after `killGrace` seconds.
/// The child dies with this process (see `spawnInGroup`).
struct ChildProcess {
    var executable: String
    var arguments: [String]
    /// `NAME=value` entries.
    var environment: [String]
    var stdoutPath: String
    var stderrPath: String
    var timeout: Double
    var killGrace: Double

    /// Throws `CancellationError` (after the child is reaped) when the task was cancelled.
    func run() async throws -> ChildOutcome {
        let pid: pid_t
        do {
            // Our own SIGTERM/SIGINT are ignored (a dispatch source handles them): the child gets the defaults back.
            pid = try spawnInGroup(
                executable, argv: [executable] + arguments, environment: environment,
                stdout: stdoutPath, stderr: stderrPath)
        } catch {
            throw JobFailure(.internal, "cannot start the conversion child \(executable): \(error)")
        }
        var watch = ChildWatch(pid: pid, timeout: timeout, killGrace: killGrace)
        var cancelled = false
        while true {
            cancelled = cancelled || Task.isCancelled
            do {
                if let outcome = try watch.poll(stop: cancelled) {
                    if cancelled { throw CancellationError() }
                    return outcome
                }
            } catch let error as SpawnError {
                throw JobFailure(.internal, "waitpid for the conversion child failed: \(error)")
            }
            await pause(seconds: 0.02)
        }
    }
}

/// A sleep that ignores cancellation (Task.sleep returns at once when cancelled, which would make a loop spin)
/// and does not hold a cooperative thread.
func pause(seconds: Double) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume() }
    }
}

/// The last non-empty line of a file (at most its final 64 KiB are read), trimmed to 500 characters.
func lastLine(ofFile path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    try? handle.seek(toOffset: size > 65536 ? size - 65536 : 0)
    let data = (try? handle.readToEnd()) ?? Data()
    let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
        .last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    return line.map { String($0.trimmingCharacters(in: .whitespaces).prefix(500)) }
}

/// Asks the converter whether it accepts `options` (`optimize check-convert-options -- OPTIONS`), so a job with bad
/// options fails as a usage error before it downloads anything. Throws the converter's one-line reason.
public func checkConvertOptions(_ options: [String], executable: String) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("optimize-check-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let child = ChildProcess(
        executable: executable, arguments: ["check-convert-options", "--"] + options, environment: [],
        stdoutPath: folder.appendingPathComponent("stdout").path,
        stderrPath: folder.appendingPathComponent("stderr").path, timeout: 60, killGrace: 1)
    let outcome = try await child.run()
    guard case .exited(0) = outcome else {
        let reason = lastLine(ofFile: child.stderrPath) ?? "the converter \(executable) did not check them (\(outcome))"
        if case .exited(2) = outcome { throw JobFailure(.usage, "convert options: \(reason)") }
        throw JobFailure(.internal, "cannot check the convert options: \(reason)")
    }
}
