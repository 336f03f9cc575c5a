import Foundation
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
enum ChildOutcome: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// Killed by us after the wall-clock limit.
    case timedOut(seconds: Double)
}

/// Runs a program in its own process group with stdin from /dev/null and stdout/stderr into files, waits with a
/// wall-clock limit, and on expiry or task cancellation sends SIGTERM, then SIGKILL after `killGrace` seconds.
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
            pid = try spawnInGroup(executable, argv: [executable] + arguments, environment: environment,
                                   stdout: stdoutPath, stderr: stderrPath)
        } catch {
            throw JobFailure(.internal, "cannot start the conversion child \(executable): \(error)")
        }
        let start = Date()
        var status: Int32 = 0
        var stopping: (deadline: Date, killed: Bool)?
        var timedOut = false
        var cancelled = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR {
                throw JobFailure(.internal, "waitpid for the conversion child failed: \(String(cString: strerror(errno)))")
            }
            if stopping == nil {
                if Task.isCancelled {
                    cancelled = true
                } else if Date().timeIntervalSince(start) > timeout {
                    timedOut = true
                }
                if cancelled || timedOut {
                    kill(-pid, SIGTERM)
                    kill(pid, SIGTERM)
                    stopping = (Date().addingTimeInterval(killGrace), false)
                }
            } else if let current = stopping, !current.killed, Date() >= current.deadline {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                stopping = (current.deadline, true)
            }
            await pause(seconds: 0.02)
        }
        if cancelled { throw CancellationError() }
        if timedOut { return .timedOut(seconds: timeout) }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }
}

/// A sleep that ignores cancellation (Task.sleep returns at once when cancelled, which would make a loop spin)
/// and does not hold a cooperative thread.
func pause(seconds: Double) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume() }
    }
}

/// `SIGSEGV`, `SIGABRT`, … for a signal number.
func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    case SIGBUS: "SIGBUS"
    case SIGILL: "SIGILL"
    case SIGFPE: "SIGFPE"
    case SIGKILL: "SIGKILL"
    case SIGTERM: "SIGTERM"
    case SIGINT: "SIGINT"
    case SIGTRAP: "SIGTRAP"
    case SIGXCPU: "SIGXCPU"
    case SIGXFSZ: "SIGXFSZ"
    default: "signal \(signal)"
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
