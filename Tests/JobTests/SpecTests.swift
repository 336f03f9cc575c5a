import Foundation
import S3
import Testing

@testable import Job

@Test func outputNamesFollowVAMS() {
    #expect(JobSpec.outputName(forInput: "chair.fbx") == "chair-glb.glb")
    #expect(JobSpec.outputName(forInput: "chair.GLB") == "chair.glb")
    #expect(JobSpec.outputName(forInput: "a.b.obj") == "a.b-glb.glb")
    #expect(JobSpec.outputName(forInput: "noext") == "noext-glb.glb")
}

@Test func prefixOutputIsResolvedAndVAMSEnvironmentIsRead() throws {
    let env = [
        "inputS3AssetFilePath": "s3://in-bucket/assets/x/ünï chair+1.fbx",
        "outputS3AssetFilesPath": "s3://out-bucket/pipe/files/",
        "outputS3AssetMetadataPath": "s3://out-bucket/pipe/metadata/",
        "inputParameters": #"{"ratio": 0.5, "lockBorders": true, "aggressive": false, "preset": "lossless"}"#,
        "externalSfnTaskToken": "token-123456"
    ]
    let spec = try JobSpecSource.environment(env).resolve(environment: env)
    #expect(spec.input == .s3(S3Location(bucket: "in-bucket", key: "assets/x/ünï chair+1.fbx")))
    #expect(spec.output == .s3(S3Location(bucket: "out-bucket", key: "pipe/files/ünï chair+1-glb.glb")))
    #expect(spec.metadataPrefix == .s3(S3Location(bucket: "out-bucket", key: "pipe/metadata/")))
    #expect(spec.convertOptions == ["--preset", "lossless", "--lock-borders", "--ratio", "0.5"])
    #expect(spec.taskToken == "token-123456")
}

@Test func flagsOverrideTheSpecFileWhichOverridesTheEnvironment() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobspec-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("spec.json").path
    try Data(#"{"input": "s3://file-bucket/in.obj", "output": "/tmp/out/", "preset": "web", "timeout": 12}"#.utf8)
        .write(to: URL(fileURLWithPath: file))
    let env = ["OPTIMIZE_JOB_INPUT": "s3://env-bucket/in.fbx", "OPTIMIZE_JOB_OUTPUT": "s3://env-bucket/out.glb"]
    var flags = JobSpecSource()
    flags.output = "/tmp/explicit.glb"
    let spec = try flags.overriding(JobSpecSource.file(file).overriding(JobSpecSource.environment(env))).resolve(
        environment: env)
    #expect(spec.input == .s3(S3Location(bucket: "file-bucket", key: "in.obj")))
    #expect(spec.output == .local("/tmp/explicit.glb"))
    #expect(spec.convertOptions == ["--preset", "web"])
    #expect(spec.timeoutSeconds == 12)
}

@Test(arguments: [
    (["OPTIMIZE_JOB_OUTPUT": "s3://b-ok/out/"], "no input"),
    (["OPTIMIZE_JOB_INPUT": "s3://b-ok/in.fbx"], "no output"),
    (["OPTIMIZE_JOB_INPUT": "s3://B_bad/in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb"], "not a valid bucket name"),
    (["OPTIMIZE_JOB_INPUT": "s3://b-ok/a/../in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb"], "path segment"),
    (
        ["OPTIMIZE_JOB_INPUT": "https://x.example/in.fbx?X-Amz-Signature=abc", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb"],
        "neither"
    ),
    (
        ["OPTIMIZE_JOB_INPUT": "/tmp/in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb", "OPTIMIZE_JOB_PRESET": "--ratio"],
        "not a preset name"
    ),
    (
        [
            "OPTIMIZE_JOB_INPUT": "/tmp/in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb",
            "OPTIMIZE_JOB_METADATA": "s3://b-ok/meta"
        ], "ending in /"
    ),
    (
        ["OPTIMIZE_JOB_INPUT": "/tmp/in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb", "OPTIMIZE_JOB_WEBHOOK": "ftp://x/y"],
        "webhook"
    ),
    (
        ["OPTIMIZE_JOB_INPUT": "/tmp/in.fbx", "OPTIMIZE_JOB_OUTPUT": "/tmp/o.glb", "inputParameters": "[1]"],
        "inputParameters"
    )
])
func invalidSpecsFailWithUsageErrors(env: [String: String], message: String) {
    let error = #expect(throws: JobFailure.self) { try JobSpecSource.environment(env).resolve(environment: env) }
    #expect(error?.kind == .usage)
    #expect(error?.exitCode == 2)
    #expect(error?.reason.contains(message) == true, "\(error?.reason ?? "")")
    #expect(error?.reason.contains("X-Amz-Signature") != true)
}

@Test func reservedOptionsCannotBePassedThrough() {
    var source = JobSpecSource()
    (source.input, source.output, source.options) = ("/tmp/in.fbx", "/tmp/out.glb", ["--report", "/tmp/x.json"])
    let error = #expect(throws: JobFailure.self) { try source.resolve(environment: [:]) }
    #expect(error?.reason.contains("--report") == true)
}

@Test func optionsHashDependsOnOptionsAndVersion() throws {
    var source = JobSpecSource()
    (source.input, source.output) = ("/tmp/in.fbx", "/tmp/out.glb")
    let plain = try source.resolve(environment: [:])
    source.options = ["--ratio", "0.5"]
    let simplified = try source.resolve(environment: [:])
    #expect(plain.optionsHash(version: "1") != simplified.optionsHash(version: "1"))
    #expect(plain.optionsHash(version: "1") != plain.optionsHash(version: "2"))
    #expect(plain.optionsHash(version: "1") == plain.optionsHash(version: "1"))
}

@Test func childOutcomesAreClassified() {
    let segv = JobRunner.failure(for: .signaled(SIGSEGV), reason: nil, input: "s3://b/x.ply")
    #expect(segv?.kind == .badInput && segv?.reason.contains("importer crashed (SIGSEGV)") == true)
    #expect(JobRunner.failure(for: .signaled(SIGKILL), reason: nil, input: "x")?.kind == .resourceLimit)
    let hang = JobRunner.failure(for: .timedOut(seconds: 5), reason: nil, input: "x")
    #expect(hang?.kind == .badInput && hang?.reason.contains("timed out after 5 s") == true)
    #expect(
        JobRunner.failure(for: .exited(3), reason: "optimize: x.ply: not a model", input: "x")?.reason
            == "optimize: x.ply: not a model")
    #expect(JobRunner.failure(for: .exited(70), reason: nil, input: "x")?.kind == .internal)
    #expect(JobRunner.failure(for: .exited(0), reason: nil, input: "x") == nil)
}

