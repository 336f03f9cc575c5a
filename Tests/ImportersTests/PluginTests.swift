import Foundation
import Importers
import Scene
import TestSupport
import Testing

/// The plugin seam: manifests, discovery, running a converter without a shell, time limits and failures.
/// The converters here are small `/bin/sh` programs standing in for real ones; they exercise the runner itself.
@Suite struct PluginTests {
    /// A plugin folder holding one manifest for the "usd" format with the given argv.
    func registry(in folder: TemporaryFolder, command: [String], timeout: Double = 30) throws -> PluginRegistry {
        let manifest: [String: Any] = [
            "name": "Scripted", "version": "0.1", "formats": ["usd"], "command": command,
            "timeoutSeconds": timeout
        ]
        try folder.write("plugins/scripted/plugin.json", try JSONSerialization.data(withJSONObject: manifest))
        let registry = PluginRegistry(searchPath: [folder.url.appendingPathComponent("plugins")])
        #expect(registry.problems.isEmpty)
        return registry
    }

    func options(_ registry: PluginRegistry, timeout: Double? = nil) -> ImportOptions {
        var options = ImportOptions()
        options.plugins = registry
        options.pluginTimeout = timeout
        return options
    }

    func error(_ body: () throws -> Scene) -> ProcessingError? {
        do { _ = try body() } catch let error as ProcessingError { return error } catch { return nil }
        return nil
    }

    @Test func manifestPlaceholdersAndValidation() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let good = try folder.write(
            "a/plugin.json",
            """
            {"name": "USD", "version": "2.0", "formats": ["usd", "usdz"], "output": "glb",
             "command": ["{env:MY_PY=python3}", "{plugin}/conv.py", "--in={input}", "{output}", "{other}"]}
            """)
        let manifest = try PluginManifest(contentsOf: good)
        #expect(manifest.formats == [.usd, .usdz])
        #expect(manifest.timeout == 600)
        #expect(manifest.directory.path == folder.url.appendingPathComponent("a").path)

        let broken = try folder.write(
            "b/plugin.json", #"{"name": "X", "version": "1", "formats": ["usd"], "command": ["x"]}"#)
        #expect(throws: ProcessingError.self) { try PluginManifest(contentsOf: broken) }
        let unknown = try folder.write(
            "c/plugin.json",
            #"{"name": "X", "version": "1", "formats": ["max"], "command": ["x", "{input}", "{output}"]}"#)
        let registry = PluginRegistry(searchPath: [folder.url])
        #expect(registry.plugins.map(\.location.path) == [good.path])
        #expect(registry.problems.count == 2)
        #expect(registry.problems.contains { $0.contains(broken.path) && $0.contains("{input} and {output}") })
        #expect(registry.problems.contains { $0.contains(unknown.path) && $0.contains("unknown format 'max'") })
        #expect(registry.plugin(for: .usdz)?.name == "USD")
        #expect(registry.plugin(for: .fbx) == nil)
    }

    @Test func searchPathFromEnvironment() {
        let custom = PluginRegistry.searchPath(environment: ["OPTIMIZE_PLUGIN_PATH": "/opt/a:/opt/b"])
        #expect(custom.map(\.path) == ["/opt/a", "/opt/b"])
        let standard = PluginRegistry.searchPath(environment: [:]).map(\.path)
        #expect(standard.contains { $0.hasSuffix("share/optimize/plugins") })
        #expect(standard.contains(Paths.repo.appendingPathComponent("Sources/Plugins").path))
        // The repository's own USD plugin is found in the source tree.
        let registry = PluginRegistry(searchPath: PluginRegistry.searchPath(environment: [:]))
        #expect(
            registry.plugin(for: .usdz)?.location.path
                == Paths.repo.appendingPathComponent("Sources/Plugins/USD/plugin.json").path)
    }

