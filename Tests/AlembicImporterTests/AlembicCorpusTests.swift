import Foundation
import Scene
import Testing

@testable import AlembicImporter

/// `<repo>`, found from this file's path.
private let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
private let corpus = repo.appendingPathComponent("../shared/corpus/files/abc").standardized
private let corpusAvailable = FileManager.default.fileExists(atPath: corpus.path)

private func corpusFile(_ name: String) -> URL { corpus.appendingPathComponent(name) }

/// Each object's `.selfBnds` (min xyz, max xyz) as stored by the exporter, in the importer's node order
/// (depth-first preorder); nil for objects without geometry bounds.
private func storedBounds(_ url: URL) throws -> [[Double]?] {
    let archive = try AlembicArchive(bytes: [UInt8](Data(contentsOf: url)), path: url.path)
    var result: [[Double]?] = []
    func walk(_ offset: Int) throws {
        for (header, child) in try archive.object(offset).children {
            let schema = header.metadata["schema"] ?? ""
            var bounds: [Double]?
            if schema.hasPrefix("AbcGeom_PolyMesh") || schema.hasPrefix("AbcGeom_SubD"),
                let geomEntry = try archive.object(child).properties.find(".geom"),
                let entry = try archive.compound(geomEntry).find(".selfBnds"),
                let sample = try archive.sample(entry, index: 0)
            {
                bounds = archive.doubles(sample)
            }
            result.append(bounds)
            try walk(child)
        }
    }
    try walk(archive.top)
    return result
}

private func bounds(_ primitive: Primitive) -> (SIMD3<Float>, SIMD3<Float>) {
    primitive.vertices.positions.reduce((SIMD3<Float>(repeating: .infinity), SIMD3<Float>(repeating: -.infinity))) {
        (pointwiseMin($0.0, $1), pointwiseMax($0.1, $1))
    }
}

/// Triangles whose counter-clockwise geometric normal agrees with the mean of their stored vertex normals.
private func windingAgreement(_ p: Primitive) -> Double {
    var agree = 0
    var total = 0
    for t in 0..<p.triangleCount {
        let i = p.indices[3 * t..<3 * t + 3].map { Int($0) }
        let (a, b, c) = (p.vertices.positions[i[0]], p.vertices.positions[i[1]], p.vertices.positions[i[2]])
        let e1 = b - a
        let e2 = c - a
        let n = SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)
        guard (n * n).sum() > 1e-12 else { continue }
        let stored = p.vertices.normals[i[0]] + p.vertices.normals[i[1]] + p.vertices.normals[i[2]]
        total += 1
        if (n * stored).sum() > 0 { agree += 1 }
    }
    return total == 0 ? 1 : Double(agree) / Double(total)
}

/// Files whose geometry is known from what they model: (meshes, triangles).
private let knownGeometry: [String: (meshes: Int, triangles: Int)] = [
    "openusd__indexedTextureCoordinates.abc": (1, 12),  // Blender's default cube: 6 quads
    "openusd__hasColorSet.abc": (2, 24),  // two cubes
    "openusd__testusdtimecode.abc": (1, 12),  // a cube
    "openusd__testUsdAbcSDFArgumentsMesh.abc": (2, 24),  // two Maya cubes
    "openusd__testUsdAbcP_OldEncoding.abc": (1, 80),  // Maya cylinder: 20 side quads + two 20-triangle caps
    "unity__cubes_coloured.abc": (3, 36),  // three cubes
    "unity__twoTris_twoFaceSets.abc": (1, 2),
    "unity__tri_weirdnormals_1f.abc": (1, 1),
    "unity__DummyAlembic.abc": (1, 2012)  // more than the others: checked against .selfBnds below
]