@Test func s3ErrorsMapToDistinctExitCodes() {
    #expect(
        JobFailure.from(S3Error(.transient, status: 503, code: "SlowDown", "GET failed"), isInput: true).exitCode == 75)
    #expect(JobFailure.from(S3Error(.permanent, status: 404, code: "NoSuchKey", "GET"), isInput: true).exitCode == 3)
    #expect(
        JobFailure.from(S3Error(.permanent, status: 404, code: "NoSuchBucket", "PUT"), isInput: false).exitCode == 77)
    #expect(
        JobFailure.from(S3Error(.permanent, status: 403, code: "AccessDenied", "GET"), isInput: true).exitCode == 77)
    #expect(JobFailure.from(S3Error(.credentials, "no credentials"), isInput: true).exitCode == 77)
    #expect(JobFailure.from(S3Error(.tooLarge, "big"), isInput: true).exitCode == 5)
    #expect(
        JobFailure.from(
            S3Error(.permanent, location: "/tmp/x", "cannot write the download (disk full?)"), isInput: true
        ).exitCode == 4)
}

@Test func logsRedactSecretsAndQueryStrings() throws {
    let lines = LockedLines()
    let log = JobLog(secrets: ["wJalrXUtnFEMI/K7MDENG", "FwoGZXIvYXdzEJr//token"], write: { lines.append($0) })
    log.log(
        "download",
        [
            "url": "https://bucket.s3.amazonaws.com/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA",
            "note": "secret wJalrXUtnFEMI/K7MDENG and FwoGZXIvYXdzEJr//token"
        ])
    let line = try #require(lines.all.first)
    #expect(!line.contains("deadbeef") && !line.contains("wJalrXUtnFEMI") && !line.contains("FwoGZXIvYXdzEJr"))
    #expect(line.contains("https://bucket.s3.amazonaws.com/k?[redacted]"))
    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["event"] as? String == "download")
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

@Test func multipartSettingsComeFromFlagsThenTheEnvironment() throws {
    var flags = JobSpecSource()
    (flags.input, flags.output) = ("/tmp/in.fbx", "s3://b-ok/out.glb")
    let defaults = try flags.resolve(environment: [:])
    #expect(defaults.multipartThreshold == 16 << 20 && defaults.partSize == 8 << 20)
    let env = ["OPTIMIZE_MULTIPART_THRESHOLD": "6000000", "OPTIMIZE_MULTIPART_PART_SIZE": "7000000"]
    let fromEnvironment = try flags.overriding(JobSpecSource.environment(env)).resolve(environment: env)
    #expect(fromEnvironment.multipartThreshold == 6_000_000 && fromEnvironment.partSize == 7_000_000)
    flags.partSize = 5 << 20
    let overridden = try flags.overriding(JobSpecSource.environment(env)).resolve(environment: env)
    #expect(overridden.multipartThreshold == 6_000_000 && overridden.partSize == 5 << 20)
    flags.partSize = (5 << 20) - 1
    let error = #expect(throws: JobFailure.self) { try flags.resolve(environment: [:]) }
    #expect(error?.kind == .usage && error?.reason.contains("part size") == true)
    flags.partSize = nil
    flags.multipartThreshold = 0
    #expect(throws: JobFailure.self) { try flags.resolve(environment: [:]) }
}
