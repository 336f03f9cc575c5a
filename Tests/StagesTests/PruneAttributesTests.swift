import Foundation
import Scene
import Testing

@testable import Stages

@Suite struct PruneAttributesTests {
    /// A UV sphere (normals, TEXCOORD_0) under `material`, drawn by one node.
    func sphereScene(material: Material?) -> Scene {
        var p = Geometry.uvSphere(rings: 8, segments: 12)
        var scene = Geometry.scene([Geometry.mesh("sphere", [p])])
        if let material {
            scene.materials = [material]
            p.material = 0
            scene.meshes[0].primitives[0] = p
        }
        return scene
    }

    @Test func unreadTexcoordsAndTangentsGoAndTheWeldThenCloses() throws {
        var scene = sphereScene(material: Material(name: "plain"))
        scene.meshes[0].primitives[0].vertices.tangents = scene.meshes[0].primitives[0].vertices.positions.map { _ in
            SIMD4(1, 0, 0, 1)
        }
        let before = try #require(weldedCopy(scene.meshes[0].primitives[0])).vertexCount
        let report = pruneAttributes(&scene)
        let p = scene.meshes[0].primitives[0]
        #expect(p.vertices.texcoords.isEmpty && p.vertices.tangents.isEmpty && !p.vertices.normals.isEmpty)
        #expect(report.notes.contains("dropped TEXCOORD_0 (no texture reads it) from 1 primitive(s)"))
        #expect(report.notes.contains("dropped TANGENT (no normal map) from 1 primitive(s)"))
        // The UV seam column no longer splits vertices: welding merges it.
        #expect(try #require(weldedCopy(p)).vertexCount < before)
    }

    @Test func whatAMaterialReadsIsKept() {
        var material = Material(name: "mapped")
        material.baseColorTexture = TextureRef(texture: 0, texCoord: 1)
        material.normalTexture = TextureRef(texture: 0)
        var scene = sphereScene(material: material)
        scene.textures = [Texture(image: 0)]
        scene.images = [Image(mimeType: "image/png", data: [1])]
        var v = scene.meshes[0].primitives[0].vertices
        v.texcoords += [v.texcoords[0], v.texcoords[0]]  // sets 0, 1, 2: 2 is unread, 0 stays so sets stay consecutive
        v.tangents = v.positions.map { _ in SIMD4(1, 0, 0, 1) }
        scene.meshes[0].primitives[0].vertices = v
        _ = pruneAttributes(&scene)
        let kept = scene.meshes[0].primitives[0].vertices
        #expect(kept.texcoords.count == 2 && kept.tangents.count == v.positions.count)
    }

    @Test func constantColorsFoldIntoTheMaterialExactly() {
        var scene = sphereScene(material: Material(name: "tinted"))
        scene.materials[0].baseColorFactor = SIMD4(0.5, 1, 1, 1)
        let n = scene.meshes[0].primitives[0].vertexCount
        scene.meshes[0].primitives[0].vertices.colors = Array(repeating: SIMD4(0.5, 0.25, 1, 1), count: n)
        // A second mesh without material and all-white colors, a third with varying colors.
        var white = Geometry.cube(normals: true)
        white.vertices.colors = Array(repeating: .one, count: white.vertexCount)
        var varying = Geometry.cube(normals: true)
        varying.vertices.colors = (0..<varying.vertexCount).map { SIMD4(Float($0) / 24, 0, 0, 1) }
        var red = Geometry.cube(normals: true)
        red.vertices.colors = Array(repeating: SIMD4(1, 0, 0, 1), count: red.vertexCount)
        scene.meshes += [
            Geometry.mesh("white", [white]), Geometry.mesh("varying", [varying]), Geometry.mesh("red", [red])
        ]
        for m in 1...3 {
            var node = Node(name: "n\(m)")
            node.mesh = m
            scene.roots.append(scene.nodes.count)
            scene.nodes.append(node)
        }
        _ = pruneAttributes(&scene)
        #expect(scene.meshes[0].primitives[0].vertices.colors.isEmpty)
        #expect(scene.materials[0].baseColorFactor == SIMD4(0.25, 0.25, 1, 1))
        #expect(scene.meshes[1].primitives[0].vertices.colors.isEmpty && scene.meshes[1].primitives[0].material == nil)
        #expect(scene.meshes[2].primitives[0].vertices.colors.count == 24)
        let made = scene.meshes[3].primitives[0].material
        #expect(scene.meshes[3].primitives[0].vertices.colors.isEmpty)
        #expect(made.map { scene.materials[$0].baseColorFactor } == SIMD4(1, 0, 0, 1))
    }