@Test(.enabled(if: corpusAvailable, "needs <repo>/../shared/corpus"), arguments: knownGeometry.keys.sorted())
func corpusMeshesMatchKnownCountsAndStoredBounds(_ name: String) throws {
    let url = corpusFile(name)
    let scene = try importAlembic(from: url)
    let expected = try #require(knownGeometry[name])
    #expect(scene.meshes.count == expected.meshes)
    #expect(scene.meshes.flatMap(\.primitives).map(\.triangleCount).reduce(0, +) == expected.triangles)

    let stored = try storedBounds(url)
    #expect(stored.count == scene.nodes.count)
    #expect(stored.contains { $0 != nil }, "no .selfBnds to compare with")
    for (node, selfBounds) in zip(scene.nodes, stored) {
        guard let mesh = node.mesh else { continue }
        let primitive = try #require(scene.meshes[mesh].primitives.first)
        #expect(primitive.indices.allSatisfy { Int($0) < primitive.vertexCount })
        let (lo, hi) = bounds(primitive)
        if let b = selfBounds, b.count == 6 {
            let tolerance = Float(1e-4) * max(1, (hi - lo).max())
            for axis in 0..<3 {
                #expect(abs(lo[axis] - Float(b[axis])) <= tolerance, "\(node.name) min[\(axis)]")
                #expect(abs(hi[axis] - Float(b[axis + 3])) <= tolerance, "\(node.name) max[\(axis)]")
            }
        }
        if name == "unity__tri_weirdnormals_1f.abc" {
            // Its normals are scrambled on purpose; the triangle is a Maya plane facing +Y.
            let i = primitive.indices.map { Int($0) }
            let (a, b, c) = (
                primitive.vertices.positions[i[0]], primitive.vertices.positions[i[1]],
                primitive.vertices.positions[i[2]]
            )
            #expect((b - a).z * (c - a).x - (b - a).x * (c - a).z > 0)
        } else if !primitive.vertices.normals.isEmpty {
            #expect(windingAgreement(primitive) >= 0.9, "\(node.name): triangles face against the stored normals")
        }
    }
}

@Test(.enabled(if: corpusAvailable, "needs <repo>/../shared/corpus"))
func corpusAttributesAreImported() throws {
    let colored = try importAlembic(from: corpusFile("openusd__hasColorSet.abc"))
    #expect(colored.meshes.allSatisfy { !$0.primitives[0].vertices.colors.isEmpty })
    let textured = try importAlembic(from: corpusFile("openusd__indexedTextureCoordinates.abc"))
    let uvs = try #require(textured.meshes.first?.primitives.first?.vertices.texcoords.first)
    #expect(uvs.allSatisfy { (0...1).contains($0.x) && (0...1).contains($0.y) })
    #expect(textured.nodes.map(\.name) == ["Cube", "CubeShape"])
    let camera = try importAlembic(from: corpusFile("unity__camera_ztranslate_300f_24fps.abc"))
    #expect(camera.cameras.count == 1)
    if case let .perspective(_, yfov, _, znear, zfar) = try #require(camera.cameras.first) {
        #expect(yfov > 0.1 && yfov < 3 && znear > 0 && (zfar ?? 0) > znear)
    }
}

@Test(
    .enabled(if: corpusAvailable, "needs <repo>/../shared/corpus"),
    arguments: [
        ("alembic__prman_xforms.abc", "unsupported: HDF5-based Alembic"),
        ("alembic__badver.abc", "unsupported Ogawa version"),
        ("alembic__fuzzer_issue49213.abc", "corrupt Alembic"),
        ("alembic__malformed_xform.abc", "xform 'xform' needs 16 values")
    ])
func brokenCorpusFilesFailClearly(_ name: String, _ message: String) throws {
    let error = try #require(throws: ProcessingError.self) { try importAlembic(from: corpusFile(name)) }
    #expect(error.kind == .badInput)
    #expect(error.message.contains(message))
    #expect(error.file == corpusFile(name).path)
}

@Test(.enabled(if: corpusAvailable, "needs <repo>/../shared/corpus"))
func everyCorpusFileImportsOrFailsWithoutCrashing() throws {
    for name in try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted() where name.hasSuffix(".abc") {
        do {
            let scene = try importAlembic(from: corpusFile(name))
            #expect(scene.roots.allSatisfy { $0 < scene.nodes.count }, "\(name)")
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput, "\(name): \(error)")
        }
    }
}

@Test func fixtureCubeImports() throws {
    let scene = try importAlembic(from: repo.appendingPathComponent("fixtures/alembic/blender_cube_indexed_uvs.abc"))
    let primitive = try #require(scene.meshes.first?.primitives.first)
    #expect(primitive.triangleCount == 12)
    #expect(primitive.vertices.texcoords.count == 1)
    let (lo, hi) = bounds(primitive)
    #expect(lo == SIMD3(repeating: -1) && hi == SIMD3(repeating: 1))
    // Every triangle of the convex cube faces away from its center.
    for t in 0..<primitive.triangleCount {
        let i = primitive.indices[3 * t..<3 * t + 3].map { Int($0) }
        let (a, b, c) = (
            primitive.vertices.positions[i[0]], primitive.vertices.positions[i[1]], primitive.vertices.positions[i[2]]
        )
        let e1 = b - a
        let e2 = c - a
        let n = SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)
        #expect((n * (a + b + c)).sum() > 0)
    }
}
