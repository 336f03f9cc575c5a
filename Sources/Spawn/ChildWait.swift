import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
public enum ChildOutcome: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// Killed by us after the wall-clock limit.
    case timedOut(seconds: Double)
}

/// Watches a child started by `spawnInGroup`: each `poll` reaps it if it ended; past the time limit, or when asked
/// to stop, its process group gets SIGTERM, then SIGKILL `killGrace` seconds later.
public struct ChildWatch {
    public let pid: pid_t
    public let timeout: Double
    public let killGrace: Double
    private let start = Date()
    private var stopping: (deadline: Date, killed: Bool)?
    private var timedOut = false

    public init(pid: pid_t, timeout: Double, killGrace: Double) {
        (self.pid, self.timeout, self.killGrace) = (pid, timeout, killGrace)
    }

    /// The outcome once the child is reaped, else nil (call again after a short pause). `stop` = stop it now.
    public mutating func poll(stop: Bool = false) throws -> ChildOutcome? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            kill(-pid, SIGKILL)  // helpers it left behind in its group
            if timedOut { return .timedOut(seconds: timeout) }
            let signal = status & 0x7f
            return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }
        if result < 0 && errno != EINTR {
            throw SpawnError(code: errno)
        }
        if stopping == nil {
            timedOut = !stop && Date().timeIntervalSince(start) > timeout
            if stop || timedOut {
                kill(-pid, SIGTERM)
                kill(pid, SIGTERM)
                stopping = (Date().addingTimeInterval(killGrace), false)
            }
        } else if let current = stopping, !current.killed, Date() >= current.deadline {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            stopping = (current.deadline, true)
        }
        return nil
    }
}

/// Waits (blocking, polling every 10 ms) for a child started by `spawnInGroup`, with a wall-clock limit.
public func waitForChild(_ pid: pid_t, timeout: Double, killGrace: Double = 1) throws -> ChildOutcome {
    var watch = ChildWatch(pid: pid, timeout: timeout, killGrace: killGrace)
    while true {
        if let outcome = try watch.poll() { return outcome }
        usleep(10_000)
    }
}

/// `SIGSEGV`, `SIGABRT`, … for a signal number.
public func signalName(_ signal: Int32) -> String {
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
