import Foundation
import Scene

/// What a finished child process left behind.
struct ChildResult {
    /// nil when it was killed after the time limit.
    var status: Int32?
    var signaled: Bool
    var stdout: String
    var stderr: String
}

/// Runs `arguments` (argv, no shell) with stdin empty and stdout/stderr captured through files in `scratch`.
/// The child leads its own process group; after `timeout` seconds the group gets SIGTERM, then SIGKILL one second
/// later (so helpers it started stop too), and `status` is nil.
func runChild(_ arguments: [String], timeout: TimeInterval, scratch: URL,
              environment: [String: String]) throws -> ChildResult {
    guard let executable = findExecutable(arguments[0], environment: environment) else {
        throw ChildError.notFound(arguments[0])
    }
    let outURL = scratch.appendingPathComponent("stdout.txt"), errURL = scratch.appendingPathComponent("stderr.txt")
    let pid = try spawn(executable.path, arguments: arguments, environment: environment,
                        stdout: outURL.path, stderr: errURL.path)
    var status: Int32 = 0
    func reaped() -> Bool {
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result == -1 && errno == ECHILD)
    }
    func waitUntil(_ deadline: Date) -> Bool {
        while Date() < deadline {
            if reaped() { return true }
            usleep(10_000)
        }
        return reaped()
    }
    var timedOut = false
    if !waitUntil(Date().addingTimeInterval(timeout)) {
        timedOut = true
        kill(-pid, SIGTERM)
        if !waitUntil(Date().addingTimeInterval(1)) {
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }
    }
    kill(-pid, SIGKILL)  // helpers the converter left behind
    let signal = status & 0x7f
    let read = { (url: URL) in String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }
    return ChildResult(status: timedOut ? nil : (signal == 0 ? (status >> 8) & 0xff : signal),
                       signaled: signal != 0, stdout: read(outURL), stderr: read(errURL))
}

/// posix_spawn with stdin from /dev/null, stdout and stderr to new files, default signal handling, a new group.
private func spawn(_ executable: String, arguments: [String], environment: [String: String],
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

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else {
        throw ProcessingError(.io, file: executable, "cannot start: \(String(cString: strerror(result)))")
    }
    return pid
}

enum ChildError: Error {
    case notFound(String)
}

/// `name` itself when it contains a slash, else the first executable `PATH` entry holding it.
func findExecutable(_ name: String, environment: [String: String]) -> URL? {
    let files = FileManager.default
    if name.contains("/") { return files.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil }
    let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    for directory in directories {
        let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
        if files.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}

/// Runs a converter plugin on `url` and returns the GLB it wrote plus its "warning: " lines; the caller removes
/// `scratch`. Failures, running out of time included, are ProcessingError(.badInput) with the converter's last
/// stderr line or the time limit.
func runConverter(_ plugin: PluginManifest, on url: URL, format: InputFormat, scratch: URL, timeout: TimeInterval?,
                  environment: [String: String]) throws -> (glb: URL, warnings: [String]) {
    let path = url.path
    let output = scratch.appendingPathComponent("converted.glb")
    let arguments = plugin.expand(plugin.command, input: url.path, output: output.path, environment: environment)
    let limit = timeout ?? plugin.timeout
    let result: ChildResult
    do {
        result = try runChild(arguments, timeout: limit, scratch: scratch, environment: environment)
    } catch ChildError.notFound(let name) {
        throw ProcessingError(.badInput, file: path, "unsupported format: \(format.displayName) (the \(plugin.name) "
                              + "plugin's program '\(name)' is not installed; see \(plugin.location.path))")
    } catch let error as ProcessingError {
        throw ProcessingError(.badInput, file: path, "\(plugin.name) plugin cannot start: \(error.description)")
    }
    let lines = result.stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    let warnings = lines.filter { $0.hasPrefix("warning: ") }.map { String($0.dropFirst(9)) }
    guard let status = result.status else {
        throw ProcessingError(.badInput, file: path,
                              "\(plugin.name) plugin timed out after \(Int(limit.rounded())) s and was stopped")
    }
    if status != 0 {
        var reason = lines.last ?? (result.signaled ? "crashed (signal \(status))" : "failed (exit status \(status))")
        if reason.hasPrefix("error: ") { reason.removeFirst(7) }
        throw ProcessingError(.badInput, file: path, "\(plugin.name) plugin: \(reason)")
    }
    let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int) ?? nil
    guard let size, size > 0 else {
        throw ProcessingError(.badInput, file: path, "\(plugin.name) plugin exited without writing its output")
    }
    return (output, warnings)
}

/// Runs a plugin's `check` command (10 s limit): available when it exits 0; detail = its first output line.
func checkPlugin(_ plugin: PluginManifest, environment: [String: String]) -> (Bool, String) {
    guard let check = plugin.check else {
        let program = plugin.expand([plugin.command[0]], environment: environment)[0]
        let found = findExecutable(program, environment: environment) != nil
        return (found, found ? "" : "'\(program)' not found")
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("optimize-check-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    do {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let result = try runChild(plugin.expand(check, environment: environment), timeout: 10, scratch: scratch,
                                  environment: environment)
        let firstOut = result.stdout.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let lastErr = result.stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        if result.status == 0 { return (true, firstOut) }
        return (false, result.status == nil ? "check timed out" : (lastErr.isEmpty ? "check failed" : lastErr))
    } catch ChildError.notFound(let name) {
        return (false, "'\(name)' not found")
    } catch {
        return (false, "check cannot start: \(error)")
    }
}
