import Foundation
import TestSupport
import Testing

/// The benchmark harness in quick mode (benchmarks/run.py --quick) with the binary under test: small inputs through
/// optimize, gltfpack and `assimp export`, plus the fidelity metric's self-test. It fails when a run errors or an
/// optimize output does not validate — never on timing. The limits only catch a hang: alone it takes about a minute,
/// but beside the rest of the suite on two cores it waits for a thread and shares the CPU with every other test.
@Test(
    .enabled(if: Tools.required || (Tools.python != nil && Tools.which("gltfpack") != nil && Tools.assimp != nil)),
    .timeLimit(.minutes(40)))
func benchmarkQuickMode() throws {
    let python = try #require(Tools.python, "no Python venv (run Tests/Scripts/setup.sh)")
    let script = Tools.repo.appendingPathComponent("benchmarks/run.py").path
    let result = try run(python, [script, "--quick", "--optimize", Tools.optimize.path], timeout: 1_800)
    let tail = (result.stdout + result.stderr).split(separator: "\n").suffix(15).joined(separator: "\n")
    #expect(result.status == 0 && !result.crashed, "benchmarks/run.py --quick: \(result.summary)\n\(tail)")
}
