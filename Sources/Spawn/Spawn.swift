import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why `spawnInGroup` could not start a program: posix_spawn's error number.
public struct SpawnError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { String(cString: strerror(code)) }
}

/// Starts `executable` with `argv` (argv[0] included; no shell) as the leader of a new process group, with stdin from
/// /dev/null, stdout and stderr into new files at the given paths, no blocked signals and every signal's default
/// disposition (whatever the parent ignores or handles). `environment` holds `NAME=value` entries.
/// The caller waits for the returned pid and can signal the whole group with `kill(-pid, …)`.
public func spawnInGroup(_ executable: String, argv: [String], environment: [String],
                         stdout: String, stderr: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

    let cArgv = argv.map { strdup($0) } + [nil]
    let cEnvironment = environment.map { strdup($0) } + [nil]
    defer { (cArgv + cEnvironment).forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, cArgv, cEnvironment)
    guard result == 0 else { throw SpawnError(code: result) }
    return pid
}