    @Test func argumentsArePassedVerbatimWithoutAShell() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let registry = try registry(
            in: folder,
            command: [
                "/bin/sh", "-c", #"printf 'error: got %s\n' "$1" >&2; exit 3"#,
                "sh", "{input}", "{output}"
            ])
        let input = try folder.write("odd name $(touch pwned); `touch pwned2`.usda", "#usda 1.0\n")
        let failure = error { try importScene(from: input, options: options(registry)) }
        #expect(failure?.kind == .badInput)
        #expect(failure?.message == "Scripted plugin: got \(input.path)")
        #expect(failure?.file == input.path)
        let created = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(!created.contains { $0.hasPrefix("pwned") })
    }

    @Test func failureReportsTheLastStderrLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let registry = try registry(
            in: folder,
            command: [
                "/bin/sh", "-c", "echo 'warning: first' >&2; echo 'error: layer @a.usda@ is corrupt' >&2; exit 7",
                "sh", "{input}", "{output}"
            ])
        let input = try folder.write("m.usda", "#usda 1.0\n")
        let failure = error { try importScene(from: input, options: options(registry)) }
        #expect(failure?.kind == .badInput)
        #expect(failure?.description == "\(input.path): Scripted plugin: layer @a.usda@ is corrupt")
    }

    @Test func silentSuccessWithoutOutputIsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let registry = try registry(in: folder, command: ["/bin/sh", "-c", "exit 0", "sh", "{input}", "{output}"])
        let input = try folder.write("m.usda", "#usda 1.0\n")
        let failure = error { try importScene(from: input, options: options(registry)) }
        #expect(failure?.kind == .badInput)
        #expect(failure?.message == "Scripted plugin exited without writing its output")
    }

    @Test func timeLimitStopsTheConverter() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let registry = try registry(in: folder, command: ["/bin/sh", "-c", "sleep 30", "sh", "{input}", "{output}"])
        let input = try folder.write("m.usda", "#usda 1.0\n")
        let start = Date()
        let failure = error { try importScene(from: input, options: options(registry, timeout: 1)) }
        #expect(
            Date().timeIntervalSince(start) < 25, "the converter ran to its end (30 s): the time limit did not stop it")
        #expect(failure?.kind == .badInput)
        #expect(failure?.message == "Scripted plugin timed out after 1 s and was stopped")
    }

    @Test func missingProgramAndMissingPlugin() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let input = try folder.write("m.usda", "#usda 1.0\n")
        let registry = try registry(in: folder, command: ["no-such-converter-program", "{input}", "{output}"])
        let missing = error { try importScene(from: input, options: options(registry)) }
        #expect(missing?.kind == .badInput)
        #expect(missing?.message.contains("program 'no-such-converter-program' is not installed") == true)

        let none = error { try importScene(from: input, options: options(PluginRegistry(searchPath: []))) }
        #expect(none?.message == "unsupported format: USD (no importer plugin installed)")
    }

    @Test func formatsListing() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let registry = try registry(in: folder, command: ["/bin/sh", "{input}", "{output}"])
        let rows = supportedFormats(registry: registry, environment: ["PATH": "/usr/bin:/bin"])
        #expect(rows.count == InputFormat.allCases.count)
        let fbx = try #require(rows.first { $0.format == "FBX" })
        #expect(fbx.importer.hasPrefix("native") && fbx.available)
        let collada = try #require(rows.first { $0.format == "COLLADA" })
        #expect(collada.importer.hasPrefix("Assimp 5.") && collada.available)
        #expect(rows.first { $0.format == "Alembic" }?.importer == "Alembic (native)")
        let usd = try #require(rows.first { $0.format == "USD" })
        #expect(usd.importer.hasPrefix("Scripted 0.1 via plugin \(folder.url.path)"))
        #expect(usd.available)
        let usdz = try #require(rows.first { $0.format == "USDZ" })
        #expect(usdz.importer == "none" && !usdz.available)
    }
}
