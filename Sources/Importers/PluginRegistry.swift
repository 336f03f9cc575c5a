import CAssimp
import FoundationEssentials
import Scene

/// The external converter plugins found in a list of plugin directories.
///
/// Each directory may hold a `plugin.json` itself and holds one plugin per subfolder (`<dir>/<name>/plugin.json`,
/// visited in name order). The first plugin that declares a format handles it; formats with a built-in importer
/// (Assimp, native Alembic) never go to a plugin.
public struct PluginRegistry: Sendable {
    /// Valid manifests, in search order.
    public private(set) var plugins: [PluginManifest] = []
    /// One line per manifest that could not be used (shown by `optimize formats`).
    public private(set) var problems: [String] = []

    /// Loads every manifest found in `searchPath`; missing directories are skipped.
    public init(searchPath: [URL]) {
        let files = FileManager.default
        for directory in searchPath {
            var candidates = [directory.appendingPathComponent("plugin.json")]
            let children = (try? files.contentsOfDirectory(atPath: directory.path)) ?? []
            candidates += children.sorted().map {
                directory.appendingPathComponent($0).appendingPathComponent("plugin.json")
            }
            for candidate in candidates where files.fileExists(atPath: candidate.path) {
                do { plugins.append(try PluginManifest(contentsOf: candidate)) } catch let error as ProcessingError {
                    problems.append(error.description)
                } catch {
                    problems.append("\(candidate.path): \(error)")
                }
            }
        }
    }

    /// The plugins found through `searchPath(environment:)`.
    public static func discover(environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginRegistry {
        PluginRegistry(searchPath: searchPath(environment: environment))
    }

    /// `OPTIMIZE_PLUGIN_PATH` (colon-separated) when set; else `<binary dir>/../share/optimize/plugins`, then the
    /// source tree's `Sources/Plugins` when it exists (development builds).
    public static func searchPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        if let custom = environment["OPTIMIZE_PLUGIN_PATH"], !custom.isEmpty {
            return custom.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        var path: [URL] = []
        if let binary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            path.append(
                URL(fileURLWithPath: binary).deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("share/optimize/plugins"))
        }
        let sourceTree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Plugins")
        if FileManager.default.fileExists(atPath: sourceTree.path) { path.append(sourceTree) }
        return path
    }

    /// The plugin that handles `format`, if any.
    public func plugin(for format: InputFormat) -> PluginManifest? {
        plugins.first { $0.formats.contains(format) }
    }
}

/// One row of `optimize formats`.
public struct FormatSupport: Sendable, Equatable {
    /// The format's display name ("FBX", "USDZ", …).
    public var format: String
    /// Who reads it: "Assimp 5.2.5", "Alembic (native)", "USD 1.0.0 via plugin /…/plugin.json".
    public var importer: String
    public var available: Bool
    /// Why it is unavailable, or what the plugin's check reported (e.g. "usd-core 26.11"); may be empty.
    public var detail: String
}

/// Every input format with its importer and whether that importer can run here; plugin checks run (briefly) now.
public func supportedFormats(
    registry: PluginRegistry = .discover(),
    environment: [String: String] = ProcessInfo.processInfo.environment
) -> [FormatSupport] {
    let assimpFailure = cassimp_load().map { String(cString: $0) }
    let assimp =
        assimpFailure == nil
        ? "Assimp \(cassimp_getVersionMajor()).\(cassimp_getVersionMinor()).\(cassimp_getVersionPatch())" : "Assimp"
    var checks: [URL: (Bool, String)] = [:]
    return InputFormat.allCases.map { format in
        if format == .alembic {
            return FormatSupport(format: format.displayName, importer: "Alembic (native)", available: true, detail: "")
        }
        if format.hasNativeReader {
            return FormatSupport(
                format: format.displayName, importer: "native (\(assimp) with --importer assimp)",
                available: true, detail: "")
        }
        if format.assimpExtension != nil {
            return FormatSupport(
                format: format.displayName, importer: assimp, available: assimpFailure == nil,
                detail: assimpFailure ?? "")
        }
        guard let plugin = registry.plugin(for: format) else {
            return FormatSupport(
                format: format.displayName, importer: "none", available: false,
                detail: "no plugin declares it (search path: OPTIMIZE_PLUGIN_PATH)")
        }
        if checks[plugin.location] == nil {
            checks[plugin.location] = checkPlugin(plugin, environment: environment)
        }
        let (available, detail) = checks[plugin.location]!
        return FormatSupport(
            format: format.displayName,
            importer: "\(plugin.name) \(plugin.version) via plugin \(plugin.location.path)",
            available: available, detail: detail)
    }
}
