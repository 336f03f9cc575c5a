import Foundation
import TestSupport

@testable import S3

/// One moto server for the whole run, with auth on and the test buckets created.
enum Moto {
    static let buckets = ["round-trip", "errors", "multipart", "web-identity", "container", "faults"]
    static let shared: Result<HelperProcess, Error> = Result { try HelperProcess.moto(buckets: buckets) }

    static func server() throws -> HelperProcess { try shared.get() }

    static func credentials() throws -> AWSCredentials {
        let info = try server().info
        return AWSCredentials(
            accessKeyID: info["access_key"] as! String, secretAccessKey: info["secret_key"] as! String)
    }

    static func client(
        port: Int? = nil, credentials: (any CredentialProvider)? = nil, threshold: Int64 = 16 << 20,
        partSize: Int64 = 8 << 20
    ) throws -> S3Client {
        let port = try port ?? server().port
        let config = S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(port)"),
            multipartThreshold: threshold, partSize: partSize, maxConcurrentParts: 2,
            retry: RetryPolicy(maxAttempts: 5, baseDelay: 0.05, maxDelay: 0.5), timeout: 20)
        return S3Client(configuration: config, credentials: try credentials ?? StaticCredentials(Self.credentials()))
    }

    /// Keys and unfinished multipart uploads in `bucket`, as boto3 (an independent client) sees them.
    static func list(_ bucket: String) throws -> (keys: [String], uploads: [String]) {
        let credentials = try credentials()
        let object = try HelperProcess.call(
            TestPaths.s3Helper,
            [
                "list", String(try server().port), credentials.accessKeyID,
                credentials.secretAccessKey, bucket
            ])
        guard let keys = object["keys"] as? [String], let uploads = object["uploads"] as? [String] else {
            throw HelperError(description: "list printed no keys/uploads")
        }
        return (keys, uploads)
    }
}

/// Counts fetches, to prove that `ExpiredToken` makes the client refresh.
final class CountingCredentials: CredentialProvider, @unchecked Sendable {
    let inner: AWSCredentials
    private let lock = NSLock()
    private var count = 0
    var name: String { "counting" }

    init(_ inner: AWSCredentials) { self.inner = inner }

    var fetches: Int { lock.withLock { count } }

    func fetch() async throws -> AWSCredentials {
        lock.withLock { count += 1 }
        return inner
    }
}

func temporaryFile(_ name: String, bytes: Int? = nil) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    if let bytes {
        var words = [UInt64](repeating: 0, count: (bytes + 7) / 8)
        for index in words.indices { words[index] = UInt64.random(in: .min ... .max) }
        let data = words.withUnsafeBytes { Data($0.prefix(bytes)) }
        _ = FileManager.default.createFile(atPath: path, contents: data)
    }
    return path
}
