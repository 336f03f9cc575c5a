import CommandSupport
import Foundation
import Pipeline

/// Stage progress on stderr: an aligned line per stage on a terminal, terse `key=value` lines otherwise.
struct ProgressPrinter {
    let isTerminal = isatty(STDERR_FILENO) != 0

    func stageFinished(_ event: StageEvent) {
        let seconds = String(format: "%.3f", event.seconds)
        if isTerminal {
            printError("  \(event.stage.padding(toLength: 10, withPad: " ", startingAt: 0)) \(seconds) s")
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
