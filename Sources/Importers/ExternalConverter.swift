import FoundationEssentials
import ImportSupport
import Scene
import Spawn

#if canImport(Glibc)
    import Glibc
#endif

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
func runChild(
    _ arguments: [String], timeout: TimeInterval, scratch: URL,
    environment: [String: String]
) throws -> ChildResult {
    guard let executable = findExecutable(arguments[0], environment: environment) else {
        throw ChildError.notFound(arguments[0])
    }
    let outURL = scratch.appendingPathComponent("stdout.txt")
    let errURL = scratch.appendingPathComponent("stderr.txt")
    let pid: pid_t
    do {
        pid = try spawnInGroup(
            executable.path, argv: arguments,
            environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            stdout: outURL.path, stderr: errURL.path)
    } catch {
        throw ProcessingError(.io, file: executable.path, "cannot start: \(error)")
    }
    let outcome: ChildOutcome
    do { outcome = try waitForChild(pid, timeout: timeout) } catch {
        throw ProcessingError(.io, file: executable.path, "cannot wait for it: \(error)")
    }
    let read = { (url: URL) in String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }
    let status: Int32?
    let signaled: Bool
    switch outcome {
    case .exited(let code): (status, signaled) = (code, false)
    case .signaled(let signal): (status, signaled) = (signal, true)
    case .timedOut: (status, signaled) = (nil, false)
    }
    return ChildResult(status: status, signaled: signaled, stdout: read(outURL), stderr: read(errURL))
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
func runConverter(
    _ plugin: PluginManifest, on url: URL, format: InputFormat, scratch: URL, timeout: TimeInterval?,
    environment: [String: String]
) throws -> (glb: URL, warnings: [String]) {
    let path = url.path
    let output = scratch.appendingPathComponent("converted.glb")
    let arguments = plugin.expand(plugin.command, input: url.path, output: output.path, environment: environment)
    let limit = timeout ?? plugin.timeout
    let result: ChildResult
    do {
        result = try runChild(arguments, timeout: limit, scratch: scratch, environment: environment)
    } catch ChildError.notFound(let name) {
        throw ProcessingError(
            .badInput, file: path,
            "unsupported format: \(format.displayName) (the \(plugin.name) "
                + "plugin's program '\(name)' is not installed; see \(plugin.location.path))")
    } catch let error as ProcessingError {
        throw ProcessingError(.badInput, file: path, "\(plugin.name) plugin cannot start: \(error.description)")
    }
    let lines = result.stderr.split(whereSeparator: \.isNewline).map(\.trimmed)
        .filter { !$0.isEmpty }
    let warnings = lines.filter { $0.hasPrefix("warning: ") }.map { String($0.dropFirst(9)) }
    guard let status = result.status else {
        throw ProcessingError(
            .badInput, file: path,
            "\(plugin.name) plugin timed out after \(Int(limit.rounded())) s and was stopped")
    }
    if status != 0 {
        var reason = lines.last ?? (result.signaled ? "crashed (signal \(status))" : "failed (exit status \(status))")
        if reason.hasPrefix("error: ") { reason.removeFirst(7) }
        throw ProcessingError(.badInput, file: path, "\(plugin.name) plugin: \(reason)")
    }
    guard fileSize(output) > 0 else {
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
        let result = try runChild(
            plugin.expand(check, environment: environment), timeout: 10, scratch: scratch,
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
