import Foundation
import TestSupport
import Testing

/// The corpus's glTF/GLB rows (MANIFEST.tsv), for the native glTF importer's acceptance tests.
enum GLTFCorpusRow {
    static let good = CorpusRow.format("gltf").filter { !$0.broken }
    static let broken = CorpusRow.format("gltf").filter(\.broken)
}

extension CorpusRow {
    var triangles: Int? { int("triangles") }
    var materials: Int? { int("materials") }
    var animations: Int? { int("animations") }
    var countSource: String { cells["count_source", default: ""] }
}

/// Where the manifest's counts (Assimp 5.2.5's) are known to be wrong, and what the test compares instead.
private let assimpMiscounts: [String: String] = [
    "files/gltf/bevy__PalmTree/PalmTree.gltf":
        "Assimp merges the seven Grid meshes because they share one index accessor",
    "files/gltf/trimesh__mode5.gltf":
        "Assimp's 2557 is neither the 2786 drawn triangles nor the 2482 of the distinct meshes"
]

/// The JSON `gltf_materials.py` prints: material extension objects and texture transforms.
private func materialJSON(_ file: URL) throws -> String {
    let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
    let result = try run(python, [Tools.scripts.appendingPathComponent("gltf_materials.py").path, file.path])
    guard result.status == 0 else {
        throw TestFailure("gltf_materials.py \(file.lastPathComponent): \(result.summary)")
    }
    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite(
    "glTF in: the native importer end to end on the corpus",
    .enabled(if: FileManager.default.fileExists(atPath: Tools.corpus.path), "../shared/corpus is absent"))
struct GLTFAcceptanceTests {
    @Test(
        "every glTF/GLB that is not broken converts with the manifest's counts, the input's bounds and nodes, and the same material extensions and texture transforms",
        .enabled(if: Tools.python != nil || Tools.required, "no Python venv: run Tests/Scripts/setup.sh"),
        arguments: GLTFCorpusRow.good)
    func converts(row: CorpusRow) throws {
        let scratch = try makeScratch("gltf-accept")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out.glb")
        let converted = try optimize([row.url.path, "-o", out.path])
        if row.triangles == 0 {  // nodes without meshes: refused like every importer refuses an empty scene
            #expect(converted.status == 3 && converted.stderr.contains("contains no geometry"), "\(converted.summary)")
            return
        }
        try #require(converted.status == 0 && !converted.crashed, "\(row.path): \(converted.summary)")

        let input = try #require(try readback(row.url)["pygltflib"], "pygltflib cannot read \(row.path)")
        let output = try #require(try readback(out)["pygltflib"], "pygltflib cannot read the output of \(row.path)")
        func count(_ reader: [String: Any], _ key: String) -> Int { Readback.int(reader, key) ?? -1 }

        // Triangles: Assimp counts point primitives as faces; for its known miscounts compare with the input.
        if let reason = assimpMiscounts[row.path] {
            #expect(count(output, "instancedTriangles") == count(input, "instancedTriangles"), "\(row.path): \(reason)")
        } else if let triangles = row.triangles {
            let expected = row.countSource.contains("[prims: points]") ? 0 : triangles
            #expect(count(output, "triangles") == expected, "\(row.path)")
        }
        // Materials primitives use (KHR_materials_variants may add more): Assimp adds a default material when a
        // primitive has none.
        if let materials = row.materials {
            let inputUsed = count(input, "usedMaterials")
            let assimpDefault = materials == inputUsed + 1 ? 1 : 0
            #expect(
                count(output, "usedMaterials") == materials - assimpDefault, "\(row.path): the input uses \(inputUsed)")
        }
        if let animations = row.animations { #expect(count(output, "animations") == animations, "\(row.path)") }
        #expect(count(output, "nodes") == count(input, "nodes"), "\(row.path)")
        if let before = Box(input["bounds"]), let after = Box(output["bounds"]) {
            #expect(
                before.distance(to: after) <= 1e-5 * max(before.diagonal, 1e-3), "\(row.path): \(before) → \(after)")
        } else {
            #expect(Box(input["bounds"]) == nil && Box(output["bounds"]) == nil, "\(row.path): bounds on one side only")
        }

        let inputMaterials = try materialJSON(row.url)
        let outputMaterials = try materialJSON(out)
        if inputMaterials.contains("KHR_materials_pbrSpecularGlossiness") {
            #expect(!outputMaterials.contains("KHR_materials_pbrSpecularGlossiness"), "converted to metallic-roughness")
        } else {
            #expect(inputMaterials == outputMaterials, "\(row.path)")
        }
    }

    @Test("--importer assimp still reads glTF through Assimp (which drops KHR_texture_transform); the default keeps it")
    func importerChoice() throws {
        let source = Tools.corpus.appendingPathComponent(
            "files/gltf/khr__TextureTransformTest/TextureTransformTest.gltf")
        let scratch = try makeScratch("gltf-importer")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let native = scratch.appendingPathComponent("native.glb")
        let assimp = scratch.appendingPathComponent("assimp.glb")
        #expect(try optimize([source.path, "-o", native.path]).status == 0)
        #expect(try optimize([source.path, "-o", assimp.path, "--importer", "assimp"]).status == 0)
        #expect(try String(contentsOf: native, encoding: .isoLatin1).contains("KHR_texture_transform"))
        #expect(try !String(contentsOf: assimp, encoding: .isoLatin1).contains("KHR_texture_transform"))
    }

    @Test("broken glTF/GLB files are refused with exit 3 and one line naming the file", arguments: GLTFCorpusRow.broken)
    func refusesBroken(row: CorpusRow) throws {
        let scratch = try makeScratch("gltf-broken")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try optimize([row.url.path, "-o", scratch.appendingPathComponent("out.glb").path], timeout: 60)
        #expect(result.status == 3 && !result.crashed, "\(row.path): \(result.summary)")
        #expect(result.stderrLines.count == 1 && result.stderr.contains(row.url.path), "\(result.stderr)")
        #expect(leftovers(in: scratch).isEmpty)
    }

    @Test(
        "round trips: optimize(optimize(x, --preset web)) and optimize(optimize(x, --compress draco)) keep the geometry",
        .enabled(if: Tools.python != nil || Tools.required, "no Python venv: run Tests/Scripts/setup.sh"),
        arguments: [
            "files/gltf/khr__TextureTransformTest/TextureTransformTest.gltf", "files/gltf/trimesh__Duck.glb",
            "files/gltf/assimp__simple_skin.gltf", "files/gltf/khr__AnimatedMorphSphere/AnimatedMorphSphere.gltf",
            "files/gltf/bevy__MixedLightingExample/MixedLightingExample.gltf"
        ],
        ["--preset=web", "--compress=draco"])
    func roundTrip(path: String, option: String) throws {
        let source = Tools.corpus.appendingPathComponent(path)
        let scratch = try makeScratch("gltf-roundtrip")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let once = scratch.appendingPathComponent("once.glb")
        let twice = scratch.appendingPathComponent("twice.glb")
        let first = try optimize([source.path, "-o", once.path, option])
        try #require(first.status == 0, "\(path) \(option): \(first.summary)")
        let second = try optimize([once.path, "-o", twice.path, option])
        try #require(second.status == 0, "reading back \(path) \(option): \(second.summary)")
        // Our own reader on both (pygltflib decodes neither meshopt nor Draco): counts equal, bounds within a step.
        let a = try inspect(once)
        let b = try inspect(twice)
        for key in ["triangles", "materials", "animations", "skins"] {
            #expect(Readback.int(a, key) == Readback.int(b, key), "\(path) \(option): \(key)")
        }
        let original = try inspect(source)
        // Bounds from `inspect` ignore skinning, and quantized skinned positions are in grid units (the grid is in the
        // inverse bind matrices): compared only without skins.
        if Readback.int(original, "skins") == 0, let before = Box(original["bounds"]), let after = Box(b["bounds"]) {
            // One 14-bit quantization step per pass, twice, plus float noise.
            #expect(
                before.distance(to: after) <= 4 * before.diagonal / 16_383 + 1e-6,
                "\(path) \(option): \(before) → \(after)")
        }
    }

    @Test(
        "gltfpack -c and -cc outputs of corpus files are read",
        .enabled(if: Tools.which("gltfpack") != nil, "gltfpack missing"),
        arguments: [
            "files/gltf/trimesh__Duck.glb", "files/gltf/bevy__GolfBall.glb", "files/gltf/assimp__simple_skin.gltf",
            "files/gltf/khr__AnimatedMorphSphere/AnimatedMorphSphere.gltf", "files/gltf/bevy__Mountains/Mountains.gltf"
        ],
        ["-c", "-cc"])
    func readsGltfpackOutput(path: String, flag: String) throws {
        let scratch = try makeScratch("gltf-gltfpack")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let source = Tools.corpus.appendingPathComponent(path)
        let packed = scratch.appendingPathComponent("packed.glb")
        let out = scratch.appendingPathComponent("out.glb")
        let pack = try run(Tools.which("gltfpack")!, ["-i", source.path, "-o", packed.path, flag])
        try #require(pack.status == 0, "gltfpack \(flag) \(path): \(pack.summary)")
        #expect(try String(contentsOf: packed, encoding: .isoLatin1).contains("EXT_meshopt_compression"))
        let converted = try optimize([packed.path, "-o", out.path])
        #expect(converted.status == 0, "\(path) \(flag): \(converted.summary)")
        let original = try inspect(source)
        let read = try inspect(packed)
        #expect(
            Readback.int(read, "instancedTriangles") == Readback.int(original, "instancedTriangles"), "\(path) \(flag)")
        if let before = Box(original["bounds"]), let after = Box(read["bounds"]) {
            #expect(before.distance(to: after) <= before.diagonal / 1000, "\(path) \(flag): \(before) → \(after)")
        }
    }
}

