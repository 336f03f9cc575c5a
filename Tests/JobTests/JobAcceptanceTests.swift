import Foundation
import S3
import TestSupport
import Testing

/// Issue 8's acceptance at the level of `optimize job`: the real binary as a child process against moto on 127.0.0.1
/// (auth on), directly or through the fault-injecting proxy of Tests/S3Tests/Support/s3_test_helper.py.
@Suite(.serialized, .enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
struct JobAcceptanceTests {
    static let fiveMiB = String(S3Configuration.minimumPartSize)

    // MARK: - Multipart

    @Test func largeOutputGoesUpInParts() async throws {
        let run = try runJob(
            [
                "--input", try BigModel.path.get(), "--output", "s3://job-out/multipart/ok/",
                "--multipart-threshold", Self.fiveMiB, "--part-size", Self.fiveMiB
            ],
            environment: try Servers.environment())
        #expect(run.exitCode == 0, "\(run.stderr)")
        let upload = try #require(run.events.first { $0["event"] as? String == "upload" })
        let parts = try #require(upload["parts"] as? Int)
        let bytes = try #require(upload["bytes"] as? Int)
        #expect(bytes > 5 << 20 && parts == (bytes + (5 << 20) - 1) / (5 << 20), "\(upload)")

        // moto's ETag of a multipart object ends in -PARTS; the object reads back whole and valid.
        let output = S3Location(bucket: "job-out", key: "multipart/ok/grid-glb.glb")
        let info = try await Servers.client().head(output)
        #expect(info.eTag?.hasSuffix("-\(parts)\"") == true, "\(info.eTag ?? "no ETag")")
        #expect(info.size == Int64(bytes))
        let directory = try JobTools.temporaryDirectory()
        try await Servers.client().download(output, to: directory + "/out.glb")
        #expect(validate(directory + "/out.glb") == 0)
        #expect(try !Servers.list("job-out").uploads.contains(output.key))
    }

    @Test func partSizeBelowS3MinimumIsAUsageError() throws {
        let arguments = ["--input", JobTools.fixture, "--output", "s3://job-out/never/"]
        let flag = try runJob(arguments + ["--part-size", "1048576"], environment: try Servers.environment())
        #expect(flag.exitCode == 2, "\(flag.stderr)")
        #expect(
            (flag.summary["reason"] as? String)?.contains("part size: 1048576 bytes") == true,
            "\(flag.terminationMessage)")
        var env = try Servers.environment()
        env["OPTIMIZE_MULTIPART_THRESHOLD"] = "16MB"
        let variable = try runJob(arguments, environment: env)
        #expect(variable.exitCode == 2, "\(variable.stderr)")
        #expect(
            (variable.summary["reason"] as? String)?.contains("OPTIMIZE_MULTIPART_THRESHOLD") == true,
            "\(variable.terminationMessage)")
    }

    /// The proxy refuses part 2 on every attempt: the job fails with a permission error, aborts the upload, and
    /// neither an object nor an open multipart upload is left (as boto3 lists them).
    @Test func refusedPartLeavesNoObjectAndNoOpenUpload() async throws {
        let proxy = try HelperProcess(
            TestPaths.s3Helper,
            [
                "proxy", String(try Servers.s3.get().port),
                #"[{"method": "PUT", "contains": "partNumber=2", "action": "deny", "times": 1000}]"#
            ])
        var env = try Servers.environment()
        env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:\(proxy.port)"
        (env["OPTIMIZE_MULTIPART_THRESHOLD"], env["OPTIMIZE_MULTIPART_PART_SIZE"]) = (Self.fiveMiB, Self.fiveMiB)
        let run = try runJob(
            ["--input", try BigModel.path.get(), "--output", "s3://job-out/multipart/denied/"], environment: env)
        #expect(run.exitCode == 77, "\(run.stderr)")
        let reason = run.summary["reason"] as? String ?? ""
        #expect(reason.contains("UploadPart 2") && reason.contains("AccessDenied"), "\(run.terminationMessage)")
        #expect(run.summary["stage"] as? String == "upload")
        #expect(try proxyLog(proxy).filter { $0 == "deny PUT" }.count == 1, "a refused part is not retried")
        try await expectNothingLeft(S3Location(bucket: "job-out", key: "multipart/denied/grid-glb.glb"))
    }

    /// SIGTERM while the parts are in flight (the proxy holds them 10 s): the job stops at once, aborts the upload,
    /// and reports "interrupted".
    @Test func sigtermDuringMultipartUploadLeavesNothing() async throws {
        let proxy = try HelperProcess(
            TestPaths.s3Helper,
            [
                "proxy", String(try Servers.s3.get().port),
                #"[{"method": "PUT", "contains": "partNumber=", "action": "delay", "seconds": 10, "times": 1000}]"#
            ])
        var env = try Servers.environment()
        env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:\(proxy.port)"
        var signalled = Date()
        let run = try runJob(
            [
                "--input", try BigModel.path.get(), "--output", "s3://job-out/multipart/term/",
                "--multipart-threshold", Self.fiveMiB, "--part-size", Self.fiveMiB
            ],
            environment: env
        ) { process, _ in
            let deadline = Date().addingTimeInterval(60)
            while try !proxyLog(proxy).contains("delay PUT"), Date() < deadline { usleep(50_000) }
            usleep(300_000)
            signalled = Date()
            process.terminate()
        }
        #expect(run.exitCode == 143, "\(run.stderr)")
        #expect(Date().timeIntervalSince(signalled) < 5, "the job did not stop promptly")
        #expect(run.summary["status"] as? String == "interrupted", "\(run.terminationMessage)")
        #expect(run.summary["stage"] as? String == "upload", "\(run.terminationMessage)")
        try await expectNothingLeft(S3Location(bucket: "job-out", key: "multipart/term/grid-glb.glb"))
    }

    // MARK: - Transient faults

    /// 503 SlowDown, connection resets and truncated bodies on the early attempts of every request of the download
    /// and the upload: the job retries through them and uploads a valid GLB.
    @Test func transientFaultsOnDownloadAndUploadAreRetried() async throws {
        let input = S3Location(bucket: "job-in", key: "faults/huesitos.fbx")
        try await Servers.client().upload(file: JobTools.fixture, to: input)
        let rules = """
            [{"method": "HEAD", "contains": "/job-in/faults/", "action": "slowdown", "times": 1},
             {"method": "HEAD", "contains": "/job-out/faults/", "action": "reset", "times": 1},
             {"method": "GET", "contains": "/job-in/faults/", "action": "reset", "times": 1},
             {"method": "GET", "contains": "/job-in/faults/", "action": "truncate", "times": 1},
             {"method": "GET", "contains": "/job-in/faults/", "action": "slowdown", "times": 1},
             {"method": "PUT", "contains": "/job-out/faults/", "action": "slowdown", "times": 2},
             {"method": "PUT", "contains": "/job-out/faults/", "action": "reset", "times": 1}]
            """
        let proxy = try HelperProcess(TestPaths.s3Helper, ["proxy", String(try Servers.s3.get().port), rules])
        var env = try Servers.environment()
        env.removeValue(forKey: "AWS_ENDPOINT_URL_S3")
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(proxy.port)"
        let run = try runJob(["--input", input.description, "--output", "s3://job-out/faults/"], environment: env)
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(
            try proxyLog(proxy).sorted() == [
                "reset GET", "reset HEAD", "reset PUT", "slowdown GET", "slowdown HEAD",
                "slowdown PUT", "slowdown PUT", "truncate GET"
            ])
        let directory = try JobTools.temporaryDirectory()
        try await Servers.client().download(
            S3Location(bucket: "job-out", key: "faults/huesitos-glb.glb"), to: directory + "/out.glb")
        #expect(validate(directory + "/out.glb") == 0)
        expectNoSecrets(run, env: env, extra: [])
    }

    // MARK: - Permanent errors

    /// A wrong secret, a missing input key and a missing output bucket are permanent failures (never retried)
    /// with the documented exit codes and a reason naming the problem.
    @Test func permanentErrorsFailFastWithDocumentedCodes() async throws {
        let input = S3Location(bucket: "job-in", key: "permanent/huesitos.fbx")
        try await Servers.client().upload(file: JobTools.fixture, to: input)
        var wrong = try Servers.environment()
        wrong["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-\(UUID().uuidString)"
        let denied = try runJob(
            ["--input", input.description, "--output", "s3://job-out/permanent/"], environment: wrong)
        #expect(denied.exitCode == 77, "\(denied.stderr)")
        #expect(denied.summary["error"] as? String == "Optimize.Permission")
        let deniedReason = denied.summary["reason"] as? String ?? ""
        #expect(
            deniedReason.contains(input.description) && deniedReason.contains("SignatureDoesNotMatch"),
            "\(denied.terminationMessage)")
        expectNoSecrets(denied, env: wrong, extra: [])

        let missing = try runJob(
            ["--input", "s3://job-in/permanent/missing.fbx", "--output", "s3://job-out/permanent/"],
            environment: try Servers.environment())
        #expect(missing.exitCode == 3, "\(missing.stderr)")
        #expect(missing.summary["error"] as? String == "Optimize.BadInput")
        #expect(
            (missing.summary["reason"] as? String)?.contains(
                "s3://job-in/permanent/missing.fbx: the input object does not exist") == true,
            "\(missing.terminationMessage)")

        // The output bucket is missing: found at the upload, after the conversion (about a second here).
        let noBucket = try runJob(
            ["--input", input.description, "--output", "s3://no-such-bucket-here/out/"],
            environment: try Servers.environment())
        #expect(noBucket.exitCode == 77, "\(noBucket.stderr)")
        #expect(
            (noBucket.summary["reason"] as? String)?.contains("NoSuchBucket") == true, "\(noBucket.terminationMessage)")
    }

    // MARK: - Credentials

    /// IRSA: the projected token file and role ARN, exchanged through STS (the proxy answers
    /// AssumeRoleWithWebIdentity with moto-issued role credentials); no keys in the environment.
    @Test func webIdentityCredentials() async throws {
        let input = S3Location(bucket: "job-in", key: "irsa/huesitos.fbx")
        try await Servers.client().upload(file: JobTools.fixture, to: input)
        let admin = try Servers.credentials()
        let sts = try HelperProcess(
            TestPaths.s3Helper, ["proxy", String(try Servers.s3.get().port), "[]"],
            environment: ["ADMIN_ACCESS_KEY": admin.accessKeyID, "ADMIN_SECRET_KEY": admin.secretAccessKey])
        let token = "projected-token-\(UUID().uuidString)"
        let tokenFile = try JobTools.temporaryDirectory() + "/token"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        var env = try credentialFreeEnvironment()
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenFile
        env["AWS_ROLE_ARN"] = try #require(Servers.s3.get().info["role_arn"] as? String)
        env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:\(sts.port)/"
        let run = try runJob(["--input", input.description, "--output", "s3://job-out/irsa/"], environment: env)
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(try proxyLog(sts) == ["web-identity " + token])
        #expect(try await Servers.exists(S3Location(bucket: "job-out", key: "irsa/huesitos-glb.glb")))
        expectNoSecrets(run, env: env, extra: [token])
    }

    /// ECS / EKS Pod Identity: a local container-credentials endpoint that wants an Authorization token.
    @Test func containerCredentials() async throws {
        let input = S3Location(bucket: "job-in", key: "pod/huesitos.fbx")
        try await Servers.client().upload(file: JobTools.fixture, to: input)
        let admin = try Servers.credentials()
        let authorization = "pod-token-\(UUID().uuidString)"
        let answer =
            #"{"AccessKeyId": "\#(admin.accessKeyID)", "SecretAccessKey": "\#(admin.secretAccessKey)", "Expiration": "2099-01-01T00:00:00Z"}"#
        let endpoint = try HelperProcess(TestPaths.s3Helper, ["creds", authorization, answer])
        var env = try credentialFreeEnvironment()
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:\(endpoint.port)/v1/credentials"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = authorization
        let run = try runJob(["--input", input.description, "--output", "s3://job-out/pod/"], environment: env)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let hits = try String(contentsOf: URL(string: "http://127.0.0.1:\(endpoint.port)/__hits")!, encoding: .utf8)
        #expect(hits == "1", "credentials are fetched once and cached")
        #expect(try await Servers.exists(S3Location(bucket: "job-out", key: "pod/huesitos-glb.glb")))
        expectNoSecrets(run, env: env, extra: [authorization, admin.secretAccessKey])
    }

    // MARK: - Helpers

    /// `Servers.environment()` without the access keys (so the credential chain goes further).
    private func credentialFreeEnvironment() throws -> [String: String] {
        var env = try Servers.environment()
        env.removeValue(forKey: "AWS_ACCESS_KEY_ID")
        env.removeValue(forKey: "AWS_SECRET_ACCESS_KEY")
        return env
    }

    /// Neither the object nor an unfinished multipart upload for it exists.
    private func expectNothingLeft(_ location: S3Location) async throws {
        #expect(try await !Servers.exists(location))
        let listing = try Servers.list(location.bucket)
        #expect(!listing.keys.contains(location.key))
        #expect(!listing.uploads.contains(location.key), "an open multipart upload was left behind")
    }
}

