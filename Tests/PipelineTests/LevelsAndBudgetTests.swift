import Foundation
import TestSupport
import Testing

/// The report a conversion wrote, as a dictionary.
private func report(_ url: URL) throws -> [String: Any] {
    try jsonObject(String(decoding: try Data(contentsOf: url), as: UTF8.self), from: url.lastPathComponent)
}

private func fileBytes(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
}

@Suite("Levels of detail: MSFT_lod in one file, or one file per level")
struct LevelsOfDetailTests {
    /// Corpus models with enough triangles for the shares to be meaningful (skipped where the corpus is absent).
    static let models = ["files/gltf/trimesh__Duck.glb", "files/ply/trimesh__bunny.ply"]

    @Test(
        "levels reach their shares (at most 2 % over), pass the gate and an independent reader, share data, and three.js draws level 0",
        .enabled(if: FileManager.default.fileExists(atPath: Tools.corpus.path), "../shared/corpus is absent"))
    func levelsOfDetail() throws {
        let scratch = try makeScratch("lods")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for model in Self.models {
            let input = Tools.corpus.appendingPathComponent(model)
            let glb = scratch.appendingPathComponent("one.glb")
            let json = scratch.appendingPathComponent("one.json")
            let one = try optimize([input.path, "-o", glb.path, "--lods", "0.5,0.2,0.05", "--report", json.path])
            try #require(one.status == 0, "\(model): \(one.summary)")
            #expect(try optimize(["validate", glb.path]).status == 0)

            let levels = try #require(
                try report(json)["levels"] as? [[String: Any]], "\(model): no levels in the report")
            #expect(levels.count == 4)
            for level in levels.dropFirst() {
                let requested = Readback.int(level, "requestedTriangles") ?? 0
                let achieved = Readback.int(level, "triangles") ?? -1
                #expect(requested > 0 && Double(achieved) <= Double(requested) * 1.02, "\(model): level \(level)")
                #expect((level["error"] as? NSNumber) != nil)
            }

            // The file: nodes carry MSFT_lod (3 ids) and the coverage hints; the extension is used, not required.
            let data = try Data(contentsOf: glb)
            let jsonLength = Int(data[12]) | Int(data[13]) << 8 | Int(data[14]) << 16 | Int(data[15]) << 24
            let document = try jsonObject(
                String(decoding: data[20..<(20 + jsonLength)], as: UTF8.self), from: "GLB JSON")
            #expect((document["extensionsUsed"] as? [String])?.contains("MSFT_lod") == true)
            #expect((document["extensionsRequired"] as? [String])?.contains("MSFT_lod") != true)
            let nodes = try #require(document["nodes"] as? [[String: Any]])
            let lodNodes = nodes.filter { (($0["extensions"] as? [String: Any])?["MSFT_lod"] as? [String: Any]) != nil }
            #expect(!lodNodes.isEmpty)
            for node in lodNodes {
                let ids = ((node["extensions"] as? [String: Any])?["MSFT_lod"] as? [String: Any])?["ids"] as? [Int]
                #expect(ids?.count == 3)
                #expect(((node["extras"] as? [String: Any])?["MSFT_screencoverage"] as? [NSNumber])?.count == 4)
            }

            // An independent reader loads it and sees level 0 in the scene.
            if Tools.readersAvailable {
                let readers = try readback(glb)
                let gltf = try #require(
                    Readback(inspect: [:], readers: readers).reader("pygltflib"),
                    "\(model): pygltflib: \(readers["pygltflib"] ?? [:])")
                #expect(Readback.int(gltf, "instancedTriangles") == Readback.int(levels[0], "triangles"))
            }

            // One file per level: level 0 at the output, then NAME.lodK.glb; the single file is no bigger than their sum.
            let split = scratch.appendingPathComponent("split.glb")
            let separate = try optimize([input.path, "-o", split.path, "--lods", "0.5,0.2,0.05", "--lod-files"])
            try #require(separate.status == 0, "\(model): \(separate.summary)")
            let files = [split] + (1...3).map { scratch.appendingPathComponent("split.lod\($0).glb") }
            for file in files {
                #expect(try optimize(["validate", file.path]).status == 0, "\(file.lastPathComponent)")
            }
            #expect(fileBytes(glb) <= files.reduce(0) { $0 + fileBytes($1) })
            #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("split.lod4.glb").path))

            // three.js r111 ignores MSFT_lod (not required) and draws level 0.
            if Tools.browserAvailable, let python = Tools.python {
                let png = scratch.appendingPathComponent("lod.png")
                let rendered = try run(
                    python, [Tools.scripts.appendingPathComponent("render.py").path, glb.path, png.path],
                    timeout: Tools.renderTimeout)
                #expect(rendered.status == 0, "\(model): render.py: \(rendered.summary)")
            }
        }
    }

    @Test("bad --lods values are usage errors")
    func badRatios() throws {
        let input = Tools.repo.appendingPathComponent("fixtures/models/ply/cube.ply").path
        for value in ["0.2,0.5", "1.5", "abc", "0.5,,0.2"] {
            let result = try optimize([input, "-o", "/tmp/never-\(UUID().uuidString).glb", "--lods", value])
            #expect(result.status == 2 && !result.crashed, "--lods \(value): \(result.summary)")
        }
        let noLods = try optimize([input, "-o", "/tmp/never-\(UUID().uuidString).glb", "--lod-files"])
        #expect(noLods.status == 2, "\(noLods.summary)")
    }
}

