import Foundation
import Importers
import Scene
import TestSupport
import Testing

/// The USD plugin (Sources/Plugins/USD) run through `importScene` with the repository's venv Python.
enum USDTools {
    static let python = Paths.repo.appendingPathComponent(".venv/bin/python")

    /// The environment the plugin runs in: OPTIMIZE_USD_PYTHON = the venv's Python.
    static let environment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment
        environment["OPTIMIZE_USD_PYTHON"] = python.path
        environment["OPTIMIZE_PLUGIN_PATH"] = nil
        return environment
    }()

    static let registry = PluginRegistry.discover(environment: environment)

    /// True when the venv's Python imports pxr (the plugin's own check passes).
    static let available: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return false }
        let row = supportedFormats(registry: registry, environment: environment).first { $0.format == "USD" }
        return row?.available == true
    }()

    /// Run the USD tests: pxr present, or required by OPTIMIZE_TEST_REQUIRE_TOOLS=1 (then they fail without it).
    static let enabled = available || ProcessInfo.processInfo.environment["OPTIMIZE_TEST_REQUIRE_TOOLS"] == "1"

    static var options: ImportOptions {
        var options = ImportOptions()
        options.plugins = registry
        options.environment = environment
        return options
    }

    static func importUSD(_ url: URL) throws -> Scene { try importScene(from: url, options: options) }

    /// Fixtures written by fixtures/usd/make_fixtures.py into a fresh folder.
    static func makeFixtures() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        let process = Process()
        process.executableURL = python
        process.arguments = [Paths.repo.appendingPathComponent("fixtures/usd/make_fixtures.py").path, folder.url.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return folder
    }
}

@Suite(.enabled(if: USDTools.enabled, "usd-core (pxr) is not installed in <repo>/.venv"), .serialized)
struct USDImporterTests {
    @Test func pluginIsAvailable() throws {
        let row = try #require(
            supportedFormats(registry: USDTools.registry, environment: USDTools.environment)
                .first { $0.format == "USDZ" })
        #expect(row.available)
        #expect(row.detail.hasPrefix("usd-core "))
        #expect(row.importer.contains("Sources/Plugins/USD/plugin.json"))
    }

    /// The shipped binary links FoundationEssentials only, where file attributes are not bridged to NSNumber: the
    /// plugin's output must be found there too, not only in this (Foundation-linked) test process.
    @Test func theCommandLineConvertsAStage() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let output = folder.url.appendingPathComponent("cube.glb")
        let input = folder.url.appendingPathComponent("cube.usda")
        let result = try run(TestPaths.optimize, [input.path, "-o", output.path], environment: USDTools.environment)
        #expect(result.status == 0, "\(result.summary)")
        #expect(try optimize(["validate", output.path]).status == 0)
    }

    @Test func zUpCentimeterCube() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let scene = try USDTools.importUSD(folder.url.appendingPathComponent("cube.usda"))
        #expect(scene.instancedTriangleCount == 12)
        // 100 × 200 × 300 cm, Z-up → 1 m wide, 3 m tall, 2 m deep (USD +Y becomes glTF -Z).
        let bounds = try #require(scene.worldBounds())
        for (value, expected) in zip(
            [bounds.min.x, bounds.min.y, bounds.min.z, bounds.max.x, bounds.max.y, bounds.max.z],
            [Float(0), 0, -2, 1, 3, 0])
        {
            #expect(abs(value - expected) < 1e-4)
        }
        let primitive = try #require(scene.allPrimitives.first)
        #expect(primitive.vertices.normals.count == 24)
        #expect(primitive.vertices.texcoords.count == 1)
        #expect(primitive.vertices.colors.count == 24)  // uniform displayColor → per-face vertex colors
        #expect(scene.materials.first?.baseColorFactor == .one)
        // Faces keep their own normals and colours: 6 faces × 4 corners.
        #expect(primitive.vertexCount == 24)
    }

    @Test func usdzWithTexture() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let scene = try USDTools.importUSD(folder.url.appendingPathComponent("textured.usdz"))
        #expect(scene.instancedTriangleCount == 2)
        #expect(scene.images.count == 1)
        #expect(scene.images.first?.data.starts(with: [0x89, 0x50, 0x4E, 0x47]) == true)
        let material = try #require(scene.materials.first)
        #expect(material.baseColorTexture != nil)
        #expect(abs(material.roughnessFactor - 0.25) < 1e-6)
        #expect(scene.allPrimitives.first?.vertices.texcoords.count == 1)
        #expect(scene.warnings.isEmpty)
    }

    @Test func instancesAndPointInstancersExpand() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let scene = try USDTools.importUSD(folder.url.appendingPathComponent("instanced.usda"))
        #expect(scene.instancedTriangleCount == 10)
        #expect(scene.meshes.count <= 2)  // shared geometry is written once per prototype
        let placed = zip(scene.nodes, scene.worldTransforms()).filter { $0.0.mesh != nil }
            .map { [$0.1[0, 3], $0.1[1, 3]] }
        #expect(placed.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) } == [[0, 0], [0, 5], [0, 10], [10, 0], [20, 0]])
    }

    @Test func holesAreDroppedAndLeftHandedFlips() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let scene = try USDTools.importUSD(folder.url.appendingPathComponent("holes.usda"))
        #expect(scene.instancedTriangleCount == 3)
        let bounds = try #require(scene.worldBounds())
        #expect(abs(bounds.max.x - 0.03) < 1e-6)  // the unauthored metersPerUnit is 0.01; the hole (x 5…6) is gone
    }

    @Test func floatMetersPerUnitIsRead() throws {
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        let bounds = try #require(
            try USDTools.importUSD(folder.url.appendingPathComponent("float_units.usdc")).worldBounds())
        #expect(abs(bounds.max.x - 1) < 1e-5 && abs(bounds.max.y - 1) < 1e-5)
    }

    /// After the README's setup (usd-core in <repo>/.venv), USD works with no environment variable: the plugin's
    /// launcher finds the venv itself (the system python3 here has no pxr).
    @Test func pluginFindsTheSetupVenvWithoutEnvironment() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["OPTIMIZE_USD_PYTHON"] = nil
        environment["OPTIMIZE_PLUGIN_PATH"] = nil
        let registry = PluginRegistry.discover(environment: environment)
        let rows = supportedFormats(registry: registry, environment: environment).filter { $0.format.hasPrefix("USD") }
        #expect(rows.count == 2 && rows.allSatisfy(\.available))
        let folder = try USDTools.makeFixtures()
        defer { folder.cleanup() }
        var options = ImportOptions()
        options.plugins = registry
        options.environment = environment
        let scene = try importScene(from: folder.url.appendingPathComponent("cube.usda"), options: options)
        #expect(scene.instancedTriangleCount == 12)
    }

    @Test func brokenLayerFailsCleanly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let input = try folder.write("broken.usda", "#usda 1.0\ndef Mesh \"M\" {\n  int[] faceVertexCounts = [3,\n")
        do {
            _ = try USDTools.importUSD(input)
            Issue.record("a corrupt layer imported")
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput)
            #expect(error.message.hasPrefix("USD plugin: usd-core cannot open the stage"))
            #expect(!error.message.contains("\n"))
        }
    }
}