/// The faults a proxy applied so far (`"ACTION METHOD"`, and `"web-identity TOKEN"` for STS).
func proxyLog(_ proxy: HelperProcess) throws -> [String] {
    let data = try Data(contentsOf: URL(string: "http://127.0.0.1:\(proxy.port)/__faults")!)
    return try JSONSerialization.jsonObject(with: data) as? [String] ?? []
}

extension Servers {
    /// Keys and unfinished multipart uploads in `bucket`, as boto3 (an independent client) lists them.
    static func list(_ bucket: String) throws -> (keys: [String], uploads: [String]) {
        let credentials = try credentials()
        let object = try HelperProcess.call(
            TestPaths.s3Helper,
            [
                "list", String(try s3.get().port), credentials.accessKeyID,
                credentials.secretAccessKey, bucket
            ])
        return (object["keys"] as? [String] ?? [], object["uploads"] as? [String] ?? [])
    }
}

/// A generated OBJ whose GLB is above S3's 5 MiB minimum part size: a 420×420 quad grid with UVs
/// (177,241 vertices, 352,800 triangles → about 7.7 MB of GLB), written once per test run.
enum BigModel {
    static let path: Result<String, Error> = Result {
        let n = 420
        var text = ""
        text.reserveCapacity(16 << 20)
        for j in 0...n {
            for i in 0...n {
                // A gentle deterministic relief so that no stage can treat the grid as one flat quad.
                text += "v \(Double(i) / Double(n)) \(Double((i * 7 + j * 13) % 17) / 170) \(Double(j) / Double(n))\n"
                text += "vt \(Double(i) / Double(n)) \(Double(j) / Double(n))\n"
            }
        }
        for j in 0..<n {
            for i in 0..<n {
                let a = j * (n + 1) + i + 1
                let b = a + 1
                let c = a + n + 2
                let d = a + n + 1
                text += "f \(a)/\(a) \(d)/\(d) \(c)/\(c) \(b)/\(b)\n"
            }
        }
        let path = try JobTools.temporaryDirectory() + "/grid.obj"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