@Suite(
    "glTF in: input and output render alike in headless Chromium (three.js r111)",
    .enabled(if: FileManager.default.fileExists(atPath: Tools.corpus.path), "../shared/corpus is absent"))
struct GLTFRenderTests {
    /// Renders the input and the output with `render.py --compare` (the same camera, framed on the input); the
    /// pictures are kept under .build/gltf-render for a human look, and each file's difference is printed (the issue's
    /// record).
    @Test(
        "render difference of input and output",
        .enabled(if: Tools.browserAvailable || Tools.required, "no venv or chromium"),
        arguments: [
            ("files/gltf/khr__TextureTransformTest/TextureTransformTest.gltf", ""),
            ("files/gltf/khr__TextureTransformTest/TextureTransformTest.gltf", "--quantize"),
            ("files/gltf/trimesh__Duck.glb", ""), ("files/gltf/trimesh__AlphaBlendModeTest.glb", ""),
            ("files/gltf/khr__BoxTextured_gltf/BoxTextured.gltf", "--quantize"), ("files/gltf/bevy__alien.glb", "")
        ])
    func renderDifference(path: String, option: String) throws {
        let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
        let scratch = try makeScratch("gltf-render")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let source = Tools.corpus.appendingPathComponent(path)
        let out = scratch.appendingPathComponent("out.glb")
        let converted = try optimize([source.path, "-o", out.path] + (option.isEmpty ? [] : [option]))
        try #require(converted.status == 0, "\(path): \(converted.summary)")
        let pictures = Tools.repo.appendingPathComponent(".build/gltf-render")
            .appendingPathComponent(source.deletingPathExtension().lastPathComponent + option)
        let result = try run(
            python,
            [
                Tools.scripts.appendingPathComponent("render.py").path, "--compare", source.path,
                pictures.path, out.path
            ], timeout: 400)
        try #require(result.status == 0, "\(path): \(result.summary)")
        let difference = try jsonObject(result.stdout, from: "render.py --compare")
        let changed = (difference["differ"] as? NSNumber)?.doubleValue ?? 1
        let ssim = (difference["ssim"] as? NSNumber)?.doubleValue ?? 0
        print("render difference \(path) \(option): \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(ssim >= 0.97, "\(path) \(option): SSIM \(ssim)")
        #expect(changed < 0.01, "\(path) \(option): \(changed * 100) % of the pixels differ")
    }
}
