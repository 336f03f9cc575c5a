import Crypto
import Foundation
import S3
import TestSupport
import Testing

let requireTools = ProcessInfo.processInfo.environment["OPTIMIZE_TEST_REQUIRE_TOOLS"] == "1"

@Test func motoIsInstalledWhenRequired() {
    #expect(
        !requireTools || TestPaths.motoInstalled, "OPTIMIZE_TEST_REQUIRE_TOOLS=1 but .venv/bin/moto_server is missing")
}

/// Local input and output: no S3 needed.
@Suite(.serialized) struct LocalJobTests {
    @Test func localRoundTripWritesAValidGLB() throws {
        let directory = try JobTools.temporaryDirectory()
        let run = try runJob(
            ["--input", JobTools.fixture, "--output", directory + "/", "--scratch", directory],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let output = directory + "/huesitos-glb.glb"
        #expect(validate(output) == 0)
        #expect(run.summary["status"] as? String == "succeeded")
        let stages = run.events.compactMap { $0["event"] as? String }
        #expect(stages.contains("convert") && stages.contains("upload") && stages.last == "done")
        // Only the output is left: the scratch folder is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["huesitos-glb.glb"])
    }

    @Test func badConvertOptionsAreUsageErrorsBeforeAnyWork() throws {
        let run = try runJob(
            ["--input", JobTools.fixture, "--output", "/tmp/never.glb", "--", "--ratio", "7"],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 2)
        #expect((run.summary["reason"] as? String)?.contains("--ratio") == true, "\(run.terminationMessage)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.glb"))
        let preset = try runJob(
            ["--input", JobTools.fixture, "--output", "/tmp/never.glb", "--preset", "tiny"],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(preset.exitCode == 2)
        #expect((preset.summary["reason"] as? String)?.contains("tiny") == true, "\(preset.terminationMessage)")
    }

    @Test func garbageInputIsBadInputWithTheChildsReason() throws {
        let directory = try JobTools.temporaryDirectory()
        let input = directory + "/noise.obj"
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: input))
        let run = try runJob(
            ["--input", input, "--output", directory + "/out/", "--scratch", directory],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 3, "\(run.stderr)")
        #expect((run.summary["reason"] as? String)?.contains("noise.obj") == true, "\(run.terminationMessage)")
    }
}

