import Foundation
import Scene
import TestSupport
import Testing

@testable import GLTFImporter

@Suite("glTF reader: the corpus", .enabled(if: corpusFolder != nil, "../shared/corpus is absent"))
struct CorpusTests {
    /// Every glTF/GLB that is not broken reads; the manifest's counts are compared end to end in
    /// PipelineTests/GLTFAcceptanceTests (after the optimizer's deduplication, as Assimp counted them).
    @Test(
        "every glTF/GLB that is not broken reads with the manifest's animation count and a drawable scene",
        arguments: CorpusRow.gltf.filter { !$0.broken })
    func reads(row: CorpusRow) throws {
        let url = corpusFolder!.appendingPathComponent(row.path)
        if row.triangles == 0 {  // nodes without meshes: refused like every importer refuses an empty scene
            #expect(throws: ProcessingError(.badInput, file: url.path, "contains no geometry")) {
                try importGLTF(from: url)
            }
            return
        }
        let scene = try importGLTF(from: url)
        if let animations = row.animations { #expect(scene.statistics.animations == animations) }
        if row.triangles ?? 0 > 0 {
            #expect(scene.meshes.contains { !$0.primitives.isEmpty } && scene.worldBounds() != nil)
        }
    }

    @Test(
        "every broken glTF/GLB is refused with one line (bad input), never a crash",
        arguments: CorpusRow.gltf.filter(\.broken))
    func refusesBroken(row: CorpusRow) throws {
        do {
            _ = try importGLTF(from: corpusFolder!.appendingPathComponent(row.path))
            Issue.record("\(row.path) was imported")
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput && !error.description.contains("\n"), "\(error)")
        }
    }
}

@Suite("glTF reader: the hostile reproducers in ../shared/hostile")
struct HostileTests {
    static let folder = corpusFolder?.deletingLastPathComponent().appendingPathComponent("hostile")
    static let files: [String] = {
        guard let folder, let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            return []
        }
        return names.filter { $0.hasSuffix(".gltf") || $0.hasSuffix(".glb") }.sorted()
    }()

    /// Each one made the Assimp path allocate gigabytes; the reader checks the claim before allocating.
    @Test(
        "lying counts and lengths are refused as bad input",
        .enabled(if: !files.isEmpty, "../shared/hostile is absent"),
        arguments: files)
    func refused(name: String) throws {
        #expect(throws: ProcessingError.self) { try importGLTF(from: Self.folder!.appendingPathComponent(name)) }
    }
}
