import CSpawn
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Why `spawnInGroup` could not start a program: the fork's or exec's error number.
public struct SpawnError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { String(cString: strerror(code)) }
}

/// Starts `executable` with `argv` (argv[0] included; no shell) as the leader of a new process group, with stdin from
/// /dev/null, stdout and stderr into new files at the given paths, no blocked signals and every signal's default
/// disposition (whatever the parent ignores or handles). `environment` holds `NAME=value` entries.
/// `memoryLimit` (bytes) becomes the child's address-space limit (RLIMIT_AS). The child is sent SIGKILL when this
/// process dies (PR_SET_PDEATHSIG), so killing the parent never leaves a conversion running.
/// The caller waits for the returned pid (`waitForChild`) and can signal the whole group with `kill(-pid, …)`.
public func spawnInGroup(
    _ executable: String, argv: [String], environment: [String],
    stdout: String, stderr: String, memoryLimit: UInt64? = nil
) throws -> pid_t {
    let cArgv = argv.map { strdup($0) } + [nil]
    let cEnvironment = environment.map { strdup($0) } + [nil]
    defer { for pointer in cArgv + cEnvironment { free(pointer) } }
    var pid: pid_t = 0
    let result = optimize_spawn(executable, cArgv, cEnvironment, stdout, stderr, memoryLimit ?? 0, SIGKILL, &pid)
    guard result == 0 else { throw SpawnError(code: result) }
    return pid
}

/// The path of the executable `name` in this executable's folder (`optimize` and `optimize-job` are installed side
/// by side and find each other this way).
public func siblingExecutable(_ name: String) -> String {
    let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent(name).path
}