/// Against moto on 127.0.0.1 (S3 with signature checks on; Step Functions executing state machines).
@Suite(.serialized, .enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
struct S3JobTests {
    @Test func roundTripThroughS3WithAwkwardKeysAndIdempotentRerun() async throws {
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "assets/ünï model+v=1 (2).fbx")
        try await client.upload(file: JobTools.fixture, to: input)
        let webhook = try HelperProcess(JobTools.jobHelper, ["webhook"])
        let secret = "whsec-\(UUID().uuidString)"
        var env = try Servers.environment()
        env["OPTIMIZE_WEBHOOK_SECRET"] = secret
        let arguments = [
            "--input", input.description, "--output", "s3://job-out/files/with space/",
            "--metadata", "s3://job-out/metadata/", "--webhook", "http://127.0.0.1:\(webhook.port)/hook?auth=hunter2",
            "--", "--ratio", "0.5"
        ]
        let first = try runJob(arguments, environment: env)
        #expect(first.exitCode == 0, "\(first.stderr)")
        let output = S3Location(bucket: "job-out", key: "files/with space/ünï model+v=1 (2)-glb.glb")
        #expect(first.summary["output"] as? String == output.description)

        // The GLB in S3 is valid and records what it was made from.
        let directory = try JobTools.temporaryDirectory()
        try await client.download(output, to: directory + "/out.glb")
        #expect(validate(directory + "/out.glb") == 0)
        let info = try await client.head(output)
        #expect(info.metadata["optimize-input-etag"] != nil && info.metadata["optimize-options-hash"] != nil)
        #expect(info.contentType == "model/gltf-binary")

        // VAMS metadata file.
        let metadata = S3Location(bucket: "job-out", key: "metadata/ünï model+v=1 (2)-glb.glb.metadata.json")
        try await client.download(metadata, to: directory + "/meta.json")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/meta.json")))
                as? [String: Any])
        #expect(document["type"] as? String == "metadata" && document["updateType"] as? String == "update")
        let entries = try #require(document["metadata"] as? [[String: String]])
        #expect(entries.contains { $0["metadataKey"] == "trianglesAfter" && $0["metadataValueType"] == "string" })

        // Signed webhook events: started, one per stage, succeeded.
        let events = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(string: "http://127.0.0.1:\(webhook.port)/__events")!)) as? [[String: Any]])
        let names = events.compactMap { event -> String? in
            guard let body = event["body"] as? String,
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            else { return nil }
            let mac = HMAC<SHA256>.authenticationCode(
                for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            #expect(event["signature"] as? String == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
            return [object["event"], object["stage"]].compactMap { $0 as? String }.joined(separator: ":")
        }
        #expect(names == ["started", "stage:download", "stage:convert", "stage:upload", "succeeded"], "\(names)")

        // A second run with the same input and options skips the work.
        let second = try runJob(arguments, environment: env)
        #expect(second.exitCode == 0, "\(second.stderr)")
        #expect(second.events.contains { $0["event"] as? String == "convert" && $0["skipped"] as? Bool == true })
        #expect(!second.events.contains { $0["event"] as? String == "upload" })
        #expect(try await client.head(output).eTag == info.eTag)

        // Different options: the work is redone.
        let third = try runJob(Array(arguments.dropLast(2)), environment: env)
        #expect(third.exitCode == 0 && third.events.contains { $0["event"] as? String == "upload" })

        for run in [first, second, third] { expectNoSecrets(run, env: env, extra: ["hunter2", secret]) }
    }

    @Test func missingInputIsBadInputAndDeniedAccessIsPermission() async throws {
        var env = try Servers.environment()
        let missing = try runJob(
            ["--input", "s3://job-in/no such.fbx", "--output", "s3://job-out/x/"], environment: env)
        #expect(missing.exitCode == 3, "\(missing.stderr)")
        #expect(
            (missing.summary["reason"] as? String)?.contains("the input object does not exist") == true,
            "\(missing.terminationMessage)")
        env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-\(UUID().uuidString)"
        let denied = try runJob(["--input", "s3://job-in/no such.fbx", "--output", "s3://job-out/x/"], environment: env)
        #expect(denied.exitCode == 77, "\(denied.stderr)")
        expectNoSecrets(denied, env: env, extra: [])
    }

    @Test(arguments: [
        ("fuzz__assimp_segv.ply", "importer crashed (SIGSEGV)"),
        ("fuzz__assimp_abort.ply", "importer crashed (SIGABRT)"),
        ("fuzz__assimp_hang.ply", "timed out after 4 s")
    ])
    func crashingAndHangingImportersAreIsolated(file: String, reason: String) async throws {
        guard let path = JobTools.corpusFile(file) else { return }
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "fuzz/\(file)")
        try await client.upload(file: path, to: input)
        // Through Assimp: the native PLY reader refuses these files cleanly, Assimp crashes or hangs on them.
        let run = try runJob(
            [
                "--input", input.description, "--output", "s3://job-out/fuzz/", "--timeout", "4",
                "--", "--importer", "assimp"
            ],
            environment: try Servers.environment())
        #expect(run.exitCode == 3, "\(run.stderr)")
        #expect((run.summary["reason"] as? String)?.contains(reason) == true, "\(run.terminationMessage)")
        #expect(run.summary["error"] as? String == "Optimize.BadInput")
        let output = S3Location(
            bucket: "job-out", key: "fuzz/" + file.replacingOccurrences(of: ".ply", with: "-glb.glb"))
        #expect(try await !Servers.exists(output))
    }

    @Test func sigtermMidConversionStopsCleanly() async throws {
        guard let path = JobTools.corpusFile("fuzz__assimp_hang.ply") else { return }
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "term/hang.ply")
        try await client.upload(file: path, to: input)
        let scratch = try JobTools.temporaryDirectory()
        var signalled = Date()
        let run = try runJob(
            [
                "--input", input.description, "--output", "s3://job-out/term/", "--timeout", "120",
                "--scratch", scratch, "--", "--importer", "assimp"
            ], environment: try Servers.environment()
        ) { process, stderr in
            let deadline = Date().addingTimeInterval(30)
            while !stderr().contains(#""event":"download""#), Date() < deadline { usleep(50_000) }
            usleep(500_000)
            signalled = Date()
            process.terminate()
        }
        #expect(run.exitCode == 143, "\(run.stderr)")
        #expect(Date().timeIntervalSince(signalled) < 5)
        #expect(run.summary["status"] as? String == "interrupted", "\(run.terminationMessage)")
        #expect(try await !Servers.exists(S3Location(bucket: "job-out", key: "term/hang-glb.glb")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
    }

    @Test func stepFunctionsTaskSucceedsWithOurOutput() async throws {
        let sfnPort = try Servers.sfn.get().port
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "sfn/huesitos.fbx")
        try await client.upload(file: JobTools.fixture, to: input)
        let started = try HelperProcess.call(JobTools.jobHelper, ["sfn-start", String(sfnPort), "30"])
        var env = try Servers.environment(sfn: true)
        env["externalSfnTaskToken"] = try #require(started["token"] as? String)
        let run = try runJob(["--input", input.description, "--output", "s3://job-out/sfn/"], environment: env)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let execution = try HelperProcess.call(
            JobTools.jobHelper, ["sfn-wait", String(sfnPort), started["execution"] as! String])
        #expect(execution["status"] as? String == "SUCCEEDED", "\(execution)")
        let output = try #require(
            (execution["output"] as? String).flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            })
        #expect(output["output"] as? String == "s3://job-out/sfn/huesitos-glb.glb")
        #expect((output["report"] as? [String: Any])?["trianglesAfter"] as? Int ?? 0 > 0)
        expectNoSecrets(run, env: env, extra: [env["externalSfnTaskToken"]!])
    }

    /// HeartbeatSeconds 2 with a conversion that runs 5 s: the task only survives to fail with our error if the
    /// heartbeats were accepted.
    @Test func stepFunctionsTaskFailsWithOurErrorAfterHeartbeats() async throws {
        guard let path = JobTools.corpusFile("fuzz__assimp_hang.ply") else { return }
        let sfnPort = try Servers.sfn.get().port
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "sfn/hang.ply")
        try await client.upload(file: path, to: input)
        let started = try HelperProcess.call(JobTools.jobHelper, ["sfn-start", String(sfnPort), "2"])
        var env = try Servers.environment(sfn: true)
        env["externalSfnTaskToken"] = try #require(started["token"] as? String)
        let run = try runJob(
            [
                "--input", input.description, "--output", "s3://job-out/sfn/", "--timeout", "5",
                "--heartbeat", "0.5", "--", "--importer", "assimp"
            ], environment: env)
        #expect(run.exitCode == 3, "\(run.stderr)")
        #expect(
            run.events.filter { $0["event"] as? String == "heartbeat" && $0["level"] as? String == "info" }.count >= 3)
        let execution = try HelperProcess.call(
            JobTools.jobHelper, ["sfn-wait", String(sfnPort), started["execution"] as! String])
        #expect(execution["status"] as? String == "FAILED", "\(execution)")
        #expect(execution["error"] as? String == "Optimize.BadInput", "\(execution)")
        // moto drops the cause; the job's own log shows Step Functions accepted it.
        #expect(
            run.events.contains { $0["event"] as? String == "callback" && $0["action"] as? String == "SendTaskFailure" }
        )
        #expect(
            (run.summary["reason"] as? String)?.contains("timed out after 5 s") == true, "\(run.terminationMessage)")
    }
}

