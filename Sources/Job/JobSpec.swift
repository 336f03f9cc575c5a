import Crypto
import Foundation
import S3

/// Where a file lives: an S3 object or a local path.
public enum JobLocation: Sendable, Equatable, CustomStringConvertible {
    case s3(S3Location)
    case local(String)

    /// `s3://bucket/key` becomes `.s3`; anything else is a local path.
    init(parsing text: String, field: String) throws {
        if text.hasPrefix("s3://") {
            do {
                self = .s3(try S3Location(parsing: text))
            } catch let error as S3Error {
                throw JobFailure(.usage, "\(field): \(error.message)")
            }
            let key = text.dropFirst(5).split(separator: "/", maxSplits: 1).last ?? ""
            if key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." })
            {
                throw JobFailure(
                    .usage, "\(field): \(text) has a \".\" or \"..\" path segment, which S3 clients cannot address")
            }
        } else if text.contains("://") {
            throw JobFailure(.usage, "\(field): \(redactURL(text)) is neither s3://bucket/key nor a local path")
        } else {
            self = .local(text)
        }
    }

    /// The last path component (the file name).
    var fileName: String {
        switch self {
        case .s3(let location): (location.key as NSString).lastPathComponent
        case .local(let path): (path as NSString).lastPathComponent
        }
    }

    /// This prefix (ending in `/`) with `name` appended.
    func appending(_ name: String) -> JobLocation {
        switch self {
        case .s3(let location): .s3(S3Location(bucket: location.bucket, key: location.key + name))
        case .local(let path): .local(path + name)
        }
    }

    public var description: String {
        switch self {
        case .s3(let location): location.description
        case .local(let path): path
        }
    }
}

/// Everything one job needs to know, validated.
public struct JobSpec: Sendable, Equatable {
    public var input: JobLocation
    /// The output object or file (a prefix given as input was resolved with `outputName(forInput:)`).
    public var output: JobLocation
    /// Arguments passed through to `optimize convert` (`--preset NAME` first, then explicit options).
    public var convertOptions: [String]
    /// Prefix (ending in `/`) for `<output file>.metadata.json` in the VAMS shape.
    public var metadataPrefix: JobLocation?
    /// Prefix (ending in `/`) for `<output file>.png`, the preview the conversion renders (`--preview`).
    public var previewPrefix: JobLocation?
    /// Step Functions task token (`externalSfnTaskToken`).
    public var taskToken: String?
    public var heartbeatSeconds: Double
    public var webhookURL: URL?
    public var webhookSecret: String?
    /// Wall-clock limit for the conversion child, in seconds; nil = `JobSpec.defaultTimeout(inputBytes:)` of the
    /// downloaded input.
    public var timeoutSeconds: Double?
    /// Seconds between SIGTERM and SIGKILL when the child must stop.
    public var killGraceSeconds: Double
    /// Parent folder for the job's unique scratch folder.
    public var scratchDirectory: String
    /// Where the one-line JSON summary goes (ignored when not writable).
    public var terminationLogPath: String
    /// A label for logs and events (`JOB_ID`).
    public var jobID: String?
    /// Outputs larger than this many bytes go up as a multipart upload.
    public var multipartThreshold: Int64
    /// Bytes per multipart part (S3's 5 MiB minimum to 5 GiB maximum).
    public var partSize: Int64

    /// Options the job sets itself and a spec may not pass through.
    static let reservedOptions: Set<String> = ["-o", "--output", "--report", "-h", "--help", "--version"]

    /// The VAMS output name: `BASE-glb.glb` when the extension changes, `BASE.glb` when the input is a GLB.
    public static func outputName(forInput fileName: String) -> String {
        let ext = (fileName as NSString).pathExtension
        let base = ext.isEmpty ? fileName : String(fileName.dropLast(ext.count + 1))
        return ext.lowercased() == "glb" ? "\(base).glb" : "\(base)-glb.glb"
    }

    /// SHA-256 over the program version and the conversion options: what must match for a rerun to be skipped.
    public func optionsHash(version: String) -> String {
        sha256Hex(Data(([version] + convertOptions).joined(separator: "\u{0}").utf8))
    }

    /// Where the preview image goes: `<preview prefix><output file name>.png`; nil without a preview prefix.
    public var previewTarget: JobLocation? { previewPrefix?.appending(output.fileName + ".png") }
}

