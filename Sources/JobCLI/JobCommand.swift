import ArgumentParser
import Dispatch
import ExitStatus
import Foundation
import Job
import Spawn

/// `optimize job`: the Kubernetes Job worker (S3 in, S3 out, with Step Functions / webhook reporting).
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract:
            "Run one conversion job: fetch the input (S3 or local), convert it in a child process, upload the GLB.",
        discussion: """
            Fields come from flags, then --spec FILE.json, then the environment (OPTIMIZE_JOB_INPUT/OUTPUT/METADATA/\
            PREVIEW/TASK_TOKEN/WEBHOOK/PRESET, the VAMS names inputS3AssetFilePath, outputS3AssetFilesPath, \
            outputS3AssetMetadataPath, outputS3AssetPreviewPath, inputParameters, externalSfnTaskToken, and JOB_ID). \
            An output ending in / is a prefix: the file is named BASE-glb.glb (BASE.glb for a GLB input). Convert \
            options go after --, e.g. `optimize job --input s3://b/in.fbx --output s3://b/out/ -- --ratio 0.5`. \
            Webhook events are signed with OPTIMIZE_WEBHOOK_SECRET (X-Optimize-Signature: sha256=HMAC). Logs are JSON \
            lines on stderr; a one-line JSON summary goes to the termination log.

            \(ExitStatus.jobTable)
            """)

    @Option(help: "The input: s3://bucket/key or a local path.")
    var input: String?

    @Option(help: "The output: s3://bucket/key, a prefix ending in /, or a local path.")
    var output: String?

    @Option(
        help:
            "A JSON job spec (input, output, options, preset, metadata, preview, taskToken, webhook, timeout, heartbeat, or the VAMS field names)."
    )
    var spec: String?

    @Option(help: "A convert preset, passed on as `--preset NAME` (see `optimize convert --help`).")
    var preset: String?

    @Option(help: "Prefix (ending in /) for <output file>.metadata.json in the VAMS metadata shape.")
    var metadata: String?

    @Option(
        help:
            "Prefix (ending in /) for <output file>.png, a preview image rendered after the conversion (a failure to render is a warning)."
    )
    var preview: String?

    @Option(help: "Step Functions task token (prefer the externalSfnTaskToken environment variable).")
    var taskToken: String?

    @Option(help: "Seconds between Step Functions heartbeats (default 60).")
    var heartbeat: Double?

    @Option(help: "URL that receives JSON events (started, stage, succeeded, failed).")
    var webhook: String?

    @Option(
        help:
            "Wall-clock limit for the conversion in seconds (default: 120 + 3 per MB of input, at most 3000); a hung importer is killed."
    )
    var timeout: Double?

    @Option(help: "Seconds between SIGTERM and SIGKILL when the conversion must stop (default 2).")
    var killGrace: Double?

    @Option(help: "Folder for the job's scratch folder (default $TMPDIR or /tmp).")
    var scratch: String?

    @Option(help: "Where the one-line JSON summary goes (default /dev/termination-log; skipped if not writable).")
    var terminationLog: String?

    @Option(help: "A label for logs and events (default $JOB_ID).")
    var jobID: String?

    @Option(
        help: ArgumentHelp(
            "Outputs larger than this go up as a multipart upload (default 16777216, or $OPTIMIZE_MULTIPART_THRESHOLD).",
            valueName: "bytes"))
    var multipartThreshold: Int64?

    @Option(
        help: ArgumentHelp(
            "Multipart part size, 5242880 (5 MiB) to 5 GiB (default 8388608, or $OPTIMIZE_MULTIPART_PART_SIZE).",
            valueName: "bytes"))
    var partSize: Int64?

    @Argument(parsing: .postTerminator, help: "Options for `optimize convert`, after --.")
    var convertOptions: [String] = []

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let converter = siblingExecutable("optimize")
        var flags = JobSpecSource()
        (flags.input, flags.output, flags.preset) = (input, output, preset)
        (flags.metadataPrefix, flags.previewPrefix, flags.taskToken) = (metadata, preview, taskToken)
        (flags.heartbeatSeconds, flags.webhookURL, flags.timeoutSeconds) = (heartbeat, webhook, timeout)
        (flags.killGraceSeconds, flags.scratchDirectory, flags.terminationLogPath) = (
            killGrace, scratch, terminationLog
        )
        (flags.jobID, flags.multipartThreshold, flags.partSize) = (jobID, multipartThreshold, partSize)
        if !convertOptions.isEmpty { flags.options = convertOptions }

        var log = JobLog(secrets: JobLog.secrets(in: env, taskToken: taskToken ?? env["externalSfnTaskToken"]))
        let jobSpec: JobSpec
        do {
            let fromEnvironment = try JobSpecSource.environment(env)
            let fromFile = try spec.map(JobSpecSource.file) ?? JobSpecSource()
            jobSpec = try flags.overriding(fromFile.overriding(fromEnvironment)).resolve(environment: env)
            log = JobLog(secrets: JobLog.secrets(in: env, taskToken: jobSpec.taskToken))
            try await checkConvertOptions(jobSpec.convertOptions, executable: converter)
        } catch let failure as JobFailure {
            throw ExitCode(reportSpecFailure(failure, terminationLogPath: terminationLog, log: log))
        }

        let runner = JobRunner(
            spec: jobSpec, environment: env, executable: converter, version: optimizeVersion, log: log)

        // SIGTERM (kubelet) and SIGINT: stop the work and report "interrupted".
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                log.log("signal", level: "warning", ["signal": signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"])
                runner.interrupt()
            }
            source.resume()
            sources.append(source)
        }
        let code = await runner.run().exitCode
        for source in sources { source.cancel() }
        if code != 0 { throw ExitCode(code) }
    }
}