    @Test func skinStreamsWithoutSkinAndZeroMorphStreamsGo() {
        var scene = sphereScene(material: nil)
        let n = scene.meshes[0].primitives[0].vertexCount
        scene.meshes[0].primitives[0].vertices.joints = Array(repeating: SIMD4(0, 0, 0, 0), count: n)
        scene.meshes[0].primitives[0].vertices.weights = Array(repeating: SIMD4(1, 0, 0, 0), count: n)
        var target = MorphTarget(name: "t")
        target.positions = (0..<n).map { SIMD3(Float($0 % 2), 0, 0) }
        target.normals = Array(repeating: .zero, count: n)
        scene.meshes[0].primitives[0].targets = [target]
        scene.meshes[0].weights = [0]
        _ = pruneAttributes(&scene)
        let p = scene.meshes[0].primitives[0]
        #expect(p.vertices.joints.isEmpty && p.vertices.weights.isEmpty)
        #expect(p.targets.count == 1 && p.targets[0].positions.count == n && p.targets[0].normals.isEmpty)
    }

    @Test func primitivesOfOneMaterialMergeLosslessly() throws {
        let a = Geometry.cube(normals: true)
        var b = Geometry.cube(normals: true)
        b.vertices.positions = b.vertices.positions.map { $0 + SIMD3(2, 0, 0) }
        var c = Geometry.cube(normals: true)
        c.material = 0
        var scene = Geometry.scene([Geometry.mesh("three", [a, b, c])])
        scene.materials = [Material(name: "other")]
        let report = mergePrimitives(&scene)
        #expect(scene.meshes[0].primitives.count == 2)
        let merged = scene.meshes[0].primitives[0]
        #expect(merged.triangleCount == 24 && merged.vertexCount == 48 && Check.isValid(merged))
        #expect(Array(merged.vertices.positions[24...]) == b.vertices.positions)
        #expect(Array(merged.indices[36...]) == b.indices.map { $0 + 24 })
        #expect(scene.meshes[0].primitives[1] == c)
        #expect(report.notes == ["merged 1 primitive(s) into others of the same mesh and material"])
    }

    @Test func weldedPiecesMergeBeyondTheirUnweldedCount() throws {
        // A 120 × 120 grid in 12 strips of 10 rows, each an unwelded primitive: 86,400 corners in all, more than
        // 16-bit indices reach, but 14,641 vertices once welded.
        let side = 120
        func strip(_ s: Int) -> Primitive {
            var p = Primitive()
            for row in s * 10..<(s + 1) * 10 {
                for column in 0..<side {
                    let (x, y) = (Float(column), Float(row))
                    p.vertices.positions += [
                        SIMD3(x, y, 0), SIMD3(x + 1, y, 0), SIMD3(x + 1, y + 1, 0),
                        SIMD3(x, y, 0), SIMD3(x + 1, y + 1, 0), SIMD3(x, y + 1, 0)
                    ]
                }
            }
            p.indices = (0..<UInt32(p.vertices.positions.count)).map { $0 }
            return p
        }
        let pieces = (0..<12).map(strip)
        var unwelded = Geometry.scene([Geometry.mesh("grid", pieces)])
        _ = mergePrimitives(&unwelded)
        #expect(unwelded.meshes[0].primitives.count == 2)  // counted before the weld, the strips do not fit in one

        var scene = Geometry.scene([Geometry.mesh("grid", pieces)])
        _ = try weld(&scene, threads: 2)
        _ = mergePrimitives(&scene, weld: true, threads: 2)
        let merged = try #require(scene.meshes[0].primitives.first)
        #expect(scene.meshes[0].primitives.count == 1)
        // The strips' shared rows are joined: one vertex per grid point, as the whole grid welded at once.
        #expect(merged.vertexCount == (side + 1) * (side + 1) && merged.triangleCount == 2 * side * side)
        #expect(Check.isValid(merged) && Check.openEdges([merged]) == 4 * side)
    }
}