@Suite("Output-size budget: --max-bytes")
struct BudgetTests {
    /// Every textured fixture, and every textured corpus model (OBJ, glTF/GLB, FBX, DAE; not broken) when the
    /// corpus is there: absolute paths.
    static let textured =
        [
            "fixtures/models/glb/BoxTextured.glb", "fixtures/models/gltf/BoxTextured/BoxTextured.gltf",
            "fixtures/models/obj/spider/spider.obj",
            "fixtures/models/fbx/blender_293_embedded_textures_7400_binary.fbx",
            "fixtures/models/fbx/box_orphant_embedded_texture.fbx"
        ].map { Tools.repo.appendingPathComponent($0).path }
        + CorpusRow.all.filter {
            ["obj", "gltf", "fbx", "dae"].contains($0.format) && $0.tags.contains("tex") && !$0.broken
        }.map(\.url.path)

    struct Outcome {
        var bytes: Int
        var met: Bool?
        var error: Double
        var stderr: String
    }

    func convert(_ input: String, _ options: [String], in scratch: URL) throws -> Outcome {
        let glb = scratch.appendingPathComponent("b.glb")
        let json = scratch.appendingPathComponent("b.json")
        let result = try optimize(
            [input, "-o", glb.path, "--report", json.path]
                + options, timeout: 300)
        try #require(result.status == 0, "\(input) \(options): \(result.summary)")
        let document = try report(json)
        let budget = document["budget"] as? [String: Any]
        let simplified = (document["simplification"] as? [[String: Any]]) ?? []
        let error =
            budget.flatMap { ($0["error"] as? NSNumber)?.doubleValue }
            ?? simplified.compactMap { ($0["error"] as? NSNumber)?.doubleValue }.max() ?? 0
        #expect(Readback.int(document, "outputBytes") == fileBytes(glb))
        return Outcome(bytes: fileBytes(glb), met: budget?["budgetMet"] as? Bool, error: error, stderr: result.stderr)
    }

    @Test(
        "budgets at 50 % and 20 % of the plain size are met whenever the floor fits, with an error no worse than the best fitting setting of a grid",
        arguments: textured)
    func budgetsAreMet(input: String) throws {
        let scratch = try makeScratch("budget")
        defer { try? FileManager.default.removeItem(at: scratch) }
        do {
            let plain = try convert(input, [], in: scratch).bytes
            // The floor: the smallest output the search can reach (a budget of 1 byte is never met).
            let floor = try convert(input, ["--max-bytes", "1"], in: scratch)
            #expect(floor.met == false)
            #expect(
                floor.stderr.split(separator: "\n").filter { $0.contains("budget:") && $0.contains("not reached") }
                    .count == 1,
                "\(input): \(floor.stderr)")
            // A small grid of fixed settings.
            var grid: [Outcome] = []
            for textureMax in [nil, "256", "64"] {
                for ratio in [nil, "0.5", "0.2"] {
                    var options = ["--preset", "draco"]
                    if let textureMax { options += ["--texture-max", textureMax] }
                    if let ratio { options += ["--ratio", ratio, "--error", "1", "--aggressive"] }
                    grid.append(try convert(input, options, in: scratch))
                }
            }
            for share in [0.5, 0.2] {
                let budget = Int(Double(plain) * share)
                let found = try convert(input, ["--max-bytes", String(budget)], in: scratch)
                if floor.bytes <= budget {
                    #expect(
                        found.met == true && found.bytes <= budget,
                        "\(input): \(share) of \(plain) = \(budget): got \(found.bytes)")
                    let fitting = grid.filter { $0.bytes <= budget }.map(\.error)
                    if let best = fitting.min() {
                        #expect(
                            found.error <= best + 1e-4,
                            "\(input): budget \(budget): error \(found.error), grid best \(best)")
                    }
                } else {
                    #expect(
                        found.met == false && found.bytes == floor.bytes,
                        "\(input): budget \(budget) below the floor \(floor.bytes)")
                }
            }
        }
    }

    @Test("sizes parse as 5MB, 800KiB or plain bytes; anything else is a usage error")
    func sizes() throws {
        let input = Tools.repo.appendingPathComponent("fixtures/models/ply/cube.ply").path
        let scratch = try makeScratch("budget-sizes")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for (text, bytes) in [("5MB", 5_000_000), ("800KiB", 819_200), ("250000", 250_000)] {
            let json = scratch.appendingPathComponent("r.json")
            let result = try optimize([
                input, "-o", scratch.appendingPathComponent("o.glb").path, "--max-bytes", text,
                "--report", json.path
            ])
            #expect(result.status == 0, "\(result.summary)")
            #expect(Readback.int(try report(json)["budget"] as? [String: Any], "budget") == bytes)
        }
        for text in ["5 parsecs", "-3", "0", "MB"] {
            let result = try optimize([input, "-o", scratch.appendingPathComponent("o.glb").path, "--max-bytes", text])
            #expect(result.status == 2 && !result.crashed, "\(text): \(result.summary)")
        }
    }
}
