import ArgumentParser
import ExitStatus
import Foundation
import Scene

keepFreedMemoryForReuse()

// Runs the command and maps every failure to one line on stderr and a documented exit code.
do {
    var command = try Optimize.parseAsRoot()
    if let asyncCommand = command as? any AsyncParsableCommand {
        try await runAsync(asyncCommand)
    } else {
        try command.run()
    }
    exit(ExitStatus.success.rawValue)
} catch let error as ProcessingError {
    printError("optimize: \(error)")
    exit(error.kind.exitStatus.rawValue)
} catch let error as ExitCode {
    exit(error.rawValue)
} catch {
    let code = Optimize.exitCode(for: error)
    if code == .success {
        print(Optimize.fullMessage(for: error))
        exit(ExitStatus.success.rawValue)
    }
    printError(Optimize.fullMessage(for: error))
    printError("usage: optimize IN -o OUT.glb [options]   (see optimize --help)")
    exit(ExitStatus.usage.rawValue)
}

/// Runs an async command (`job`, `s3 cp`) through its async `run()`.
func runAsync<Command: AsyncParsableCommand>(_ command: Command) async throws {
    var command = command
    try await command.run()
}
