import Foundation
import TestSupport
import Testing

/// `optimize rpdx` (the RapidPipeline command line VAMS runs) and `optimize s3 cp` argument handling.
/// The full VAMS command line in the image layout, against a local S3, runs in Tests/Scripts/container-check.sh.
@Suite struct RpdxTests {
    static let fbx = Tools.fixtures.appendingPathComponent("fbx/global_settings.fbx")

    func triangles(_ glb: URL) throws -> Int {
        let result = try optimize(["inspect", "--json", glb.path])
        #expect(result.status == 0, "\(result.summary)")
        return (try jsonObject(result.stdout, from: "inspect")["triangles"] as? NSNumber)?.intValue ?? -1
    }

    func shell(_ command: String, in directory: URL) throws -> RunResult {
        try run(URL(fileURLWithPath: "/bin/sh"), ["-c", "cd '\(directory.path)' && \(command)"])
    }

    @Test func mapsDecimationAndWarnsOncePerIgnoredSetting() throws {
        let dir = try makeScratch("rpdx-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("rp_config.json")
        try Data(
            """
            {"version": 1.4,
             "optimize": {"3dModelOptimizationMethod": {"meshAndMaterialOptimization": {"decimator": {
                "target": {"faces": {"percentage": 50}, "deviation": {"percentage": 1}}, "preserveTopology": false}}}},
             "export": [{"fileName": "", "reencodeTextures": "ktx2", "textureMapFilePrefix": "t_",
                         "format": {"glb": {"draco": {"enable": true}}}}]}
            """.utf8
        ).write(to: config)
        let plain = dir.appendingPathComponent("plain.glb")
        let reduced = dir.appendingPathComponent("chair-glb.glb")
        #expect(try optimize(["rpdx", "-i", Self.fbx.path, "-e", plain.path]).status == 0)
        let result = try optimize(["rpdx", "--read_config", config.path, "-i", Self.fbx.path, "-c", "-e", reduced.path])
        #expect(result.status == 0, "\(result.summary)")
        let warnings = result.stderrLines.filter { $0.hasPrefix("warning: rpdx:") }
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.contains("ignoring export[0].reencodeTextures ") })  // no KTX2 encoder
        #expect(warnings.contains { $0.contains("ignoring export[0].textureMapFilePrefix ") })
        #expect(warnings.contains { $0.contains("decimator.preserveTopology") })
        // "draco": {"enable": true} became --compress draco: the GLB's JSON chunk names the extension.
        #expect(String(decoding: try Data(contentsOf: reduced), as: UTF8.self).contains("KHR_draco_mesh_compression"))
        #expect(try optimize(["validate", reduced.path]).status == 0)
        #expect(try triangles(reduced) < triangles(plain))
    }

    @Test func mapsTextureSettings() throws {
        let dir = try makeScratch("rpdx-textures")
        defer { try? FileManager.default.removeItem(at: dir) }
        let textured = Tools.fixtures.appendingPathComponent("fbx/blender_293_embedded_textures_7400_binary.fbx")
        let config = dir.appendingPathComponent("rp_config.json")
        try Data(
            #"{"optimize":{"3dModelOptimizationMethod":{"meshAndMaterialOptimization":{"decimator":{"materialOptimization":{"textureResolution":{"baseColor":16,"normal":16}}}}}},"export":[{"reencodeTextures":"png","format":{"glb":{"draco":{"enable":false}}}}]}"#
                .utf8
        )
        .write(to: config)
        let plain = dir.appendingPathComponent("a.glb")
        let small = dir.appendingPathComponent("b.glb")
        #expect(try optimize(["rpdx", "-i", textured.path, "-e", plain.path]).status == 0)
        let result = try optimize(["rpdx", "--read_config", config.path, "-i", textured.path, "-c", "-e", small.path])
        #expect(result.status == 0, "\(result.summary)")
        #expect(!result.stderr.contains("warning: rpdx:"), "every setting maps: \(result.stderr)")
        func imageBytes(_ url: URL) throws -> Int {
            let json = try jsonObject(try optimize(["inspect", "--json", url.path]).stdout, from: "inspect")
            return (json["imageBytes"] as? NSNumber)?.intValue ?? -1
        }
        #expect(try imageBytes(small) < imageBytes(plain))
        #expect(!String(decoding: try Data(contentsOf: small), as: UTF8.self).contains("KHR_draco_mesh_compression"))
    }

    @Test func settingsApplyOnlyWithCompress() throws {
        let dir = try makeScratch("rpdx-no-c")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("rp_config.json")
        let decimate =
            #"{"optimize":{"3dModelOptimizationMethod":{"meshAndMaterialOptimization":{"decimator":{"target":{"faces":{"value":10}}}}}}}"#
        try Data(decimate.utf8).write(to: config)
        let plain = dir.appendingPathComponent("a.glb")
        let withoutC = dir.appendingPathComponent("b.glb")
        #expect(try optimize(["rpdx", "-i", Self.fbx.path, "-e", plain.path]).status == 0)
        let result = try optimize(["rpdx", "--read_config", config.path, "-i", Self.fbx.path, "-e", withoutC.path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("not applied without -c"))
        #expect(try triangles(withoutC) == triangles(plain))
    }

    @Test func defaultOutputNamesFollowVAMS() throws {
        let dir = try makeScratch("rpdx-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Self.fbx, to: dir.appendingPathComponent("chair.fbx"))
        let fbx = try shell("'\(Tools.optimize.path)' rpdx -i chair.fbx -c", in: dir)
        #expect(fbx.status == 0, "\(fbx.summary)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("chair-glb.glb").path))
        // Same extension: VAMS names the output like the input, so it is replaced in place (atomically).
        try FileManager.default.copyItem(
            at: dir.appendingPathComponent("chair-glb.glb"),
            to: dir.appendingPathComponent("pump.glb"))
        let glb = try shell("'\(Tools.optimize.path)' rpdx -i pump.glb -c -e pump.glb", in: dir)
        #expect(glb.status == 0, "\(glb.summary)")
        #expect(try optimize(["validate", dir.appendingPathComponent("pump.glb").path]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["chair-glb.glb", "chair.fbx", "pump.glb"])
    }

    @Test func rejectsBadConfigsAndExports() throws {
        let dir = try makeScratch("rpdx-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("broken.json")
        let zero = dir.appendingPathComponent("zero.json")
        try Data("{not json".utf8).write(to: broken)
        try Data(
            #"{"optimize":{"3dModelOptimizationMethod":{"meshAndMaterialOptimization":{"decimator":{"target":{"faces":{"percentage":0}}}}}}}"#
                .utf8
        )
        .write(to: zero)
        let out = dir.appendingPathComponent("x.glb").path
        for config in [broken, zero] {
            let result = try optimize(["rpdx", "--read_config", config.path, "-i", Self.fbx.path, "-c", "-e", out])
            #expect(result.status == 3, "\(result.summary)")
            #expect(result.stderrLines.count == 1 && result.stderr.contains(config.path))
        }
        #expect(
            try optimize(["rpdx", "-i", Self.fbx.path, "-e", dir.appendingPathComponent("x.gltf").path]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func s3CopyNeedsExactlyOneS3Side() throws {
        for (source, destination) in [
            ("a.glb", "b.glb"), ("s3://bucket-a/k", "s3://bucket-b/k"),
            ("s3://bucket-a/prefix/", "."), ("s3://Bad_Bucket/k", ".")
        ] {
            let result = try optimize(["s3", "cp", source, destination])
            #expect(result.status == 2, "\(source) \(destination): \(result.summary)")
        }
    }
}

/// The File Size Target modifier of rp_config.json becomes `--max-bytes`.
@Suite struct RpdxFileSizeTargetTests {
    @Test func fileSizeTargetBecomesAByteBudget() throws {
        let dir = try makeScratch("rpdx-size")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Tools.fixtures.appendingPathComponent("obj/spider/spider.obj")
        let config = dir.appendingPathComponent("rp_config.json")
        try Data(#"{"version": 1.4, "modifier": {"fileSizeTarget": {"maxMegabytes": 0.06}}}"#.utf8).write(to: config)
        let output = dir.appendingPathComponent("spider-glb.glb")
        let result = try optimize(["rpdx", "--read_config", config.path, "-i", input.path, "-c", "-e", output.path])
        #expect(result.status == 0, "\(result.summary)")
        #expect(!result.stderr.contains("warning: rpdx:"), "the size target maps: \(result.stderr)")
        let size =
            ((try FileManager.default.attributesOfItem(atPath: output.path))[.size] as? NSNumber)?.intValue ?? .max
        #expect(size <= 60_000, "\(size) bytes")
        #expect(try optimize(["validate", output.path]).status == 0)
    }
}
