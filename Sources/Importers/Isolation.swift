import FoundationEssentials
import Scene
import Spawn

#if canImport(Glibc)
    import Glibc
#endif

/// How `importScene` runs the importers it cannot trust (Assimp, converter plugins): in a child process of this
/// program (`executable` + `arguments` + input + scene file), which reads the input and writes the scene back once in
/// `SceneCodec`'s binary form. A crash, hang or memory blow-up there becomes a `ProcessingError`, not ours.
/// Native readers run in-process.
public struct ImportIsolation: Sendable, Equatable {
    /// This program, and the subcommand that imports one file: `[executable] + arguments + [input, sceneFile]`.
    public var executable: String
    public var arguments: [String]
    /// Wall-clock seconds before the child is stopped (then: bad input, exit 3).
    public var timeLimit: Double
    /// The child's address-space limit in bytes (RLIMIT_AS); exceeding it is a resource-limit error (exit 5).
    public var memoryLimit: UInt64

    public init(executable: String, arguments: [String], timeLimit: Double, memoryLimit: UInt64) {
        (self.executable, self.arguments, self.timeLimit, self.memoryLimit) = (
            executable, arguments, timeLimit, memoryLimit
        )
    }

    /// The default time limit for an input of `bytes`: 60 s plus 1 s per MB, at most 1,800 s.
    public static func defaultTimeLimit(inputBytes bytes: Int) -> Double {
        min(1800, 60 + Double(max(bytes, 0)) / 1_000_000)
    }

    /// The default memory limit: the container's (cgroup v2 `memory.max`, else v1 `memory.limit_in_bytes`) when set,
    /// else the machine's physical memory.
    public static func defaultMemoryLimit() -> UInt64 {
        let physical = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let value = UInt64(text.trimmed), value > 0, value < physical
            {
                return value
            }
        }
        return physical
    }
}

/// The name of what reads `format` outside our own code, for messages.
private func importerName(_ format: InputFormat) -> String {
    format.assimpExtension == nil ? "\(format.displayName) plugin" : "\(format.displayName) importer"
}

/// Runs the import of `url` in a child process (see `ImportIsolation`) and returns the scene it wrote.
func importIsolated(_ url: URL, format: InputFormat, options: ImportOptions, isolation: ImportIsolation) throws -> Scene
{
    let path = url.path
    let files = FileManager.default
    let scratch = try makeScratchFolder()
    defer { try? files.removeItem(at: scratch) }
    let sceneFile = scratch.appendingPathComponent("scene.bin")
    let stderrFile = scratch.appendingPathComponent("stderr.txt")
    var arguments = isolation.arguments + [path, sceneFile.path]
    if options.importer == .assimp { arguments += ["--importer", "assimp"] }
    // The Swift runtime's crash backtracer would spend time and memory (under the child's limit) on a report
    // nobody reads: the child's crash becomes one line here.
    let environment = ["SWIFT_BACKTRACE": "enable=no"].merging(
        options.environment ?? ProcessInfo.processInfo.environment
    ) { $1 }
    .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    let outcome: ChildOutcome
    do {
        let pid = try spawnInGroup(
            isolation.executable, argv: [isolation.executable] + arguments, environment: environment,
            stdout: "/dev/null", stderr: stderrFile.path, memoryLimit: isolation.memoryLimit)
        outcome = try waitForChild(pid, timeout: isolation.timeLimit)
    } catch {
        throw ProcessingError(
            .internal, file: path, "cannot run the isolated importer \(isolation.executable): \(error)")
    }
    let stderr = String(decoding: (try? Data(contentsOf: stderrFile)) ?? Data(), as: UTF8.self)
    // Allocation failures as C++ (std::bad_alloc), the Swift runtime ("failed to allocate N bytes") and C libraries
    // report them: under RLIMIT_AS they usually end in an abort, which is the limit, not a corrupt file.
    let outOfMemory = [
        "bad_alloc", "failed to allocate", "Could not allocate memory", "Cannot allocate memory", "out of memory"
    ]
    .contains { stderr.contains($0) }
    var inherited = rlimit()
    getrlimit(RLIMIT_AS_, &inherited)  // the child's limit never exceeds an inherited hard limit
    let gib = fixed(Double(min(isolation.memoryLimit, UInt64(inherited.rlim_max))) / 1_073_741_824, places: 1)
    let memoryError = ProcessingError(
        .resourceLimit, file: path,
        "the \(importerName(format)) exceeded the memory "
            + "limit (\(gib) GiB; --import-memory changes it)")
    switch outcome {
    case .exited(0):
        guard let bytes = try? Data(contentsOf: sceneFile) else {
            throw ProcessingError(.internal, file: path, "the isolated importer wrote no scene")
        }
        return try SceneCodec.decode(Array(bytes))
    case .exited(let code):
        if outOfMemory { throw memoryError }
        // The child printed "optimize: PATH: message" as its last line.
        let line = stderr.split(whereSeparator: \.isNewline).last.map(String.init) ?? "failed (exit status \(code))"
        var message = line.hasPrefix("optimize: ") ? String(line.dropFirst(10)) : line
        if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
        let kind: ProcessingError.Kind =
            switch code {
            case 3: .badInput
            case 4: .io
            case 5: .resourceLimit
            default: .internal
            }
        throw ProcessingError(kind, file: path, message)
    case .signaled(let signal):
        if outOfMemory || signal == SIGKILL { throw memoryError }
        throw ProcessingError(
            .badInput, file: path,
            "the \(importerName(format)) crashed (\(signalName(signal))); "
                + "the file is probably corrupt")
    case .timedOut(let seconds):
        throw ProcessingError(
            .badInput, file: path,
            "the \(importerName(format)) did not finish within \(Int(seconds)) s "
                + "and was stopped (--import-timeout changes the limit)")
    }
}

private let RLIMIT_AS_ = __rlimit_resource_t(RLIMIT_AS.rawValue)

/// A private folder `optimize-import-PID-…` in the temporary directory; leftovers of processes that no longer run
/// (killed before they could clean up) are removed first.
private func makeScratchFolder() throws -> URL {
    let files = FileManager.default
    let temp = files.temporaryDirectory
    for name in (try? files.contentsOfDirectory(atPath: temp.path)) ?? [] where name.hasPrefix("optimize-import-") {
        let parts = name.split(separator: "-")
        if parts.count >= 3, let pid = pid_t(parts[2]), kill(pid, 0) != 0 && errno == ESRCH {
            try? files.removeItem(at: temp.appendingPathComponent(name))
        }
    }
    let scratch = temp.appendingPathComponent("optimize-import-\(getpid())-\(UUID().uuidString)")
    do {
        try files.createDirectory(
            at: scratch, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    } catch {
        throw ProcessingError(
            .io, file: scratch.path, "cannot create a temporary folder: \(describe(error))")
    }
    return scratch
}
