import Foundation
@testable import S3

/// Test servers run by Tests/S3Tests/Support/s3_test_helper.py under <repo>/.venv; each stops when its stdin closes
/// (at the latest when the test process exits).
final class HelperProcess: @unchecked Sendable {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = repo.appendingPathComponent(".venv/bin/python").path
    static let script = repo.appendingPathComponent("Tests/S3Tests/Support/s3_test_helper.py").path
    static var motoInstalled: Bool { FileManager.default.isExecutableFile(atPath: repo.appendingPathComponent(".venv/bin/moto_server").path) }

    let process = Process()
    let stdin = Pipe()
    /// The JSON object the helper printed on its first line.
    let info: [String: Any]

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw S3Error(.permanent, "test helper \(arguments.first ?? "") did not start")
        }
        self.info = info
    }

    var port: Int { info["port"] as! Int }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit { try? stdin.fileHandleForWriting.close() }
}

/// One moto server for the whole run, with auth on and the test buckets created.
enum Moto {
    static let buckets = ["round-trip", "errors", "multipart", "web-identity", "container", "faults"]
    static let shared: Result<HelperProcess, Error> = Result { try HelperProcess(["moto"] + buckets) }

    static func server() throws -> HelperProcess { try shared.get() }

    static func credentials() throws -> AWSCredentials {
        let info = try server().info
        return AWSCredentials(accessKeyID: info["access_key"] as! String, secretAccessKey: info["secret_key"] as! String)
    }

    static func client(port: Int? = nil, credentials: (any CredentialProvider)? = nil, threshold: Int64 = 16 << 20,
                       partSize: Int64 = 8 << 20) throws -> S3Client {
        let port = try port ?? server().port
        let config = S3Configuration(endpoint: URL(string: "http://127.0.0.1:\(port)"),
                                     multipartThreshold: threshold, partSize: partSize, maxConcurrentParts: 2,
                                     retry: RetryPolicy(maxAttempts: 5, baseDelay: 0.05, maxDelay: 0.5), timeout: 20)
        return S3Client(configuration: config, credentials: try credentials ?? StaticCredentials(Self.credentials()))
    }

    /// Keys and unfinished multipart uploads in `bucket`, as boto3 (an independent client) sees them.
    static func list(_ bucket: String) throws -> (keys: [String], uploads: [String]) {
        let credentials = try credentials()
        let process = Process()
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: HelperProcess.python)
        process.arguments = [HelperProcess.script, "list", String(try server().port), credentials.accessKeyID,
                             credentials.secretAccessKey, bucket]
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let object = try JSONSerialization.jsonObject(with: data) as! [String: [String]]
        return (object["keys"]!, object["uploads"]!)
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
