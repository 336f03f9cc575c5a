import Foundation
import S3
import TestSupport
import Testing

/// What the job writes besides the GLB: the preview image (`<prefix><output file>.png`) and level-of-detail files.
@Suite(.serialized) struct JobExtraOutputTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    @Test(.enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
    func previewLandsUnderThePreviewPrefixInS3() async throws {
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "preview/huesitos.fbx")
        try await client.upload(file: JobTools.fixture, to: input)
        let run = try runJob(
            [
                "--input", input.description, "--output", "s3://job-out/preview-files/",
                "--preview", "s3://job-out/previews/"
            ], environment: try Servers.environment())
        #expect(run.exitCode == 0, "\(run.stderr)")
        let preview = S3Location(bucket: "job-out", key: "previews/huesitos-glb.glb.png")
        let info = try await client.head(preview)
        #expect(info.contentType == "image/png")
        let directory = try JobTools.temporaryDirectory()
        try await client.download(preview, to: directory + "/p.png")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/p.png")))
        #expect(bytes.starts(with: Self.png) && bytes.count > 1000, "\(bytes.count) bytes")
        #expect(
            run.events.contains {
                $0["event"] as? String == "preview" && $0["object"] as? String == preview.description
            })
        #expect(try await Servers.exists(S3Location(bucket: "job-out", key: "preview-files/huesitos-glb.glb")))
    }

    @Test(.enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
    func aRerunAskingForAMissingPreviewConvertsAgain() async throws {
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "rerun-preview/huesitos.fbx")
        try await client.upload(file: JobTools.fixture, to: input)
        let plain = ["--input", input.description, "--output", "s3://job-out/rerun-files/"]
        let withPreview = plain + ["--preview", "s3://job-out/rerun-previews/"]
        func skipped(_ run: JobRun) -> Bool {
            run.events.contains { $0["event"] as? String == "convert" && $0["skipped"] as? Bool == true }
        }
        let first = try runJob(plain, environment: try Servers.environment())
        #expect(first.exitCode == 0, "\(first.stderr)")
        // Same input and options, but now with a preview that does not exist yet: not up to date.
        let second = try runJob(withPreview, environment: try Servers.environment())
        #expect(second.exitCode == 0 && !skipped(second), "\(second.stderr)")
        #expect(try await Servers.exists(S3Location(bucket: "job-out", key: "rerun-previews/huesitos-glb.glb.png")))
        // Everything in place: skipped.
        let third = try runJob(withPreview, environment: try Servers.environment())
        #expect(third.exitCode == 0 && skipped(third), "\(third.stderr)")
    }

    @Test func aPreviewThatCannotBeStoredIsAWarningNotAFailure() throws {
        let directory = try JobTools.temporaryDirectory()
        // A regular file where the preview prefix's folder should be: the copy fails, the job does not.
        let blocker = directory + "/blocked"
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let run = try runJob(
            [
                "--input", JobTools.fixture, "--output", directory + "/out/", "--scratch", directory,
                "--preview", blocker + "/previews/"
            ], environment: ["PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/out/huesitos-glb.glb"))
        #expect(
            run.events.contains { $0["event"] as? String == "preview" && $0["level"] as? String == "warning" },
            "\(run.stderr)")
    }

    @Test func localPreviewIsWrittenBesideTheOutput() throws {
        let directory = try JobTools.temporaryDirectory()
        let run = try runJob(
            [
                "--input", JobTools.fixture, "--output", directory + "/out/", "--scratch", directory,
                "--preview", directory + "/previews/"
            ], environment: ["PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let bytes = [UInt8](
            (try? Data(contentsOf: URL(fileURLWithPath: directory + "/previews/huesitos-glb.glb.png"))) ?? Data())
        #expect(bytes.starts(with: Self.png), "\(run.stderr)")
    }

    @Test(.enabled(if: TestPaths.motoInstalled, ".venv/bin/moto_server missing"))
    func levelFilesAreUploadedBesideTheOutput() async throws {
        let client = try Servers.client()
        let input = S3Location(bucket: "job-in", key: "lods/huesitos.fbx")
        try await client.upload(file: JobTools.fixture, to: input)
        let run = try runJob(
            [
                "--input", input.description, "--output", "s3://job-out/lod-files/",
                "--", "--lods", "0.5,0.2", "--lod-files"
            ], environment: try Servers.environment())
        #expect(run.exitCode == 0, "\(run.stderr)")
        let directory = try JobTools.temporaryDirectory()
        for name in ["huesitos-glb.glb", "huesitos-glb.lod1.glb", "huesitos-glb.lod2.glb"] {
            try await client.download(
                S3Location(bucket: "job-out", key: "lod-files/" + name), to: directory + "/" + name)
            #expect(validate(directory + "/" + name) == 0, "\(name)")
        }
        #expect(try await !Servers.exists(S3Location(bucket: "job-out", key: "lod-files/huesitos-glb.lod3.glb")))
    }
}
