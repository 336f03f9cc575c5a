import CommandSupport
import FoundationEssentials
import Pipeline
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Stage progress on stderr: an aligned line per stage on a terminal, terse `key=value` lines otherwise.
struct ProgressPrinter {
    let isTerminal = isatty(STDERR_FILENO) != 0

    func stageFinished(_ event: StageEvent) {
        let seconds = fixed(event.seconds, places: 3)
        if isTerminal {
            printError("  \(event.stage.padded(to: 10)) \(seconds) s")
        } else {
            printError("stage=\(event.stage) seconds=\(seconds)")
        }
    }

    func warn(_ message: String) {
        printError("warning: \(message)")
    }

    func summary(_ report: Report) {
        let line =
            "\(report.output): \(report.outputBytes) bytes from \(report.inputBytes) (\(report.after.triangles) triangles)"
        printError(isTerminal ? line : "done output=\(report.output) bytes=\(report.outputBytes)")
    }
}
