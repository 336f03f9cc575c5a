import Foundation
import TestSupport
import Testing

/// `optimize` converts without the network code; `optimize job` and `optimize s3` run in `optimize-job` beside it.
@Suite struct ExecutableSplitTests {
    @Test func theConverterLoadsNoNetworkLibraries() throws {
        let ldd = try run(URL(fileURLWithPath: "/usr/bin/ldd"), [TestPaths.optimize.path])
        #expect(ldd.status == 0, "\(ldd.summary)")
        #expect(ldd.stdout.contains("libc.so"), "\(ldd.stdout)")
        for library in ["libcurl", "libssl", "libgnutls", "libFoundationNetworking"] {
            #expect(!ldd.stdout.contains(library), "optimize loads \(library):\n\(ldd.stdout)")
        }
        let job = try run(URL(fileURLWithPath: "/usr/bin/ldd"), [siblingJobExecutable.path])
        #expect(job.stdout.contains("libcurl"), "optimize-job should carry the network code:\n\(job.stdout)")
    }

    @Test func jobAndS3CommandsRunInTheJobExecutable() throws {
        let help = try optimize(["job", "--help"])
        #expect(help.status == 0, "\(help.summary)")
        #expect(help.stdout.contains("--task-token"), "the job's own help, not the forwarder's: \(help.stdout)")
        let copy = try optimize(["s3", "cp", "a.glb", "b.glb"])
        #expect(copy.status == 2, "\(copy.summary)")
        #expect(copy.stderr.contains("s3://BUCKET/KEY"), "\(copy.stderr)")
    }

    @Test func aMissingJobExecutableIsOneLineAndExitFour() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let lone = folder.url.appendingPathComponent("optimize")
        try FileManager.default.copyItem(at: TestPaths.optimize, to: lone)
        let result = try run(lone, ["job", "--input", "in.obj", "--output", "out.glb"])
        #expect(result.status == 4, "\(result.summary)")
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("optimize-job"), "\(result.stderr)")
    }

    @Test func badConvertOptionsAreCheckedByTheConverter() throws {
        let bad = try optimize(["check-convert-options", "--", "--ratio", "7"])
        #expect(bad.status == 2 && bad.stderrLines.count == 1, "\(bad.summary)")
        #expect(bad.stderr.contains("--ratio"), "\(bad.stderr)")
        let good = try optimize(["check-convert-options", "--", "--ratio", "0.5", "--preset", "web"])
        #expect(good.status == 0 && good.stderr.isEmpty, "\(good.summary)")
    }

    private var siblingJobExecutable: URL {
        TestPaths.optimize.deletingLastPathComponent().appendingPathComponent("optimize-job")
    }
}
