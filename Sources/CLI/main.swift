import ArgumentParser
import Foundation
import Scene

// Runs the command and maps every failure to one line on stderr and a documented exit code.
do {
    var command = try Optimize.parseAsRoot()
    try command.run()
    exit(Exit.ok)
} catch let error as ProcessingError {
    printError("optimize: \(error)")
    exit(Exit.code(for: error))
} catch let error as ExitCode {
    exit(error.rawValue)
} catch {
    let code = Optimize.exitCode(for: error)
    if code == .success {
        print(Optimize.fullMessage(for: error))
        exit(Exit.ok)
    }
    printError(Optimize.fullMessage(for: error))
    printError("usage: optimize IN -o OUT.glb [options]   (see optimize --help)")
    exit(Exit.usage)
}
