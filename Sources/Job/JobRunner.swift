import Crypto
import ExitStatus
import Foundation
import S3
import Spawn

/// How a job ended: its exit code and the one-line JSON summary (also written to the termination log).
public struct JobResult: Sendable, Equatable {
    public var exitCode: Int32
    public var summary: String
}

/// Runs one job: download → convert (a child process of the optimizer binary) → upload → report, with
/// idempotency, Step Functions callbacks and heartbeats, webhook events, and clean interruption.
///
/// The runner knows nothing about meshes: it reads the child's exit code, stderr's last line and JSON report.
public final class JobRunner: @unchecked Sendable {
    public let spec: JobSpec
    public let log: JobLog
    let environment: [String: String]
    /// The optimizer binary run as `EXECUTABLE convert IN -o OUT --report R.json OPTIONS…`.
    let executable: String
    let version: String

    private let lock = NSLock()
    private var interruptRequested = false
    private var work: Task<Converted, Error>?
    private var taskGone = false
    private var currentStage = "setup"

    /// The stage being worked on, for failure reports.
    private var stage: String {
        get { lock.withLock { currentStage } }
        set { lock.withLock { currentStage = newValue } }
    }

    public init(spec: JobSpec, environment: [String: String], executable: String, version: String, log: JobLog) {
        self.spec = spec
        self.environment = environment
        self.executable = executable
        self.version = version
        self.log = log
    }

    /// Stops the work (kills the child, cancels transfers); `run` then reports "interrupted" and returns 143.
    /// Safe to call from a signal handler's queue, at any time, more than once.
    public func interrupt() {
        let task = lock.withLock {
            interruptRequested = true
            return work
        }
        task?.cancel()
    }

    private var isInterrupted: Bool { lock.withLock { interruptRequested } }

    /// What the work phase produced.
    struct Converted: Sendable {
        var skipped: Bool
        var outputBytes: Int64
        /// Key figures from the child's report (empty when skipped).
        var summary: [String: any Sendable]
    }

    // MARK: - Run

    /// Runs the job to the end and returns the exit code and summary; never throws.
    public func run() async -> JobResult {
        let start = Date()
        var startFields: [String: any Sendable] = [
            "input": spec.input.description, "output": spec.output.description,
            "options": spec.convertOptions
        ]
        if let job = spec.jobID { startFields["job"] = job }
        log.log("start", startFields)

        var s3: S3Client?
        var stepFunctions: StepFunctionsClient?
        let webhook = spec.webhookURL.map { Webhook(url: $0, secret: spec.webhookSecret) }
        var heartbeat: Task<Void, Never>?
        var outcome: Result<Converted, JobFailure>
        let scratch = (spec.scratchDirectory as NSString).appendingPathComponent("optimize-job-\(UUID().uuidString)")
        do {
            if needsS3 {
                do {
                    var configuration = try S3Configuration.fromEnvironment(environment)
                    configuration.multipartThreshold = spec.multipartThreshold
                    configuration.partSize = spec.partSize
                    s3 = S3Client(
                        configuration: configuration,
                        credentials: try defaultCredentialProvider(environment: environment))
                } catch let error as S3Error {
                    throw JobFailure(error.kind == .credentials ? .permission : .usage, error.message)
                }
            }
            if spec.taskToken != nil {
                let cache = try s3?.credentials ?? CredentialCache(provider: credentialProvider())
                stepFunctions = try StepFunctionsClient(environment: environment, credentials: cache)
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: scratch, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw JobFailure(.io, "\(spec.scratchDirectory): cannot create the scratch folder")
            }
            await notify(webhook, ["event": "started"])
            if let stepFunctions, let token = spec.taskToken { heartbeat = startHeartbeat(stepFunctions, token: token) }

            let task = Task { [s3] in try await self.work(s3: s3, scratch: scratch, webhook: webhook) }
            let interruptedEarly = lock.withLock {
                work = task
                return interruptRequested
            }
            if interruptedEarly { task.cancel() }
            do {
                let converted = try await task.value
                // Past the commit point: the output is in place; the metadata file completes the set.
                if !converted.skipped, let prefix = spec.metadataPrefix {
                    stage = "metadata"
                    try await writeMetadata(converted.summary, to: prefix, s3: s3)
                }
                outcome = .success(converted)
            } catch {
                if isInterrupted {
                    outcome = .failure(JobFailure(.interrupted, "interrupted by a signal; no output was written"))
                } else {
                    outcome = .failure(classify(error))
                }
            }
        } catch {
            outcome = .failure(classify(error))
        }
        heartbeat?.cancel()
        await heartbeat?.value
        if FileManager.default.fileExists(atPath: scratch) {
            try? FileManager.default.removeItem(atPath: scratch)
        }
        return await finish(outcome, start: start, stage: self.stage, stepFunctions: stepFunctions, webhook: webhook)
    }

