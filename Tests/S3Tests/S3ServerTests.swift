import Foundation
import TestSupport
import Testing

@testable import S3

let requireTools = ProcessInfo.processInfo.environment["OPTIMIZE_TEST_REQUIRE_TOOLS"] == "1"

@Test func motoIsInstalledWhenRequired() {
    #expect(
        !requireTools || TestPaths.motoInstalled,
        "OPTIMIZE_TEST_REQUIRE_TOOLS=1 but .venv/bin/moto_server is missing (run Tests/Scripts/setup.sh)")
}

/// Against a real moto server on 127.0.0.1 with signature checks on.
@Suite(.enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
struct S3ServerTests {
    @Test func roundTripOfAwkwardKeys() async throws {
        let client = try Moto.client()
        let keys = ["dir/with space.glb", "a+b=c&d.glb", "ünï/模型 ✓.glb", "100%25 real%.glb", "x//y"]
        for (index, key) in keys.enumerated() {
            let location = S3Location(bucket: "round-trip", key: key)
            let data = Data("payload \(index) for \(key)".utf8)
            try await client.put(
                data, to: location, contentType: "model/gltf-binary", metadata: ["source": "test-\(index)"])
            let info = try await client.head(location)
            #expect(info.size == Int64(data.count))
            #expect(info.metadata["source"] == "test-\(index)")
            #expect(info.contentType == "model/gltf-binary")
            let path = try temporaryFile("out.bin")
            let result = try await client.download(location, to: path, maxBytes: 1 << 20)
            #expect(FileManager.default.contents(atPath: path) == data)
            #expect(result.sha256 == sha256Hex(data))
        }
        #expect(Set(try Moto.list("round-trip").keys) == Set(keys))
        let dotted = await #expect(throws: S3Error.self) {
            try await client.put(Data(), to: S3Location(bucket: "round-trip", key: "a/./b"))
        }
        #expect(dotted?.kind == .permanent)
    }

    @Test func wrongSecretFailsFastAsPermanent() async throws {
        var credentials = try Moto.credentials()
        credentials.secretAccessKey = "wrong" + credentials.secretAccessKey
        let client = try Moto.client(credentials: StaticCredentials(credentials))
        let error = await #expect(throws: S3Error.self) {
            try await client.put(Data("x".utf8), to: S3Location(bucket: "errors", key: "denied"))
        }
        #expect(error?.kind == .permanent)
        #expect(error?.status == 403)
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(!(error?.description.contains(credentials.secretAccessKey) ?? true))
        // HEAD answers carry no error code: the client asks again with a one-byte GET to name the problem.
        try await Moto.client().put(Data("x".utf8), to: S3Location(bucket: "errors", key: "exists"))
        let headError = await #expect(throws: S3Error.self) {
            try await client.head(S3Location(bucket: "errors", key: "exists"))
        }
        #expect(headError?.kind == .permanent && headError?.status == 403)
        #expect(headError?.code == "SignatureDoesNotMatch", "\(headError?.description ?? "")")
    }

    @Test func missingKeyIsPermanentAndLeavesNoFile() async throws {
        let client = try Moto.client()
        let path = try temporaryFile("missing.bin")
        let error = await #expect(throws: S3Error.self) {
            try await client.download(S3Location(bucket: "errors", key: "no/such key"), to: path)
        }
        #expect(error?.kind == .permanent && error?.code == "NoSuchKey" && error?.status == 404)
        let directory = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        let headError = await #expect(throws: S3Error.self) {
            try await client.head(S3Location(bucket: "errors", key: "no/such key"))
        }
        #expect(headError?.kind == .permanent && headError?.status == 404)
        let bucketError = await #expect(throws: S3Error.self) {
            try await client.head(S3Location(bucket: "no-such-bucket-here", key: "k"))
        }
        #expect(bucketError?.kind == .permanent)
    }

    @Test func downloadSizeCap() async throws {
        let client = try Moto.client()
        let location = S3Location(bucket: "errors", key: "big.bin")
        try await client.put(Data(repeating: 7, count: 100_000), to: location)
        let path = try temporaryFile("capped.bin")
        let error = await #expect(throws: S3Error.self) {
            try await client.download(location, to: path, maxBytes: 99_999)
        }
        #expect(error?.kind == .tooLarge)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).isEmpty)
        #expect(try await client.download(location, to: path, maxBytes: 100_000).size == 100_000)
    }

    @Test func multipartUpload() async throws {
        let client = try Moto.client(threshold: 5 << 20, partSize: 5 << 20)
        let source = try temporaryFile("in.bin", bytes: 12 << 20)
        let location = S3Location(bucket: "multipart", key: "big model.glb")
        let result = try await client.upload(
            file: source, to: location, contentType: "model/gltf-binary", metadata: ["job": "42"])
        #expect(result.parts == 3)
        let info = try await client.head(location)
        #expect(info.size == 12 << 20 && info.metadata["job"] == "42")
        #expect(info.eTag?.hasSuffix("-3\"") == true)
        let path = try temporaryFile("back.bin")
        let download = try await client.download(location, to: path)
        #expect(download.sha256 == sha256Hex(FileManager.default.contents(atPath: source)!))
    }

    @Test(arguments: ["deny", "error200"])
    func failedMultipartLeavesNothing(_ action: String) async throws {
        let moto = try Moto.server()
        // deny: the second part is refused; error200: CompleteMultipartUpload answers 200 with an <Error> body.
        let rule =
            action == "deny"
            ? #"[{"method": "PUT", "contains": "partNumber=2", "action": "deny", "times": 1}]"#
            : #"[{"method": "POST", "contains": "uploadId=", "action": "error200", "times": 1}]"#
        let proxy = try HelperProcess(TestPaths.s3Helper, ["proxy", String(moto.port), rule])
        defer { proxy.stop() }
        let client = try Moto.client(port: proxy.port, threshold: 5 << 20, partSize: 5 << 20)
        let source = try temporaryFile("in.bin", bytes: 11 << 20)
        let key = "failed-\(action).glb"
        let error = await #expect(throws: S3Error.self) {
            try await client.upload(file: source, to: S3Location(bucket: "multipart", key: key))
        }
        #expect(error?.kind == .permanent && error?.code == "AccessDenied")
        let listing = try Moto.list("multipart")
        #expect(!listing.keys.contains(key))
        #expect(!listing.uploads.contains(key))
        let headError = await #expect(throws: S3Error.self) {
            try await client.head(S3Location(bucket: "multipart", key: key))
        }
        #expect(headError?.status == 404)
    }

    @Test func webIdentityCredentials() async throws {
        let moto = try Moto.server()
        let admin = try Moto.credentials()
        let sts = try HelperProcess(
            TestPaths.s3Helper, ["proxy", String(moto.port), "[]"],
            environment: ["ADMIN_ACCESS_KEY": admin.accessKeyID, "ADMIN_SECRET_KEY": admin.secretAccessKey])
        defer { sts.stop() }
        let tokenFile = try temporaryFile("token")
        try "projected-service-account-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let client = try S3Client.fromEnvironment([
            "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": moto.info["role_arn"] as! String,
            "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:\(sts.port)/",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(moto.port)",
            "AWS_REGION": "us-east-1"
        ])
        let location = S3Location(bucket: "web-identity", key: "from irsa.glb")
        try await client.put(Data("irsa".utf8), to: location)
        #expect(try await client.head(location).size == 4)
        let credentials = try await client.credentials.current()
        #expect(
            credentials.accessKeyID.hasPrefix("ASIA") && credentials.sessionToken != nil
                && credentials.expiration != nil)
        let faults =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(string: "http://127.0.0.1:\(sts.port)/__faults")!)) as! [String]
        #expect(faults == ["web-identity projected-service-account-token"])
    }

    @Test func containerCredentials() async throws {
        let moto = try Moto.server()
        let admin = try Moto.credentials()
        let answer =
            #"{"AccessKeyId": "\#(admin.accessKeyID)", "SecretAccessKey": "\#(admin.secretAccessKey)", "Expiration": "2099-01-01T00:00:00Z"}"#
        let server = try HelperProcess(TestPaths.s3Helper, ["creds", "pod-identity-token", answer])
        defer { server.stop() }
        let tokenFile = try temporaryFile("token")
        try "pod-identity-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let client = try S3Client.fromEnvironment([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_ENDPOINT_URL": "http://127.0.0.1:\(moto.port)"
        ])
        let location = S3Location(bucket: "container", key: "pod.glb")
        try await client.put(Data("pod".utf8), to: location)
        #expect(try await client.head(location).size == 3)
        let hits = try String(contentsOf: URL(string: "http://127.0.0.1:\(server.port)/__hits")!, encoding: .utf8)
        #expect(hits == "1")  // cached: one fetch for both requests

        let wrong = try S3Client.fromEnvironment([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(moto.port)"
        ])
        let error = await #expect(throws: S3Error.self) { try await wrong.head(location) }
        #expect(error?.kind == .credentials)
    }

    @Test func transientFaultsAreRetried() async throws {
        let moto = try Moto.server()
        let rules = """
            [{"method": "PUT", "contains": "/faults/", "action": "slowdown", "times": 2},
             {"method": "PUT", "contains": "/faults/", "action": "reset", "times": 1},
             {"method": "HEAD", "contains": "/faults/", "action": "slowdown", "times": 1},
             {"method": "GET", "contains": "/faults/", "action": "reset", "times": 1},
             {"method": "GET", "contains": "/faults/", "action": "truncate", "times": 2},
             {"method": "GET", "contains": "/faults/", "action": "expired", "times": 1}]
            """
        let proxy = try HelperProcess(TestPaths.s3Helper, ["proxy", String(moto.port), rules])
        defer { proxy.stop() }
        let counting = CountingCredentials(try Moto.credentials())
        let client = try Moto.client(port: proxy.port, credentials: counting)
        let location = S3Location(bucket: "faults", key: "flaky path/model.glb")
        let data = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try await client.put(data, to: location)
        #expect(try await client.head(location).size == 50_000)
        let path = try temporaryFile("flaky.bin")
        let result = try await client.download(location, to: path)
        #expect(result.sha256 == sha256Hex(data))
        #expect(FileManager.default.contents(atPath: path) == data)
        let faults =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(string: "http://127.0.0.1:\(proxy.port)/__faults")!)) as! [String]
        #expect(faults.count == 8)
        #expect(counting.fetches == 2)  // ExpiredToken → one refresh
    }
}