/// Raw fields from flags, a spec file and the environment; `resolve()` merges them (flags win, then the file,
/// then the environment) and validates.
public struct JobSpecSource: Sendable {
    public var input: String?
    public var output: String?
    public var options: [String]?
    public var preset: String?
    public var metadataPrefix: String?
    public var previewPrefix: String?
    public var taskToken: String?
    public var heartbeatSeconds: Double?
    public var webhookURL: String?
    public var timeoutSeconds: Double?
    public var killGraceSeconds: Double?
    public var scratchDirectory: String?
    public var terminationLogPath: String?
    public var jobID: String?
    public var multipartThreshold: Int64?
    public var partSize: Int64?

    public init() {}

    /// Fields from the environment: `OPTIMIZE_JOB_*`, the VAMS names, `externalSfnTaskToken`, `JOB_ID`,
    /// `OPTIMIZE_MULTIPART_THRESHOLD` and `OPTIMIZE_MULTIPART_PART_SIZE` (bytes).
    public static func environment(_ env: [String: String]) throws -> JobSpecSource {
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { env[$0].flatMap { $0.isEmpty ? nil : $0 } }.first
        }
        var source = JobSpecSource()
        source.input = value("OPTIMIZE_JOB_INPUT", "inputS3AssetFilePath")
        source.output = value("OPTIMIZE_JOB_OUTPUT", "outputS3AssetFilesPath")
        source.metadataPrefix = value("OPTIMIZE_JOB_METADATA", "outputS3AssetMetadataPath")
        source.previewPrefix = value("OPTIMIZE_JOB_PREVIEW", "outputS3AssetPreviewPath")
        source.taskToken = value("OPTIMIZE_JOB_TASK_TOKEN", "externalSfnTaskToken")
        source.webhookURL = value("OPTIMIZE_JOB_WEBHOOK")
        source.preset = value("OPTIMIZE_JOB_PRESET")
        source.jobID = value("JOB_ID")
        for (name, field) in [
            ("OPTIMIZE_MULTIPART_THRESHOLD", \JobSpecSource.multipartThreshold),
            ("OPTIMIZE_MULTIPART_PART_SIZE", \JobSpecSource.partSize)
        ] {
            guard let text = value(name) else { continue }
            guard let bytes = Int64(text) else {
                throw JobFailure(.usage, "\(name): \"\(text)\" is not a whole number of bytes")
            }
            source[keyPath: field] = bytes
        }
        if let parameters = value("inputParameters") {
            try source.applyParameters(parameters, field: "inputParameters")
        }
        return source
    }

    /// Fields from a JSON spec file: `input`, `output`, `options` (array), `preset`, `metadata`, `preview`, `taskToken`,
    /// `webhook`, `timeout`, `heartbeat`, `jobId`, or the VAMS names (`inputS3AssetFilePath`, …, `inputParameters`).
    public static func file(_ path: String) throws -> JobSpecSource {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JobFailure(.usage, "\(path): cannot read the job spec")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw JobFailure(.usage, "\(path): the job spec is not a JSON object")
        }
        let known: Set<String> = [
            "input", "output", "options", "preset", "metadata", "preview", "taskToken", "webhook",
            "timeout", "heartbeat", "jobId", "inputS3AssetFilePath", "outputS3AssetFilesPath",
            "outputS3AssetMetadataPath", "outputS3AssetPreviewPath", "inputParameters",
            "externalSfnTaskToken"
        ]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw JobFailure(.usage, "\(path): unknown field \"\(unknown)\" in the job spec")
        }
        func string(_ names: String...) throws -> String? {
            for name in names {
                guard let value = object[name] else { continue }
                guard let text = value as? String else { throw JobFailure(.usage, "\(path): \(name) must be a string") }
                return text
            }
            return nil
        }
        func number(_ name: String) throws -> Double? {
            guard let value = object[name] else { return nil }
            guard let number = value as? NSNumber, !isJSONBool(value) else {
                throw JobFailure(.usage, "\(path): \(name) must be a number")
            }
            return number.doubleValue
        }
        var source = JobSpecSource()
        source.input = try string("input", "inputS3AssetFilePath")
        source.output = try string("output", "outputS3AssetFilesPath")
        source.metadataPrefix = try string("metadata", "outputS3AssetMetadataPath")
        source.previewPrefix = try string("preview", "outputS3AssetPreviewPath")
        source.taskToken = try string("taskToken", "externalSfnTaskToken")
        source.webhookURL = try string("webhook")
        source.preset = try string("preset")
        source.jobID = try string("jobId")
        source.timeoutSeconds = try number("timeout")
        source.heartbeatSeconds = try number("heartbeat")
        if let options = object["options"] {
            guard let list = options as? [String] else {
                throw JobFailure(.usage, "\(path): options must be an array of strings")
            }
            source.options = list
        }
        if let parameters = object["inputParameters"] {
            try source.applyParameters(parameters, field: "\(path): inputParameters")
        }
        return source
    }

    /// `inputParameters`: an object (or a JSON string of one) with `preset`, `options`, or convert flags by name
    /// (`{"ratio": 0.5, "lockBorders": true}` → `--ratio 0.5 --lock-borders`).
    mutating func applyParameters(_ value: Any, field: String) throws {
        var object: [String: Any]
        if let text = value as? String {
            if text.trimmingCharacters(in: .whitespaces).isEmpty { return }
            guard let parsed = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                throw JobFailure(.usage, "\(field) is not a JSON object")
            }
            object = parsed
        } else if let parsed = value as? [String: Any] {
            object = parsed
        } else {
            throw JobFailure(.usage, "\(field) must be a JSON object")
        }
        if let preset = object.removeValue(forKey: "preset") {
            guard let name = preset as? String else { throw JobFailure(.usage, "\(field): preset must be a string") }
            self.preset = name
        }
        var arguments: [String] = []
        if let options = object.removeValue(forKey: "options") {
            guard let list = options as? [String] else {
                throw JobFailure(.usage, "\(field): options must be an array of strings")
            }
            arguments = list
        }
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            let flag =
                "--"
                + name.reduce(into: "") { out, character in
                    if character.isUppercase { out += "-" + character.lowercased() } else { out.append(character) }
                }
            if isJSONBool(value) {
                if (value as? Bool) == true { arguments.append(flag) }
            } else if let number = value as? NSNumber {
                arguments += [flag, number.stringValue]
            } else if let text = value as? String {
                arguments += [flag, text]
            } else {
                throw JobFailure(.usage, "\(field): \(name) must be a number, string or boolean")
            }
        }
        options = (options ?? []) + arguments
    }

    /// Fields set here replace those of `other`.
    public func overriding(_ other: JobSpecSource) -> JobSpecSource {
        var merged = other
        merged.input = input ?? other.input
        merged.output = output ?? other.output
        merged.options = options ?? other.options
        merged.preset = preset ?? other.preset
        merged.metadataPrefix = metadataPrefix ?? other.metadataPrefix
        merged.previewPrefix = previewPrefix ?? other.previewPrefix
        merged.taskToken = taskToken ?? other.taskToken
        merged.heartbeatSeconds = heartbeatSeconds ?? other.heartbeatSeconds
        merged.webhookURL = webhookURL ?? other.webhookURL
        merged.timeoutSeconds = timeoutSeconds ?? other.timeoutSeconds
        merged.killGraceSeconds = killGraceSeconds ?? other.killGraceSeconds
        merged.scratchDirectory = scratchDirectory ?? other.scratchDirectory
        merged.terminationLogPath = terminationLogPath ?? other.terminationLogPath
        merged.jobID = jobID ?? other.jobID
        merged.multipartThreshold = multipartThreshold ?? other.multipartThreshold
        merged.partSize = partSize ?? other.partSize
        return merged
    }

    /// Validates and resolves into a `JobSpec`; every problem is a `.usage` `JobFailure` naming the field.
    public func resolve(environment env: [String: String]) throws -> JobSpec {
        guard let inputText = input else {
            throw JobFailure(.usage, "no input: give --input (or inputS3AssetFilePath / OPTIMIZE_JOB_INPUT)")
        }
        guard let outputText = output else {
            throw JobFailure(.usage, "no output: give --output (or outputS3AssetFilesPath / OPTIMIZE_JOB_OUTPUT)")
        }
        let input = try JobLocation(parsing: inputText, field: "input")
        if inputText.hasSuffix("/") { throw JobFailure(.usage, "input: \(inputText) names a folder, not a file") }
        var output = try JobLocation(parsing: outputText, field: "output")
        if outputText.hasSuffix("/") {
            output = output.appending(JobSpec.outputName(forInput: input.fileName))
        }
        if input == output { throw JobFailure(.usage, "output: \(outputText) is the input itself") }

        // The preset is convert's own `--preset`; the caller checks the names against `optimize convert`.
        var convertOptions: [String] = []
        if let preset {
            guard !preset.isEmpty, !preset.hasPrefix("-") else {
                throw JobFailure(.usage, "preset: \"\(preset)\" is not a preset name")
            }
            convertOptions = ["--preset", preset]
        }
        for option in options ?? [] {
            let name = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? option
            if JobSpec.reservedOptions.contains(name) {
                throw JobFailure(.usage, "options: \(name) is set by the job itself and cannot be passed through")
            }
        }
        if let first = options?.first, !first.hasPrefix("-") {
            throw JobFailure(.usage, "options: \(first) is not an option (the job gives the input and output itself)")
        }
        convertOptions += options ?? []

        func prefix(_ text: String?, field: String) throws -> JobLocation? {
            guard let text else { return nil }
            guard text.hasSuffix("/") else {
                throw JobFailure(.usage, "\(field): \(text) must be a prefix ending in /")
            }
            return try JobLocation(parsing: text, field: field)
        }
        var webhook: URL?
        if let webhookURL {
            guard let url = URL(string: webhookURL), url.scheme == "http" || url.scheme == "https", url.host != nil
            else {
                throw JobFailure(.usage, "webhook: \(redactURL(webhookURL)) is not an http(s) URL")
            }
            webhook = url
        }
        let timeout = timeoutSeconds
        guard timeout.map({ $0 > 0 }) ?? true else { throw JobFailure(.usage, "timeout: must be more than 0 seconds") }
        let heartbeat = heartbeatSeconds ?? 60
        guard heartbeat > 0 else { throw JobFailure(.usage, "heartbeat: must be more than 0 seconds") }
        let grace = killGraceSeconds ?? 2
        guard grace >= 0 else { throw JobFailure(.usage, "kill grace: must not be negative") }
        if let taskToken, taskToken.isEmpty || taskToken.utf8.count > 1024 {
            throw JobFailure(.usage, "task token: must be 1 to 1024 characters")
        }
        let defaults = S3Configuration()
        let threshold = multipartThreshold ?? defaults.multipartThreshold
        guard threshold > 0 else { throw JobFailure(.usage, "multipart threshold: must be more than 0 bytes") }
        let part = partSize ?? defaults.partSize
        guard (S3Configuration.minimumPartSize...S3Configuration.maximumPartSize).contains(part) else {
            throw JobFailure(
                .usage,
                "part size: \(part) bytes is outside S3's limits (\(S3Configuration.minimumPartSize) to \(S3Configuration.maximumPartSize) bytes)"
            )
        }
        return JobSpec(
            input: input, output: output, convertOptions: convertOptions,
            metadataPrefix: try prefix(metadataPrefix, field: "metadata"),
            previewPrefix: try prefix(previewPrefix, field: "preview"),
            taskToken: taskToken, heartbeatSeconds: heartbeat, webhookURL: webhook,
            webhookSecret: env["OPTIMIZE_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 },
            timeoutSeconds: timeout, killGraceSeconds: grace,
            scratchDirectory: scratchDirectory ?? env["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp",
            terminationLogPath: terminationLogPath ?? "/dev/termination-log", jobID: jobID,
            multipartThreshold: threshold, partSize: part)
    }
}

extension JobSpec {
    /// The conversion time limit for an input of `bytes` when none is given: 120 s plus 3 s per MB (10^6 bytes),
    /// at most 3,000 s. A hang on a small upload thus ends within minutes; a 1 GB input still gets 50 minutes.
    public static func defaultTimeout(inputBytes bytes: Int64) -> Double {
        min(3000, 120 + 3 * Double(max(bytes, 0)) / 1_000_000)
    }
}

/// `scheme://host/path` with the query and fragment replaced by `?…` (they may hold tokens or signatures).
func redactURL(_ text: String) -> String {
    guard let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) else { return text }
    return text[..<cut] + "?[redacted]"
}

/// Whether a JSONSerialization value is `true`/`false` (not a number, which also bridges to Bool).
func isJSONBool(_ value: Any) -> Bool {
    let name = String(describing: type(of: value))
    return name == "Bool" || name.hasSuffix("CFBoolean")
}
