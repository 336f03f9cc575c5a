import Foundation
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
        let pid = try spawn()
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

    private func spawn() throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Our own SIGTERM/SIGINT are ignored (a dispatch source handles them): give the child the defaults back.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw JobFailure(.internal, "cannot start the conversion child \(executable): \(String(cString: strerror(result)))")
        }
        return pid
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
