import Foundation
import Scene
import TestSupport
import Testing

@testable import Importers

/// One fixture model: where it lives, where it came from in the corpus, what it is.
struct Fixture: CustomStringConvertible, Sendable {
    var path: String
    var corpusPath: String?
    var format: InputFormat
    var description: String { path }
}

let fixtures: [Fixture] = [
    Fixture(path: "fbx/huesitos.fbx", corpusPath: "files/fbx/assimp__huesitos.fbx", format: .fbx),
    Fixture(
        path: "fbx/blender_293_embedded_textures_7400_binary.fbx",
        corpusPath: "files/fbx/ufbx__blender_293_embedded_textures_7400_binary.fbx", format: .fbx),
    Fixture(
        path: "fbx/box_orphant_embedded_texture.fbx", corpusPath: "files/fbx/assimp__box_orphant_embedded_texture.fbx",
        format: .fbx),
    Fixture(path: "fbx/global_settings.fbx", corpusPath: "files/fbx/assimp__global_settings.fbx", format: .fbx),
    Fixture(path: "obj/spider/spider.obj", corpusPath: "files/obj/assimp__spider/spider.obj", format: .obj),
    Fixture(path: "stl/multibody.stl", corpusPath: "files/stl/trimesh__multibody.stl", format: .stl),
    Fixture(path: "stl/soup.stl", corpusPath: "files/stl/trimesh__soup.stl", format: .stl),
    Fixture(path: "ply/cube.ply", corpusPath: "files/ply/assimp__cube.ply", format: .ply),
    Fixture(path: "ply/cube_binary.ply", corpusPath: "files/ply/assimp__cube_binary.ply", format: .ply),
    Fixture(path: "dae/blue_cube.dae", corpusPath: "files/dae/trimesh__blue_cube.dae", format: .collada),
    Fixture(path: "dae/lights.dae", corpusPath: "files/dae/assimp__lights.dae", format: .collada),
    Fixture(
        path: "gltf/BoxTextured/BoxTextured.gltf", corpusPath: "files/gltf/khr__BoxTextured_gltf/BoxTextured.gltf",
        format: .gltf),
    Fixture(path: "glb/BoxTextured.glb", corpusPath: "files/gltf/khr__BoxTextured.glb", format: .glb)
]

@Suite struct FixtureTests {
    @Test(arguments: fixtures)
    func importsWithPlausibleCounts(_ fixture: Fixture) throws {
        let scene = try importScene(from: Paths.fixture(fixture.path))
        let stats = scene.statistics
        #expect(stats.triangles > 0)
        #expect(stats.nodes > 0)
        if let corpusPath = fixture.corpusPath, let expected = Paths.manifestTriangles[corpusPath] {
            // The manifest counts after Assimp's degenerate-triangle removal, which this importer leaves to later stages.
            let counts = [scene.instancedTriangleCount, nonDegenerateTriangles(scene)]
            #expect(counts.contains(expected), "triangles \(counts) vs MANIFEST.tsv \(expected)")
        }
        for primitive in scene.allPrimitives {
            let n = primitive.vertexCount
            #expect(primitive.indices.allSatisfy { Int($0) < n })
            #expect(primitive.vertices.normals.isEmpty || primitive.vertices.normals.count == n)
            for set in primitive.vertices.texcoords { #expect(set.count == n) }
            if let material = primitive.material { #expect(material < scene.materials.count) }
        }
        let bounds = try #require(scene.worldBounds())
        #expect(bounds.min.x.isFinite && bounds.max.y.isFinite)
    }

    @Test(arguments: fixtures)
    func detectsFormatWithoutExtension(_ fixture: Fixture) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let copy = folder.url.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Paths.fixture(fixture.path), to: copy)
        #expect(try detectFormat(of: copy) == fixture.format)
        let wrong = folder.url.appendingPathComponent("model.txt")
        try FileManager.default.copyItem(at: Paths.fixture(fixture.path), to: wrong)
        #expect(try detectFormat(of: wrong) == fixture.format)
    }

    @Test func importIsDeterministic() throws {
        let url = Paths.fixture("fbx/huesitos.fbx")
        #expect(try importScene(from: url) == importScene(from: url))
    }
}

/// Triangles (per instance) whose three corners are distinct vertices (position, normal and first UV), the way
/// Assimp's JoinIdenticalVertices + FindDegenerates counts them.
func nonDegenerateTriangles(_ scene: Scene) -> Int {
    scene.nodes.reduce(0) { total, node in
        guard let mesh = node.mesh else { return total }
        return total
            + scene.meshes[mesh].primitives.reduce(0) { sum, p in
                guard p.mode == .triangles else { return sum }
                let v = p.vertices
                func key(_ i: UInt32) -> [Float] {
                    let i = Int(i)
                    var k = [v.positions[i].x, v.positions[i].y, v.positions[i].z]
                    if !v.normals.isEmpty { k += [v.normals[i].x, v.normals[i].y, v.normals[i].z] }
                    if let uv = v.texcoords.first { k += [uv[i].x, uv[i].y] }
                    return k
                }
                return sum
                    + stride(from: 0, to: p.indices.count, by: 3).filter { i in
                        let (a, b, c) = (key(p.indices[i]), key(p.indices[i + 1]), key(p.indices[i + 2]))
                        return a != b && b != c && a != c
                    }.count
            }
    }
}
