import ArgumentParser
import FoundationEssentials
import ImportSupport
import Importers
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Options for running third-party importers (Assimp, converter plugins) in a child process.
struct IsolationArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Seconds an Assimp or plugin import may take (default: 60 + 1 per MB of input, at most 1800).",
            valueName: "seconds"))
    var importTimeout: Double?

    @Option(
        help: ArgumentHelp(
            "Memory (address space) an Assimp or plugin import may use, in bytes or with a K/M/G suffix "
                + "(default: the container's memory limit, else the machine's memory).", valueName: "size"))
    var importMemory: String?

    @Flag(help: "Run Assimp and plugins inside this process (faster to start; a crash in them then ends the program).")
    var noIsolation = false

    func validate() throws {
        if let importTimeout, !(importTimeout > 0) { throw ValidationError("--import-timeout must be more than 0") }
        if let importMemory, Self.bytes(importMemory) == nil {
            throw ValidationError("--import-memory must be a size in bytes, optionally with K, M or G (e.g. 4G)")
        }
    }

    /// The isolation to use for `input`, nil with `--no-isolation`.
    func isolation(for input: String) -> ImportIsolation? {
        guard !noIsolation else { return nil }
        let size = fileSize(URL(fileURLWithPath: input))
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return ImportIsolation(
            executable: executable, arguments: [ImportChild.configuration.commandName!],
            timeLimit: importTimeout ?? ImportIsolation.defaultTimeLimit(inputBytes: size),
            memoryLimit: importMemory.flatMap(Self.bytes) ?? ImportIsolation.defaultMemoryLimit())
    }

    static func bytes(_ text: String) -> UInt64? {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = text.uppercased().last else { return nil }
        let unit = units[last]
        guard let number = Double(unit == nil ? text : String(text.dropLast())), number >= 1 else { return nil }
        let value = number * Double(unit ?? 1)
        return value < 1.8e19 ? UInt64(value) : nil
    }
}

/// `optimize import-child IN SCENE`: the isolated half of an import (not for direct use). Reads IN with Assimp or a
/// plugin and writes the scene to SCENE in the binary transfer form; failures as usual (one line, exit code).
struct ImportChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import-child", shouldDisplay: false)

    @Argument var input: String
    @Argument var sceneFile: String
    @Option var importer: ImporterChoice = .native

    /// Assimp walks node hierarchies recursively: its thread gets a stack deep enough for about 100,000 levels
    /// (512 MiB), but at most a quarter of the address-space limit, so the thread can always start.
    static var stackBytes: Int {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        return Int(min(UInt64(1 << 29), UInt64(limit.rlim_cur) / 4))  // RLIM_INFINITY is the largest value
    }

    func run() throws {
        var choice = ImportOptions()
        choice.importer = importer
        let options = choice
        let url = URL(fileURLWithPath: input)
        let work = ImportWork { try importScene(from: url, options: options) }
        // A thread of our own (pthread, not Foundation's Thread, whose start fails silently): when the limit leaves
        // no room for its stack, that is the memory limit speaking, not a hang.
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, Self.stackBytes)
        let context = Unmanaged.passRetained(work)
        var thread = pthread_t()
        let status = pthread_create(
            &thread, &attributes,
            { raw in
                Unmanaged<ImportWork>.fromOpaque(raw!).takeUnretainedValue().run()
                return nil
            }, context.toOpaque())
        guard status == 0 else {
            context.release()
            throw ProcessingError(
                .resourceLimit, file: input,
                "the memory limit leaves no room for the import thread (\(String(cString: strerror(status))))")
        }
        pthread_join(thread, nil)
        context.release()
        let result = work.result
        let bytes = try SceneCodec.encode(try result.get())
        guard FileManager.default.createFile(atPath: sceneFile, contents: Data(bytes)) else {
            throw ProcessingError(.io, file: sceneFile, "cannot write the imported scene")
        }
    }
}

/// The import an `ImportChild` runs on its own thread, and its result.
private final class ImportWork: @unchecked Sendable {
    let body: () throws -> Scene
    var result: Result<Scene, any Error> = .failure(CancellationError())

    init(_ body: @escaping () throws -> Scene) { self.body = body }

    func run() { result = Result { try body() } }
}
