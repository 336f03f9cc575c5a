import Foundation
import TestSupport
import Testing

/// `Tests/Scripts/visual_regression.py`: the input (or its lossless conversion when three.js cannot read it) and our
/// lossless, `--quantize` and `--quantize --flatten` outputs rendered side by side in headless Chromium, compared by pixel difference and SSIM.
@Suite("Browser: outputs look like their inputs (visual regression)")
struct VisualRegressionTests {
    static let enabled = Tools.browserAvailable || Tools.required

    func compare(_ models: [String], label: String, options: [String] = []) throws {
        let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
        try #require(Tools.chromium != nil, "chromium is not installed: run Tests/Scripts/setup.sh")
        let scratch = try makeScratch("visual-\(label)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try run(
            python,
            [
                Tools.scripts.appendingPathComponent("visual_regression.py").path,
                Tools.optimize.path, scratch.path
            ] + options + models, timeout: 1800)
        let failures = result.stdout.split(separator: "\n").filter { $0.contains(" FAIL: ") }
        #expect(result.status == 0 && !result.crashed, "\(result.summary)\n\(failures.joined(separator: "\n"))")
    }

    @Test("every fixture", .enabled(if: enabled, "no Python venv or chromium: run Tests/Scripts/setup.sh"))
    func fixtures() throws {
        try compare(Tools.fixtureFiles().map { Tools.repo.appendingPathComponent($0).path }, label: "fixtures")
    }

    /// Skinned (these rendered blank when quantized before the grid went on the node), morphed and multi-part models;
    /// OBJ colors from an MTL (regr01) and from the vertices (cube_with_vertexcolors), compared unlit too.
    @Test("skinned, morphed and multi-part corpus models", .enabled(if: enabled, "no Python venv or chromium"))
    func corpusModels() throws {
        let files = [
            "gltf/assimp__simple_skin.gltf", "gltf/assimp__simple_skin_quad_skin.glb",
            "gltf/khr__AnimatedMorphSphere/AnimatedMorphSphere.gltf", "obj/assimp__regr01/regr01.obj",
            "gltf/trimesh__mode5.gltf", "gltf/trimesh__boolean.glb", "gltf/bevy__alien.glb", "gltf/bevy__faces.glb",
            "gltf/trimesh__TestScene/TestScene.gltf", "obj/assimp__cube_with_vertexcolors.obj"
        ].map { Tools.corpus.appendingPathComponent("files/" + $0).path }
        let present = files.filter { FileManager.default.fileExists(atPath: $0) }
        guard !present.isEmpty else { return }  // corpus not present
        try compare(present, label: "corpus")
    }

    /// Corpus FBX files that Assimp 5.2.5 reads wrong, and why (the FBX reader's unit tests check these cases).
    static let assimpMisreads = [
        "ufbx__maya_slime_7500_binary.fbx":
            "its joints use InheritType Rrs (segment scale compensation), which Assimp ignores: they take their parents' scale"
    ]

    /// The native FBX reader against the Assimp path: every fixture FBX and every corpus FBX with triangles that is
    /// not broken and that Assimp reads right, both converted losslessly and rendered with the same camera (files the
    /// native reader hands to Assimp are skipped).
    @Test("native FBX renders like the Assimp path", .enabled(if: enabled, "no Python venv or chromium"))
    func nativeFBXAgainstAssimp() throws {
        let corpus = CorpusRow.format("fbx").filter {
            !$0.broken && $0.cells["assimp_5_2_5"] == "OK" && $0.int("triangles") ?? 0 > 0
                && Self.assimpMisreads[$0.url.lastPathComponent] == nil
        }.map(\.url.path)
        let fixtures = Tools.fixtureFiles().filter { $0.lowercased().hasSuffix(".fbx") }.map {
            Tools.repo.appendingPathComponent($0).path
        }
        try compare(fixtures + corpus, label: "fbx-importers", options: ["--against-assimp"])
    }
}
