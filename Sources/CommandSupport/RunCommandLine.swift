import ArgumentParser
import ExitStatus
import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Parses this process's arguments with `Root`, runs the command and exits: a `ProcessingError` becomes one line on
/// stderr and its kind's exit code, a usage error its message, `usage` and exit code 2. Shared by `optimize` and
/// `optimize-job`.
public func runCommandLine<Root: ParsableCommand>(_ root: Root.Type, usage: String) async -> Never {
    do {
        var command = try Root.parseAsRoot()
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
        let code = Root.exitCode(for: error)
        if code == .success {
            print(Root.fullMessage(for: error))
            exit(ExitStatus.success.rawValue)
        }
        printError(Root.fullMessage(for: error))
        printError(usage)
        exit(ExitStatus.usage.rawValue)
    }
}

/// Writes one line to stderr.
public func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { utf8 in
        var offset = 0
        while offset < utf8.count {
            let written = write(2, utf8.baseAddress! + offset, utf8.count - offset)
            if written < 0 && errno != EINTR { return }
            offset += max(written, 0)
        }
    }
}

/// Runs an async command (`job`, `s3 cp`) through its async `run()`.
private func runAsync<Command: AsyncParsableCommand>(_ command: Command) async throws {
    var command = command
    try await command.run()
}
