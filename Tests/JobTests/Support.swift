import Foundation
import S3
import TestSupport

/// Paths, helper servers and a runner for `optimize job` child processes.
enum JobTools {
    static let repo = TestPaths.repo
    static let jobHelper = repo.appendingPathComponent("Tests/JobTests/Support/job_test_helper.py").path
    static let fixture = repo.appendingPathComponent("fixtures/models/fbx/huesitos.fbx").path
    static let corpus = repo.deletingLastPathComponent().appendingPathComponent("shared/corpus/files/ply").path

    static let optimize = TestPaths.optimize.path

    static func corpusFile(_ name: String) -> String? {
        let path = (corpus as NSString).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobtests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// One moto S3 server (auth on) and one moto Step Functions server for the whole run.
enum Servers {
    static let buckets = ["job-in", "job-out"]
    static let s3: Result<HelperProcess, Error> = Result { try HelperProcess.moto(buckets: buckets) }
    static let sfn: Result<HelperProcess, Error> = Result { try HelperProcess(JobTools.jobHelper, ["sfn-server"]) }

    static func credentials() throws -> AWSCredentials {
        let info = try s3.get().info
        return AWSCredentials(
            accessKeyID: info["access_key"] as! String, secretAccessKey: info["secret_key"] as! String)
    }

    static func client() throws -> S3Client {
        let config = S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(try s3.get().port)"),
            retry: RetryPolicy(maxAttempts: 3, baseDelay: 0.05, maxDelay: 0.5), timeout: 20)
        return S3Client(configuration: config, credentials: StaticCredentials(try credentials()))
    }

    /// The environment a job needs to reach the test servers.
    static func environment(sfn: Bool = false) throws -> [String: String] {
        let credentials = try credentials()
        var env = [
            "AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(try s3.get().port)",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        ]
        if sfn { env["AWS_ENDPOINT_URL_SFN"] = "http://127.0.0.1:\(try Servers.sfn.get().port)" }
        return env
    }

    /// Whether `location` exists (HEAD answers 200).
    static func exists(_ location: S3Location) async throws -> Bool {
        do {
            _ = try await client().head(location)
            return true
        } catch let error as S3Error where error.status == 404 {
            return false
        }
    }
}

/// A finished `optimize job` run.
struct JobRun {
    var exitCode: Int32
    var stderr: String
    var terminationMessage: String
    var seconds: Double

    /// The stderr JSON lines, parsed.
    var events: [[String: Any]] {
        stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    var summary: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(terminationMessage.utf8)) as? [String: Any]) ?? [:]
    }
}

/// Runs `optimize job ARGS` with `environment`; `whileRunning` gets the process and the stderr read so far.
func runJob(
    _ arguments: [String], environment: [String: String],
    whileRunning: ((Process, () -> String) throws -> Void)? = nil
) throws -> JobRun {
    let directory = try JobTools.temporaryDirectory()
    let termination = (directory as NSString).appendingPathComponent("termination-log")
    let stderrPath = (directory as NSString).appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: stderrPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: JobTools.optimize)
    process.arguments = ["job", "--termination-log", termination] + arguments
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle(forWritingAtPath: stderrPath)
    let readStderr = { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    try process.run()
    try whileRunning?(process, readStderr)
    let start = Date()
    process.waitUntilExit()
    return JobRun(
        exitCode: process.terminationStatus, stderr: readStderr(),
        terminationMessage: (try? String(contentsOfFile: termination, encoding: .utf8)) ?? "",
        seconds: Date().timeIntervalSince(start))
}
