import Foundation
import TestSupport
import Testing

/// Quantized and meshopt-compressed output of the fixtures, checked by Tests/Scripts/meshopt_decode.py: a Python
/// decoder written from the EXT_meshopt_compression specification, independent of meshoptimizer.
@Suite("Pipeline: quantization and meshopt round trips, decoded independently")
struct MeshoptRoundTripTests {
    /// Fixtures with triangles (points-only or empty files have nothing to quantize).
    static func meshFixtures() throws -> [String] {
        try Tools.fixtureFiles().filter { fixture in
            let counts = try inspect(Tools.repo.appendingPathComponent(fixture))
            return Readback.int(counts, "triangles") ?? 0 > 0
        }
    }

    @Test(
        "decoded vertex and index data equals the uncompressed quantized data; positions stay on the grid",
        .enabled(if: Tools.python != nil || Tools.required, "no Python venv: run Tests/Scripts/setup.sh"))
    func fixturesRoundTrip() throws {
        let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
        let script = Tools.scripts.appendingPathComponent("meshopt_decode.py").path
        let scratch = try makeScratch("meshopt")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let fixtures = try Self.meshFixtures()
        try #require(!fixtures.isEmpty, "no fixture with triangles under fixtures/models")
        for fixture in fixtures {
            let input = Tools.repo.appendingPathComponent(fixture).path
            let variants: [(String, [String])] = [
                // The web preset flattens static nodes: the files it is compared with flatten too.
                ("float", ["--preset", "lossless", "--flatten"]),
                ("quantized", ["--quantize", "--position-bits", "12", "--flatten"]),
                ("web", ["--preset", "web", "--position-bits", "12"]),
                ("fallback", ["--preset", "web", "--position-bits", "12", "--meshopt-fallback"])
            ]
            var files: [String: String] = [:]
            for (name, arguments) in variants {
                let output = scratch.appendingPathComponent("\(name).glb").path
                let converted = try optimize([input, "-o", output] + arguments)
                try #require(converted.status == 0, "\(fixture) \(name): \(converted.summary)")
                files[name] = output
            }
            for (command, arguments) in [
                ("verify", [files["fallback"]!]), ("verify", [files["web"]!]),
                ("compare", [files["web"]!, files["quantized"]!]),
                ("compare", [files["fallback"]!, files["quantized"]!]),
                ("positions", [files["quantized"]!, files["float"]!, "12"])
            ] {
                let result = try run(python, [script, command] + arguments, timeout: 300)
                #expect(
                    result.status == 0 && !result.crashed,
                    "\(fixture): meshopt_decode.py \(command): \(result.summary) \(result.stdout)")
            }
        }
    }

    @Test(
        "meshopt output is byte-identical for 1 and 2 threads, and a fallback file renders-compatible (extension not required)"
    )
    func determinismAndFallbackDeclaration() throws {
        let fixture = try #require(try Self.meshFixtures().first, "no fixture with triangles under fixtures/models")
        let scratch = try makeScratch("meshopt-threads")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var outputs: [Data] = []
        for threads in ["1", "2"] {
            let output = scratch.appendingPathComponent("t\(threads).glb")
            let converted = try optimize([
                Tools.repo.appendingPathComponent(fixture).path, "-o", output.path,
                "--preset", "web", "--threads", threads
            ])
            try #require(converted.status == 0, "\(fixture): \(converted.summary)")
            outputs.append(try Data(contentsOf: output))
        }
        #expect(outputs[0] == outputs[1], "\(fixture): --preset web output depends on the thread count")

        let fallback = scratch.appendingPathComponent("fallback.glb")
        let converted = try optimize([
            Tools.repo.appendingPathComponent(fixture).path, "-o", fallback.path,
            "--compress", "meshopt", "--meshopt-fallback"
        ])
        try #require(converted.status == 0, "\(fixture): \(converted.summary)")
        let bytes = try Data(contentsOf: fallback)
        let jsonLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let json = try #require(try JSONSerialization.jsonObject(with: bytes[20..<20 + jsonLength]) as? [String: Any])
        #expect((json["extensionsUsed"] as? [String] ?? []).contains("EXT_meshopt_compression"))
        #expect(!(json["extensionsRequired"] as? [String] ?? []).contains("EXT_meshopt_compression"))
        #expect((json["buffers"] as? [Any])?.count == 1)
    }

    @Test("usage errors: fallback without meshopt, bits with --no-quantize, bits out of range")
    func usageErrors() throws {
        let fixture = try #require(try Self.meshFixtures().first, "no fixture with triangles under fixtures/models")
        let input = Tools.repo.appendingPathComponent(fixture).path
        let scratch = try makeScratch("meshopt-usage")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("out.glb").path
        for arguments in [
            ["--meshopt-fallback"], ["--no-quantize", "--position-bits", "12"], ["--position-bits", "17"],
            ["--normal-bits", "3"], ["--preset", "fast"]
        ] {
            let result = try optimize([input, "-o", output] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.summary)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
