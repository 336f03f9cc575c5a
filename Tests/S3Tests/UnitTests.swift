import Foundation
import Testing

@testable import S3

struct UnitTests {
    @Test func parsesLocations() throws {
        let location = try S3Location(parsing: "s3://my-bucket/dir/a b+c=d&e ü.fbx")
        #expect(location.bucket == "my-bucket")
        #expect(location.key == "dir/a b+c=d&e ü.fbx")
        #expect(location.description == "s3://my-bucket/dir/a b+c=d&e ü.fbx")
        #expect(throws: S3Error.self) { try S3Location(parsing: "s3://my-bucket") }
        #expect(throws: S3Error.self) { try S3Location(parsing: "s3://my-bucket/") }
        #expect(throws: S3Error.self) { try S3Location(parsing: "https://my-bucket/key") }
        #expect(throws: S3Error.self) { try S3Location(parsing: "s3://My_Bucket/key") }
    }

    @Test func addressing() throws {
        let aws = S3Configuration(region: "eu-west-1")
        let virtual = aws.address(bucket: "bkt", key: "a b.glb")
        #expect(virtual.base == "https://bkt.s3.eu-west-1.amazonaws.com" && virtual.path == "/a b.glb")
        let dotted = aws.address(bucket: "my.bkt", key: "k")
        #expect(dotted.base == "https://s3.eu-west-1.amazonaws.com" && dotted.path == "/my.bkt/k")
        let env = try S3Configuration.fromEnvironment([
            "AWS_DEFAULT_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"
        ])
        #expect(env.region == "us-west-2" && env.pathStyle)
        let local = env.address(bucket: "bkt", key: "k")
        #expect(local.base == "http://127.0.0.1:9000" && local.path == "/bkt/k")
        let specific = try S3Configuration.fromEnvironment([
            "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"
        ])
        #expect(specific.region == "ap-south-1" && specific.endpoint?.host == "b")
        #expect(throws: S3Error.self) { try S3Configuration.fromEnvironment(["AWS_ENDPOINT_URL_S3": "ftp://x"]) }
    }

    @Test func partSizes() {
        let config = S3Configuration(partSize: 1)  // raised to the 5 MiB minimum
        #expect(config.partSize == 5 * 1024 * 1024)
        let huge: Int64 = 100 * 1024 * 1024 * 1024  // 100 GiB: 5 MiB parts would be 20,480
        let part = config.partSize(forObjectOfSize: huge)
        #expect(part == 20 * 1024 * 1024)
        #expect((huge + part - 1) / part <= 10_000)
    }

    @Test func backoffIsFullJitterAndCapped() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 20)
        for attempt in 0..<12 {
            let delay = policy.delay(beforeRetry: attempt)
            #expect(delay >= 0 && delay <= min(20, pow(2, Double(attempt))))
        }
    }

    @Test func classifiesErrors() {
        for (status, code) in [
            (503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (502, nil), (504, nil)
        ] as [(Int, String?)] {
            #expect(S3Error.fromResponse(status: status, code: code, location: nil, operation: "GET").isTransient)
        }
        for (status, code) in [
            (403, "AccessDenied"), (403, "SignatureDoesNotMatch"), (404, "NoSuchKey"), (404, "NoSuchBucket")
        ] {
            #expect(!S3Error.fromResponse(status: status, code: code, location: nil, operation: "GET").isTransient)
        }
        let error = S3Error.fromResponse(status: 404, code: "NoSuchKey", location: "s3://b/k", operation: "GET")
        #expect(error.description == "s3://b/k: GET: no such key (HTTP 404 NoSuchKey)")
    }

    @Test func xmlHelpers() {
        #expect(XML.all("Key", in: "<a><Key>x &amp; y</Key><Key>&#252;&#x4e2d;</Key></a>") == ["x & y", "ü中"])
        #expect(XML.decodeEntities("a & b") == "a & b")
        #expect(S3Client.isErrorDocument(Data("<?xml version=\"1.0\"?>\n<Error><Code>X</Code></Error>".utf8)))
        #expect(!S3Client.isErrorDocument(Data("<CompleteMultipartUploadResult/>".utf8)))
    }

    @Test func secretsStayOutOfText() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN")
        #expect(!"\(credentials)".contains("SECRET") && !"\(credentials)".contains("TOKEN"))
    }

    @Test func credentialChainOrder() throws {
        let env = try defaultCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "r"
        ])
        #expect(env.name == "environment")
        let web = try defaultCredentialProvider(environment: [
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "r",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2"
        ])
        #expect(web.name == "web identity")
        let container = try defaultCredentialProvider(environment: [
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds"
        ])
        #expect((container as? ContainerCredentials)?.endpoint.absoluteString == "http://169.254.170.2/v2/creds")
        #expect(throws: S3Error.self) {
            try defaultCredentialProvider(environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://evil.example.com/creds"
            ])
        }
        #expect(try defaultCredentialProvider(environment: [:]).name == "instance metadata")
    }
}
