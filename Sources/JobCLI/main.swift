import ArgumentParser
import CommandSupport
import ExitStatus

/// `optimize-job`: the commands that talk to the network, `optimize job` and `optimize s3`, which `optimize` hands
/// over to this executable so that a conversion never loads the network code.
struct OptimizeJob: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize", version: optimizeVersion, subcommands: [JobCommand.self, S3Command.self])
}

await runCommandLine(OptimizeJob.self, usage: "usage: optimize job [options] or optimize s3 cp SRC DST")