    private var needsS3: Bool {
        let locations = [spec.input, spec.output] + [spec.metadataPrefix, spec.previewPrefix].compactMap { $0 }
        return locations.contains { if case .s3 = $0 { true } else { false } }
    }

    private func credentialProvider() throws -> any CredentialProvider {
        do {
            return try defaultCredentialProvider(environment: environment)
        } catch let error as S3Error {
            throw JobFailure(.permission, error.message)
        }
    }

    private func classify(_ error: Error) -> JobFailure {
        switch error {
        case let failure as JobFailure: failure
        case let error as S3Error: JobFailure.from(error, isInput: false)
        case is CancellationError: JobFailure(.interrupted, "interrupted by a signal; no output was written")
        default: JobFailure(.internal, "unexpected error: \(error)")
        }
    }

    // MARK: - Work

    private func work(s3: S3Client?, scratch: String, webhook: Webhook?) async throws -> Converted {
        // Download (or locate) the input, and decide whether the output is already up to date.
        var stageStart = Date()
        stage = "download"
        let inputName = sanitizedFileName(spec.input.fileName)
        var inputPath: String
        var inputIdentity: String?
        let optionsHash = spec.optionsHash(version: version)
        switch spec.input {
        case .s3(let location):
            let info: ObjectInfo
            do {
                info = try await s3!.head(location)
            } catch let error as S3Error {
                throw JobFailure.from(error, isInput: true)
            }
            inputIdentity = info.eTag.map(unquoted)
            if let inputIdentity,
                try await outputIsUpToDate(s3: s3, inputIdentity: inputIdentity, optionsHash: optionsHash)
            {
                return await skipUpToDate(identity: "ETag", webhook: webhook)
            }
            inputPath = (scratch as NSString).appendingPathComponent(inputName)
            let download: DownloadResult
            do {
                download = try await s3!.download(location, to: inputPath)
            } catch let error as S3Error {
                throw JobFailure.from(error, isInput: true)
            }
            if let eTag = download.eTag { inputIdentity = unquoted(eTag) }
            try await stageDone("download", since: stageStart, webhook: webhook, ["bytes": download.size])
        case .local(let path):
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw JobFailure(.badInput, "\(path): the input file does not exist or is not readable")
            }
            inputPath = path
            if case .s3 = spec.output {
                inputIdentity = try sha256OfFile(path).map { "sha256:" + $0 }
                if let inputIdentity,
                    try await outputIsUpToDate(s3: s3, inputIdentity: inputIdentity, optionsHash: optionsHash)
                {
                    return await skipUpToDate(identity: "hash", webhook: webhook)
                }
            }
        }
        try Task.checkCancellation()

        // Convert in a child process.
        stageStart = Date()
        stage = "convert"
        let glbPath = (scratch as NSString).appendingPathComponent("output.glb")
        let reportPath = (scratch as NSString).appendingPathComponent("report.json")
        let stderrPath = (scratch as NSString).appendingPathComponent("convert.stderr")
        let previewPath = (scratch as NSString).appendingPathComponent("preview.png")
        let previewArguments = spec.previewPrefix == nil ? [] : ["--preview", previewPath]
        let inputBytes =
            (try? FileManager.default.attributesOfItem(atPath: inputPath)[.size] as? NSNumber)?.int64Value ?? 0
        let timeout = spec.timeoutSeconds ?? JobSpec.defaultTimeout(inputBytes: inputBytes)
        let child = ChildProcess(
            executable: executable,
            arguments: ["convert", inputPath, "-o", glbPath, "--report", reportPath]
                + spec.convertOptions + previewArguments,
            environment: childEnvironment(),
            stdoutPath: (scratch as NSString).appendingPathComponent("convert.stdout"),
            stderrPath: stderrPath, timeout: timeout, killGrace: spec.killGraceSeconds)
        let result = try await child.run()
        let reason = lastLine(ofFile: stderrPath).map { log.redact($0) }
        if let failure = Self.failure(for: result, reason: reason, input: spec.input.description) { throw failure }
        let summary = try readReport(reportPath)
        try await stageDone(
            "convert", since: stageStart, webhook: webhook,
            ["trianglesBefore": summary["trianglesBefore"] ?? 0, "trianglesAfter": summary["trianglesAfter"] ?? 0])
        try Task.checkCancellation()