/// Runs `optimize validate FILE`; returns its exit code.
func validate(_ path: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: JobTools.optimize)
    process.arguments = ["validate", path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

/// No secret key, token, signature or query string in any log line or the termination message.
func expectNoSecrets(_ run: JobRun, env: [String: String], extra: [String]) {
    let captured = run.stderr + "\n" + run.terminationMessage
    for secret in [env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]].compactMap({ $0 }) + extra {
        #expect(!captured.contains(secret), "a secret leaked into the logs")
    }
    for marker in ["Signature=", "X-Amz-Signature", "Authorization", "X-Amz-Credential"] {
        #expect(!captured.contains(marker), "\(marker) appears in the logs")
    }
}

/// Step Functions calls against the auth-on moto server, which checks SigV4 signatures (service "states"):
/// accepted with the right secret, refused with a wrong one.
@Suite(.enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
struct StepFunctionsSigningTests {
    @Test func callbacksAreSignedForStates() throws {
        let directory = try JobTools.temporaryDirectory()
        var env = try Servers.environment()
        env["AWS_ENDPOINT_URL_SFN"] = env["AWS_ENDPOINT_URL_S3"]
        env["externalSfnTaskToken"] = "task-token-\(UUID().uuidString)"
        let arguments = ["--input", JobTools.fixture, "--output", directory + "/out/", "--heartbeat", "0.1"]
        let accepted = try runJob(arguments, environment: env)
        #expect(accepted.exitCode == 0, "\(accepted.stderr)")
        #expect(
            accepted.events.contains {
                $0["event"] as? String == "callback" && $0["action"] as? String == "SendTaskSuccess"
            },
            "\(accepted.stderr)")
        env["AWS_SECRET_ACCESS_KEY"] = "wrong-\(UUID().uuidString)"
        let refused = try runJob(arguments, environment: env)
        // The conversion itself needs no AWS access; only the callback is refused.
        #expect(refused.exitCode == 0, "\(refused.stderr)")
        #expect(
            refused.events.contains {
                $0["event"] as? String == "callback" && ($0["error"] as? String)?.contains("403") == true
            },
            "\(refused.stderr)")
        for run in [accepted, refused] { expectNoSecrets(run, env: env, extra: [env["externalSfnTaskToken"]!]) }
    }

    /// TaskTimedOut is final: one heartbeat, then no more calls (not even SendTaskFailure); the job still finishes.
    @Test func taskTimedOutStopsHeartbeatsAndCallbacks() throws {
        guard let path = JobTools.corpusFile("fuzz__assimp_hang.ply") else { return }
        let answer = #"{"__type":"com.amazonaws.swf.service.model.v20120126#TaskTimedOut","message":"Task Timed Out"}"#
        let states = try HelperProcess(JobTools.jobHelper, ["webhook", "400", answer])
        let directory = try JobTools.temporaryDirectory()
        var env = try Servers.environment()
        env["AWS_ENDPOINT_URL_SFN"] = "http://127.0.0.1:\(states.port)"
        env["externalSfnTaskToken"] = "task-token-\(UUID().uuidString)"
        let run = try runJob(
            [
                "--input", path, "--output", directory + "/", "--timeout", "2", "--heartbeat", "0.2",
                "--", "--importer", "assimp"
            ],
            environment: env)
        #expect(run.exitCode == 3, "\(run.stderr)")
        let calls = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(string: "http://127.0.0.1:\(states.port)/__events")!)) as? [[String: Any]])
        #expect(calls.compactMap { $0["target"] as? String } == ["AWSStepFunctions.SendTaskHeartbeat"])
        #expect(run.events.contains { $0["event"] as? String == "heartbeat" && $0["final"] as? Bool == true })
    }
}
