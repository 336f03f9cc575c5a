import ArgumentParser
import CommandSupport
import Dispatch
import Foundation
import S3
import Scene

/// `optimize s3 …`: the S3 transfers the container needs, so the image carries no AWS CLI.
struct S3Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Copy files to and from S3 (the `aws s3 cp` the VAMS command line uses).",
        subcommands: [S3Copy.self])
}

/// `optimize s3 cp SRC DST`: one file, either direction, with `aws s3 cp` naming rules.
struct S3Copy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "Copy one file: s3://BUCKET/KEY to a local path, or a local file to s3://BUCKET/KEY.",
        discussion: """
            Like `aws s3 cp`: a local destination that is a directory (or ends in /) receives the key's last \
            segment; an s3:// destination ending in / receives the source's file name. Credentials, region and \
            endpoint come from the environment (AWS_ACCESS_KEY_ID…, IRSA, container credentials, IMDS; \
            AWS_REGION; AWS_ENDPOINT_URL_S3). Downloads appear only when complete; uploads of large files go up \
            in parts and are aborted on failure. Transient S3 errors are retried.
            """)

    @Argument(help: "s3://BUCKET/KEY or a local file.")
    var source: String

    @Argument(help: "A local path or directory, or s3://BUCKET/KEY (or a prefix ending in /).")
    var destination: String

    func run() async throws {
        let transfer = try S3Transfer.plan(source: source, destination: destination)
        let client: S3Client
        do {
            client = try S3Client.fromEnvironment()
        } catch let error as S3Error {
            throw ProcessingError(.io, "S3 configuration: \(error)")
        }
        let line = try await transfer.run(with: client)
        printError(line)
    }
}

/// One `cp`, resolved to concrete source and destination names.
enum S3Transfer: Equatable {
    case download(S3Location, to: String)
    case upload(String, to: S3Location)

    /// Resolves `aws s3 cp SRC DST` naming; throws a usage error unless exactly one side is s3://.
    static func plan(
        source: String, destination: String,
        isDirectory: (String) -> Bool = S3Transfer.isDirectory
    ) throws -> S3Transfer {
        switch (source.hasPrefix("s3://"), destination.hasPrefix("s3://")) {
        case (true, false):
            let location = try parse(source)
            guard let name = location.key.split(separator: "/").last, !location.key.hasSuffix("/") else {
                throw ValidationError("\(source) names a prefix, not an object; copy one object at a time")
            }
            let local =
                destination.hasSuffix("/") || isDirectory(destination)
                ? (destination.hasSuffix("/") ? destination : destination + "/") + name
                : destination
            return .download(location, to: local)
        case (false, true):
            let name = URL(fileURLWithPath: source).lastPathComponent
            return .upload(source, to: try parse(destination.hasSuffix("/") ? destination + name : destination))
        case (true, true):
            throw ValidationError("copying from S3 to S3 is not supported; one side must be a local file")
        case (false, false):
            throw ValidationError("one of SRC and DST must be an s3://BUCKET/KEY URL")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    static func parse(_ text: String) throws -> S3Location {
        do {
            return try S3Location(parsing: text)
        } catch let error as S3Error {
            throw ValidationError(error.message)
        }
    }

    /// Content type by extension, so browsers and VAMS see GLB and JSON for what they are.
    static func contentType(for path: String) -> String {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "glb": "model/gltf-binary"
        case "gltf": "model/gltf+json"
        case "json": "application/json"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        default: "application/octet-stream"
        }
    }

    /// Performs the copy; returns the one-line summary. S3 failures become `ProcessingError`s.
    func run(with client: S3Client) async throws -> String {
        do {
            switch self {
            case let .download(location, path):
                let result = try await client.download(location, to: path)
                return "download: \(location) to \(path) (\(result.size) bytes)"
            case let .upload(path, location):
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw ProcessingError(.io, file: path, "cannot read the file to upload")
                }
                let result = try await client.upload(file: path, to: location, contentType: Self.contentType(for: path))
                return "upload: \(path) to \(location)" + (result.parts > 0 ? " (\(result.parts) parts)" : "")
            }
        } catch let error as S3Error {
            throw ProcessingError(error.kind == .tooLarge ? .resourceLimit : .io, "\(error)")
        }
    }
}