        // Upload: the level files first (`--lod-files`), then the output, the commit point.
        stageStart = Date()
        stage = "upload"
        let size = (try? FileManager.default.attributesOfItem(atPath: glbPath)[.size] as? NSNumber)?.int64Value ?? 0
        try await uploadLevelFiles(besides: glbPath, s3: s3)
        switch spec.output {
        case .s3(let location):
            var metadata = ["optimize-options-hash": optionsHash, "optimize-version": version]
            if let inputIdentity, inputIdentity.allSatisfy({ $0.isASCII && !$0.isNewline }) {
                metadata["optimize-input-etag"] = inputIdentity
            }
            let upload: UploadResult
            do {
                upload = try await s3!.upload(
                    file: glbPath, to: location, contentType: "model/gltf-binary", metadata: metadata)
            } catch let error as S3Error {
                throw JobFailure.from(error, isInput: false)
            }
            try await stageDone("upload", since: stageStart, webhook: webhook, ["bytes": size, "parts": upload.parts])
        case .local(let path):
            try placeLocally(glbPath, at: path)
            try await stageDone("upload", since: stageStart, webhook: webhook, ["bytes": size, "local": true])
        }
        if let target = spec.previewTarget { await uploadPreview(previewPath, to: target, s3: s3) }
        return Converted(skipped: false, outputBytes: size, summary: summary)
    }

    /// Uploads `output.lod1.glb`, `output.lod2.glb`, … that the child wrote with `--lod-files` beside the output,
    /// named like it (`chair-glb.glb` → `chair-glb.lod1.glb`).
    private func uploadLevelFiles(besides glbPath: String, s3: S3Client?) async throws {
        let base = (spec.output.fileName as NSString).deletingPathExtension
        for level in 1...8 {
            let path = ((glbPath as NSString).deletingPathExtension as NSString).appendingPathExtension(
                "lod\(level).glb")!
            guard FileManager.default.fileExists(atPath: path) else { return }
            let name = "\(base).lod\(level).glb"
            switch spec.output {
            case .s3(let location):
                let directory = (location.key as NSString).deletingLastPathComponent
                let key = directory.isEmpty ? name : directory + "/" + name
                do {
                    _ = try await s3!.upload(
                        file: path, to: S3Location(bucket: location.bucket, key: key),
                        contentType: "model/gltf-binary")
                } catch let error as S3Error {
                    throw JobFailure.from(error, isInput: false)
                }
            case .local(let destination):
                try placeLocally(
                    path,
                    at: ((destination as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name))
            }
            log.log("upload", ["level": level, "object": name])
        }
    }

    /// Uploads the child's preview to `spec.previewTarget`. Past the commit point: any problem (no image
    /// rendered, an upload error) is a warning line, never a failed job.
    private func uploadPreview(_ path: String, to target: JobLocation, s3: S3Client?) async {
        let start = Date()
        guard FileManager.default.fileExists(atPath: path) else {
            log.log(
                "preview", level: "warning", ["skipped": true, "reason": "the conversion rendered no preview image"])
            return
        }
        switch target {
        case .s3(let location):
            let client = s3!
            // Not cancellable: the output is already committed and this is one small upload.
            let problem = await Task.detached { () -> String? in
                do {
                    _ = try await client.upload(file: path, to: location, contentType: "image/png")
                    return nil
                } catch {
                    return "\(error)"
                }
            }.value
            if let problem {
                log.log("preview", level: "warning", ["object": target.description, "error": log.redact(problem)])
                return
            }
        case .local(let destination):
            do {
                try placeLocally(path, at: destination)
            } catch {
                log.log("preview", level: "warning", ["file": destination, "error": "\(error)"])
                return
            }
        }
        log.log("preview", ["seconds": milliseconds(Date().timeIntervalSince(start)), "object": target.description])
    }

    /// Maps the child's end to a failure (nil when it succeeded). Crashes and timeouts are the input's fault;
    /// a SIGKILL we did not send is taken as the OOM killer.
    static func failure(for outcome: ChildOutcome, reason: String?, input: String) -> JobFailure? {
        let detail = reason.map { ": \($0)" } ?? ""
        switch outcome {
        case .exited(let code):
            switch ExitStatus(rawValue: code) {
            case .success: return nil
            case .usage: return JobFailure(.usage, "the conversion options were rejected\(detail)")
            case .badInput: return JobFailure(.badInput, reason ?? "\(input): unsupported, corrupt or invalid input")
            case .io: return JobFailure(.io, reason ?? "the conversion could not read or write a local file")
            case .resourceLimit: return JobFailure(.resourceLimit, reason ?? "the conversion exceeded a resource limit")
            default: return JobFailure(.internal, "the conversion failed with exit code \(code)\(detail)")
            }
        case .signaled(SIGKILL):
            return JobFailure(.resourceLimit, "the conversion was killed by SIGKILL (out of memory?)")
        case .signaled(let signal):
            return JobFailure(.badInput, "importer crashed (\(signalName(signal))) on \(input)\(detail)")
        case .timedOut(let seconds):
            return JobFailure(.badInput, "timed out after \(formatSeconds(seconds)) s converting \(input)")
        }
    }

    /// Our environment without credentials and tokens: the child needs none of them.
    private func childEnvironment() -> [String] {
        let hidden: Set<String> = [
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "externalSfnTaskToken",
            "OPTIMIZE_JOB_TASK_TOKEN", "OPTIMIZE_WEBHOOK_SECRET", "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        ]
        var child = environment.filter { !hidden.contains($0.key) }
        // A crash should end the child at once, with its own last message on stderr, not a runtime backtrace.
        child["SWIFT_BACKTRACE"] = "enable=no"
        return child.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// The conversion is skipped: the output (and the preview, if asked for) already match this input (`identity`
    /// names how it is known: "ETag" or "hash") and these options.
    private func skipUpToDate(identity: String, webhook: Webhook?) async -> Converted {
        log.log(
            "convert",
            [
                "skipped": true, "reason": "the output is up to date (same input \(identity) and options hash)",
                "output": spec.output.description
            ])
        await notify(webhook, ["event": "stage", "stage": "convert", "skipped": true])
        return Converted(skipped: true, outputBytes: 0, summary: [:])
    }

    private func outputIsUpToDate(s3: S3Client?, inputIdentity: String, optionsHash: String) async throws -> Bool {
        guard case .s3(let location) = spec.output, let s3 else { return false }
        do {
            let info = try await s3.head(location)
            guard
                info.metadata["optimize-input-etag"] == inputIdentity
                    && info.metadata["optimize-options-hash"] == optionsHash
            else { return false }
            // A preview asked for but not there (not asked for last time, or its upload failed) is made again.
            switch spec.previewTarget {
            case .s3(let preview): _ = try await s3.head(preview)
            case .local(let path): return FileManager.default.fileExists(atPath: path)
            case nil: break
            }
            return true
        } catch let error as S3Error where error.status == 404 {
            return false
        } catch let error as S3Error {
            throw JobFailure.from(error, isInput: false)
        }
    }

    private func stageDone(_ stage: String, since start: Date, webhook: Webhook?, _ fields: [String: any Sendable])
        async throws
    {
        let seconds = milliseconds(Date().timeIntervalSince(start))
        log.log(stage, fields.merging(["seconds": seconds]) { $1 })
        await notify(webhook, ["event": "stage", "stage": stage, "seconds": seconds])
        try Task.checkCancellation()
    }

    /// Key figures from the child's `--report` JSON.
    private func readReport(_ path: String) throws -> [String: any Sendable] {
        guard let data = FileManager.default.contents(atPath: path),
            let report = try? JSONDecoder().decode(ConversionReport.self, from: data)
        else {
            throw JobFailure(.internal, "the conversion succeeded but wrote no readable report")
        }
        return [
            "format": report.format, "inputBytes": report.inputBytes, "outputBytes": report.outputBytes,
            "trianglesBefore": report.before.triangles, "trianglesAfter": report.after.triangles,
            "verticesBefore": report.before.vertices, "verticesAfter": report.after.vertices,
            "meshes": report.after.meshes, "materials": report.after.materials, "textures": report.after.textures,
            "animations": report.after.animations, "warnings": report.warnings.count,
            "peakRSSBytes": report.peakRSSBytes
        ]
    }

    private func placeLocally(_ source: String, at destination: String) throws {
        let temporary = destination + ".partial-\(getpid())"
        do {
            try FileManager.default.createDirectory(
                atPath: (destination as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            _ = try? FileManager.default.removeItem(atPath: temporary)
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            _ = try? FileManager.default.removeItem(atPath: destination)
            try FileManager.default.moveItem(atPath: temporary, toPath: destination)
        } catch {
            _ = try? FileManager.default.removeItem(atPath: temporary)
            throw JobFailure(.io, "\(destination): cannot write the output")
        }
    }

    /// `<prefix><output file>.metadata.json` in the VAMS metadata shape.
    private func writeMetadata(_ summary: [String: any Sendable], to prefix: JobLocation, s3: S3Client?) async throws {
        let start = Date()
        let name = spec.output.fileName + ".metadata.json"
        var figures: [(String, String)] = [
            ("optimize_version", version), ("source_file", spec.input.fileName),
            ("options", spec.convertOptions.joined(separator: " "))
        ]
        for key in [
            "format", "inputBytes", "outputBytes", "trianglesBefore", "trianglesAfter", "verticesBefore",
            "verticesAfter", "meshes", "materials", "textures", "animations"
        ] {
            if let value = summary[key] { figures.append((key, "\(value)")) }
        }
        let document: [String: Any] = [
            "type": "metadata", "updateType": "update",
            "metadata": figures.map { ["metadataKey": $0.0, "metadataValue": $0.1, "metadataValueType": "string"] }
        ]
        let data = Data(jsonLine(document).utf8)
        let target = prefix.appending(name)
        switch target {
        case .s3(let location):
            // Not cancellable: the output is already committed and this is one small PUT.
            let client = s3!
            let result = await Task.detached { () -> S3Error? in
                do {
                    try await client.put(data, to: location, contentType: "application/json")
                    return nil
                } catch let error as S3Error {
                    return error
                } catch {
                    return S3Error(.transient, location: location.description, "PUT failed")
                }
            }.value
            if let result { throw JobFailure.from(result, isInput: false) }
        case .local(let path):
            do {
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw JobFailure(.io, "\(path): cannot write the metadata file")
            }
        }
        log.log("metadata", ["seconds": milliseconds(Date().timeIntervalSince(start)), "object": target.description])
    }

    // MARK: - Reporting

    private func startHeartbeat(_ client: StepFunctionsClient, token: String) -> Task<Void, Never> {
        let seconds = spec.heartbeatSeconds
        return Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                if Task.isCancelled { return }
                do {
                    try await client.sendTaskHeartbeat(token: token)
                    log.log("heartbeat")
                } catch let error as StepFunctionsError where error.isFinal {
                    lock.withLock { taskGone = true }
                    log.log(
                        "heartbeat", level: "warning",
                        [
                            "error": error.code, "final": true,
                            "reason": "the task is gone; no more callbacks"
                        ])
                    return
                } catch is CancellationError {
                    return
                } catch {
                    log.log("heartbeat", level: "warning", ["error": "\(error)"])
                }
            }
        }
    }

    private func notify(_ webhook: Webhook?, _ event: [String: any Sendable]) async {
        guard let webhook else { return }
        var body: [String: Any] = event.mapValues { $0 as Any }
        body["input"] = spec.input.description
        body["output"] = spec.output.description
        body["time"] = ISO8601DateFormatter().string(from: Date())
        if let job = spec.jobID { body["job"] = job }
        let payload = body
        // Detached: events still go out while the work is being cancelled.
        if let problem = await Task.detached(operation: { await webhook.send(payload) }).value {
            log.log("webhook", level: "warning", ["event": event["event"] ?? "", "error": problem])
        }
    }

    private func finish(
        _ outcome: Result<Converted, JobFailure>, start: Date, stage: String,
        stepFunctions: StepFunctionsClient?, webhook: Webhook?
    ) async -> JobResult {
        let seconds = milliseconds(Date().timeIntervalSince(start))
        var summary: [String: Any] = [
            "input": spec.input.description, "output": spec.output.description, "seconds": seconds
        ]
        let exitCode: Int32
        switch outcome {
        case .success(let converted):
            exitCode = 0
            summary["status"] = "succeeded"
            summary["skipped"] = converted.skipped
            if !converted.skipped {
                summary["outputBytes"] = converted.outputBytes
                summary["report"] = converted.summary.mapValues { $0 as Any }
            }
        case .failure(let failure):
            exitCode = failure.exitCode
            summary["status"] = failure.kind == .interrupted ? "interrupted" : "failed"
            summary["error"] = failure.errorName
            summary["reason"] = log.redact(failure.reason)
            summary["stage"] = stage
        }
        summary["exitCode"] = Int(exitCode)
        var line = log.redact(jsonLine(summary))
        if line.utf8.count > 4096, let reason = summary["reason"] as? String {
            summary["reason"] = String(reason.prefix(max(0, reason.count - (line.utf8.count - 4096) - 16))) + "…"
            line = log.redact(jsonLine(summary))
        }
        if line.utf8.count > 4096 {
            summary.removeValue(forKey: "report")
            line = log.redact(jsonLine(summary))
        }
        writeTerminationMessage(line, to: spec.terminationLogPath)

        if let stepFunctions, let token = spec.taskToken, !lock.withLock({ taskGone }) {
            do {
                if exitCode == 0 {
                    try await stepFunctions.sendTaskSuccess(token: token, output: line)
                    log.log("callback", ["action": "SendTaskSuccess"])
                } else {
                    let name = summary["error"] as? String ?? "Optimize.Failed"
                    try await stepFunctions.sendTaskFailure(token: token, error: name, cause: line)
                    log.log("callback", ["action": "SendTaskFailure", "error": name])
                }
            } catch {
                log.log(
                    "callback", level: "warning",
                    ["error": "\(error)", "reason": "Step Functions did not accept the result"])
            }
        }
        await notify(
            webhook,
            exitCode == 0
                ? ["event": "succeeded", "summary": line]
                : ["event": "failed", "exitCode": Int(exitCode), "summary": line])
        var fields: [String: any Sendable] = ["exitCode": Int(exitCode), "seconds": seconds]
        if let reason = summary["reason"] as? String { fields["reason"] = reason }
        log.log(exitCode == 0 ? "done" : "failed", level: exitCode == 0 ? "info" : "error", fields)
        return JobResult(exitCode: exitCode, summary: line)
    }
}

/// Writes the one-line summary to the termination-message file; silently does nothing when it is not writable.
func writeTerminationMessage(_ line: String, to path: String) {
    if let handle = FileHandle(forWritingAtPath: path) {
        try? handle.truncate(atOffset: 0)
        try? handle.write(contentsOf: Data(line.utf8))
        try? handle.close()
    } else {
        _ = FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
    }
}

/// Reports a job that could not start (bad flags or spec): a log line and the termination message; returns exit 2.
public func reportSpecFailure(_ failure: JobFailure, terminationLogPath: String?, log: JobLog) -> Int32 {
    let summary: [String: Any] = [
        "status": "failed", "error": failure.errorName, "reason": log.redact(failure.reason),
        "stage": "spec", "exitCode": Int(failure.exitCode)
    ]
    writeTerminationMessage(log.redact(jsonLine(summary)), to: terminationLogPath ?? "/dev/termination-log")
    log.log("failed", level: "error", ["exitCode": Int(failure.exitCode), "reason": failure.reason])
    return failure.exitCode
}

/// A file name safe to use in the scratch folder (no separators, not empty or a dot name).
func sanitizedFileName(_ name: String) -> String {
    let cleaned = String(name.map { $0 == "/" || $0 == "\u{0}" ? "_" : $0 }.prefix(200))
    return cleaned.isEmpty || cleaned == "." || cleaned == ".." ? "input" : cleaned
}

/// Hex SHA-256 of a file's bytes, read in 1 MiB chunks; nil when it cannot be read.
func sha256OfFile(_ path: String) throws -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    var hasher = SHA256()
    do {
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
    } catch {
        throw JobFailure(.badInput, "\(path): cannot read the input file")
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

/// `2`, `0.5`: seconds without a trailing `.0`.
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}

/// The part of the conversion's `--report` JSON (Pipeline's `Report`) the job reads: only counts and sizes, so the
/// job stays independent of the scene model.
struct ConversionReport: Decodable {
    struct Counts: Decodable {
        var triangles: Int
        var vertices: Int
        var meshes: Int
        var materials: Int
        var textures: Int
        var animations: Int
    }

    var format: String
    var inputBytes: Int
    var outputBytes: Int
    var before: Counts
    var after: Counts
    var warnings: [String]
    var peakRSSBytes: Int
}

/// An ETag without the quotes S3 puts around it.
private func unquoted(_ eTag: String) -> String { eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
