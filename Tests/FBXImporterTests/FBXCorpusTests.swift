import FBXImporter
import Foundation
import Importers
import Scene
import TestSupport
import Testing

private let corpus = TestPaths.corpus

/// The corpus FBX files: (path relative to the corpus, subformat, tags).
private let corpusFBX: [(path: String, subformat: String, tags: [String])] = CorpusRow.format("fbx").map {
    ($0.path, $0.cells["subformat", default: ""], $0.cells["tags", default: ""].split(separator: ",").map(String.init))
}

private func assimpOptions() -> ImportOptions {
    var options = ImportOptions()
    options.importer = .assimp
    return options
}

@Suite struct FBXCorpusTests {
    /// Every non-broken corpus FBX: where Assimp reads it, the native path (native reader, or Assimp after a logged
    /// fallback) gives the same triangle, node, material, skin, animation, camera and light counts and the same bounds; FBX 6.x
    /// and older files that Assimp refuses are read natively.
    @Test func matchesAssimpPath() throws {
        guard let corpus else { return }
        var native = 0
        var fallback = 0
        var legacy = 0
        for entry in corpusFBX where !entry.tags.contains("broken") {
            let url = corpus.appendingPathComponent(entry.path)
            let reference = try? importScene(from: url, options: assimpOptions())
            let isLegacy =
                entry.subformat.contains("v6") || entry.subformat.contains("v5") || entry.subformat.contains("v3")
            guard let reference else {
                if entry.subformat.contains("v6") {
                    let scene = try importFBX(from: url, threads: 2)
                    #expect(scene.statistics.triangles > 0, "\(entry.path)")
                    legacy += 1
                } else if !isLegacy {
                    // Assimp refuses it and so may we, but only with a one-line bad-input error.
                    do { _ = try importScene(from: url) } catch let error as ProcessingError {
                        #expect(error.kind == .badInput, "\(entry.path)")
                    }
                }
                continue
            }
            let scene = try importScene(from: url)
            let fellBack = scene.warnings.contains { $0.hasPrefix("native FBX reader cannot read this file") }
            if fellBack { fallback += 1 } else { native += 1 }
            let (a, b) = (scene.statistics, reference.statistics)
            #expect(a.triangles == b.triangles, "\(entry.path): triangles \(a.triangles) vs \(b.triangles)")
            #expect(a.nodes == b.nodes, "\(entry.path): nodes \(a.nodes) vs \(b.nodes)")
            #expect(a.materials == b.materials, "\(entry.path): materials \(a.materials) vs \(b.materials)")
            #expect(a.skins == b.skins && a.animations == b.animations, "\(entry.path)")
            #expect(a.cameras == b.cameras && a.lights == b.lights, "\(entry.path): cameras/lights")
            let (lo, hi) = worldBounds(scene)
            let (rlo, rhi) = worldBounds(reference)
            #expect(close(lo, rlo, 1e-3) && close(hi, rhi, 1e-3), "\(entry.path): bounds \(lo)…\(hi) vs \(rlo)…\(rhi)")
        }
        print(
            "FBX corpus: \(native) read natively, \(fallback) through the Assimp fallback, \(legacy) FBX 6 read natively only"
        )
    }

    /// Broken corpus FBX: one-line bad-input errors naming the file, from either path.
    @Test func brokenFilesFailCleanly() throws {
        guard let corpus else { return }
        for entry in corpusFBX where entry.tags.contains("broken") {
            let url = corpus.appendingPathComponent(entry.path)
            do {
                _ = try importScene(from: url)
                Issue.record("\(entry.path) should fail")
            } catch let error as ProcessingError {
                #expect(error.kind == .badInput, "\(entry.path)")
                #expect(error.file == url.path)
                #expect(!error.description.contains("\n"))
            }
        }
    }
}
