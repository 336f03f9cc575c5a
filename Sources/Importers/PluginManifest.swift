import FoundationEssentials
import Scene

/// An external converter plugin, declared by a `plugin.json` file in a plugin directory:
///
/// ```json
/// { "name": "USD", "version": "1.0.0", "formats": ["usd", "usdz"],
///   "command": ["{plugin}/run.sh", "{input}", "{output}"],
///   "check": ["{plugin}/run.sh", "--check"],
///   "output": "glb", "timeoutSeconds": 900 }
/// ```
///
/// `formats` are `InputFormat` raw values. `command` is an argv array run without a shell; placeholders inside any
/// argument: `{input}` (the model), `{output}` (the file the converter must write), `{plugin}` (the manifest's
/// folder), `{env:NAME=default}` (an environment variable, or the default when unset or empty). The first argument is
/// an executable path or a name looked up in `PATH`. The converter exits 0 after writing `output` (only "glb" is
/// supported: a GLB read back through the glTF importer); on failure it exits non-zero with a one-line reason as its
/// last stderr line; stderr lines starting with "warning: " become scene warnings. The optional `check` command
/// tells whether the plugin can run here (exit 0; its first stdout line is shown by `optimize formats`).
public struct PluginManifest: Sendable, Equatable {
    public var name: String
    public var version: String
    public var formats: [InputFormat]
    public var command: [String]
    public var check: [String]?
    /// Seconds the converter may run before it is killed.
    public var timeout: TimeInterval
    /// The manifest file this was read from.
    public var location: URL

    /// The folder holding the manifest (the `{plugin}` placeholder).
    public var directory: URL { location.deletingLastPathComponent() }

    /// Reads and checks a manifest; throws ProcessingError(.badInput) naming the manifest when it is invalid.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ProcessingError(.io, file: path, "cannot read plugin manifest: \(describe(error))")
        }
        let raw: RawManifest
        do { raw = try JSONDecoder().decode(RawManifest.self, from: data) } catch {
            throw ProcessingError(.badInput, file: path, "invalid plugin manifest: \(describe(error))")
        }
        var formats: [InputFormat] = []
        for name in raw.formats {
            guard let format = InputFormat(rawValue: name.lowercased()) else {
                throw ProcessingError(.badInput, file: path, "invalid plugin manifest: unknown format '\(name)'")
            }
            formats.append(format)
        }
        guard !raw.name.isEmpty, !formats.isEmpty else {
            throw ProcessingError(
                .badInput, file: path, "invalid plugin manifest: needs a name and at least one format")
        }
        guard raw.command.count >= 1, raw.command.contains(where: { $0.contains("{input}") }),
            raw.command.contains(where: { $0.contains("{output}") })
        else {
            throw ProcessingError(
                .badInput, file: path,
                "invalid plugin manifest: command must be an argv array using {input} and {output}")
        }
        guard (raw.output ?? "glb") == "glb" else {
            throw ProcessingError(.badInput, file: path, "invalid plugin manifest: output must be \"glb\"")
        }
        let timeout = raw.timeoutSeconds ?? 600
        guard timeout > 0 else {
            throw ProcessingError(.badInput, file: path, "invalid plugin manifest: timeoutSeconds must be positive")
        }
        name = raw.name
        version = raw.version
        self.formats = formats
        command = raw.command
        check = raw.check
        self.timeout = timeout
        location = url
    }

    /// `arguments` with the placeholders replaced.
    func expand(
        _ arguments: [String], input: String = "", output: String = "",
        environment: [String: String]
    ) -> [String] {
        arguments.map { argument in
            var result = ""
            var rest = argument[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                result += rest[..<open]
                let key = rest[rest.index(after: open)..<close]
                switch key {
                case "input": result += input
                case "output": result += output
                case "plugin": result += directory.path
                default:
                    if key.hasPrefix("env:") {
                        let spec = key.dropFirst(4)
                        let name = String(spec.prefix(while: { $0 != "=" }))
                        let fallback = spec.contains("=") ? String(spec.drop(while: { $0 != "=" }).dropFirst()) : ""
                        let value = environment[name] ?? ""
                        result += value.isEmpty ? fallback : value
                    } else {
                        result += rest[open...close]
                    }
                }
                rest = rest[rest.index(after: close)...]
            }
            return result + rest
        }
    }
}

private struct RawManifest: Decodable {
    var name: String
    var version: String
    var formats: [String]
    var command: [String]
    var check: [String]?
    var output: String?
    var timeoutSeconds: Double?
}

private func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case DecodingError.dataCorrupted(let context): return context.debugDescription
    default: return "\(error)"
    }
}
