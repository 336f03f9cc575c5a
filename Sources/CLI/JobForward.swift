import ArgumentParser
import CommandSupport
import ExitStatus
import FoundationEssentials
import Scene
import Spawn

#if canImport(Glibc)
    import Glibc
#endif

// `optimize job …` and `optimize s3 …` run in `optimize-job`, installed beside this executable: it holds the network
// code (S3, Step Functions, webhooks), so a conversion never loads FoundationNetworking, libcurl and the libraries
// behind it (about 12 MB of memory at every start). The process image is replaced, so the pid, signals and exit
// code are the job's own.

/// `optimize job …`, run by `optimize-job`.
struct JobForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract:
            "Run one conversion job: fetch the input (S3 or local), convert it in a child process, upload the GLB.")

    @Argument(parsing: .captureForPassthrough, help: "See `optimize job --help`.")
    var arguments: [String] = []

    func run() throws { try replaceWithJobExecutable(["job"] + arguments) }
}

/// `optimize s3 …`, run by `optimize-job`.
struct S3Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3", abstract: "Copy files to and from S3 (the `aws s3 cp` the VAMS command line uses).")

    @Argument(parsing: .captureForPassthrough, help: "See `optimize s3 --help`.")
    var arguments: [String] = []

    func run() throws { try replaceWithJobExecutable(["s3"] + arguments) }
}

/// Executes `optimize-job ARGUMENTS` in place of this process; returns only by throwing when it cannot.
func replaceWithJobExecutable(_ arguments: [String]) throws {
    let path = siblingExecutable("optimize-job")
    let argv = ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }  // reached only when execv fails
    execv(path, argv)
    let reason = String(cString: strerror(errno))
    throw ProcessingError(.io, file: path, "cannot run the job executable: \(reason) (it is installed beside optimize)")
}

/// `optimize check-convert-options -- OPTIONS` (not for direct use): exits 0 when `optimize convert` accepts
/// OPTIONS, else prints why on one line and exits 2. `optimize job` asks it before it downloads anything.
struct CheckConvertOptions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-convert-options", shouldDisplay: false)

    @Argument(parsing: .postTerminator)
    var options: [String] = []

    func run() throws {
        do {
            _ = try Convert.parse(["input", "-o", "output.glb"] + options)
        } catch {
            printError(Convert.message(for: error))
            throw ExitCode(ExitStatus.usage.rawValue)
        }
    }
}