@Suite struct SimplifyRatioTests {
    @Test func smallPartsThatCannotShrinkLeaveTheirShareToOthers() throws {
        // A sphere and four cubes: a cube's 12 triangles cannot halve within 1 % error, so alone the scene would
        // keep more than half; the sphere takes the excess and the scene as drawn keeps half (as gltfpack -si does).
        var meshes = [Geometry.mesh("sphere", [Geometry.uvSphere(rings: 24, segments: 48)])]
        for k in 0..<4 { meshes.append(Geometry.mesh("cube\(k)", [Geometry.cube(normals: false)])) }
        var scene = Geometry.scene(meshes)
        let before = scene.statistics.triangles
        let report = try simplify(&scene, options: SimplifyOptions(ratio: 0.5), threads: 2)
        #expect(abs(Double(scene.statistics.triangles) / (Double(before) / 2) - 1) <= 0.02)
        let results = try #require(report.simplify)
        #expect(
            results.filter { $0.name.hasPrefix("cube") }.allSatisfy { $0.reason != nil && $0.achievedTriangles == 12 })
        #expect(results[0].reason == nil && results[0].method == .collapse)
    }

    @Test func aRatioOverSeveralMeshesIsSplitSoTheyDeviateAlike() throws {
        // A coarse and a dense sphere of the same size: halving each alone costs the coarse one far more error.
        // Split by a common deviation, the dense one gives more, and the scene's worst error drops.
        let coarse = Geometry.mesh("coarse", [Geometry.uvSphere(rings: 24, segments: 48)])
        let dense = Geometry.mesh("dense", [Geometry.uvSphere(rings: 96, segments: 192, center: SIMD3(3, 0, 0))])
        var scene = Geometry.scene([coarse, dense])
        let before = scene.statistics.triangles
        let split = try #require(try simplify(&scene, options: SimplifyOptions(ratio: 0.5), threads: 2).simplify)
        #expect(abs(Double(scene.statistics.triangles) / (Double(before) / 2) - 1) <= 0.02)
        #expect(split[0].achievedTriangles > split[0].originalTriangles / 2)
        #expect(split[1].achievedTriangles < split[1].originalTriangles / 2)
        // Each mesh halved alone (one mesh per scene: proportional).
        var alone: [Float] = []
        for mesh in [coarse, dense] {
            var one = Geometry.scene([mesh])
            alone += try #require(try simplify(&one, options: SimplifyOptions(ratio: 0.5), threads: 1).simplify).map(
                \.error)
        }
        let worstSplit = split.map(\.error).max()!
        #expect(worstSplit < alone.max()! * 0.8, "split \(split.map(\.error)), alone \(alone)")
        // The same split at any thread count.
        var again = Geometry.scene([coarse, dense])
        _ = try simplify(&again, options: SimplifyOptions(ratio: 0.5), threads: 1)
        #expect(again == scene)
    }

    @Test func severalMeshesShareTheBoundOfTheSceneAsDrawn() throws {
        // Coarse spheres far apart: alone, one cannot halve within 1 % of its own size; merged, the bound is 1 % of
        // the scene's extent (as gltfpack has it), so together they meet the ratio, none deviating beyond that.
        let sphere = Geometry.uvSphere(rings: 10, segments: 20)
        var alone = Geometry.scene([Geometry.mesh("one", [sphere])])
        let single = try #require(try simplify(&alone, options: SimplifyOptions(ratio: 0.5), threads: 1).simplify)
        #expect(single[0].reason == .errorLimit)
        let meshes = (0..<4).map { k in
            Geometry.mesh("s\(k)", [Geometry.uvSphere(rings: 10, segments: 20, center: SIMD3(Float(k) * 10, 0, 0))])
        }
        var scene = Geometry.scene(meshes)
        let before = scene.statistics.triangles
        let results = try #require(try simplify(&scene, options: SimplifyOptions(ratio: 0.5), threads: 2).simplify)
        #expect(Double(scene.statistics.triangles) <= Double(before) / 2 * 1.02)
        // Errors are relative to each sphere's extent (2); the scene's is 32.
        #expect(results.allSatisfy { $0.reason == nil && $0.error * 2 <= 0.01 * 32 * 1.0001 }, "\(results)")
    }

    @Test func aggressiveTriesALargerErrorBeforeSloppy() throws {
        var scene = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 32, segments: 64)])])
        var strict = scene
        let strictResult = try #require(
            try simplify(&strict, options: SimplifyOptions(ratio: 0.2, targetError: 0.001), threads: 2).simplify?.first)
        #expect(strictResult.reason == .errorLimit)
        let report = try simplify(
            &scene, options: SimplifyOptions(ratio: 0.2, targetError: 0.001, aggressive: true), threads: 2)
        let result = try #require(report.simplify?.first)
        // At 0.1 % error the sphere stops far above 20 %; the 10 % bound goes further with topology kept.
        #expect(result.method == .collapseLargerError)
        #expect(result.achievedTriangles < strictResult.achievedTriangles && result.error <= aggressiveError)
        #expect(Check.isValid(scene.meshes[0].primitives[0]))
    }
}
