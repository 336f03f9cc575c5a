import Foundation
import Scene
import Testing

@testable import Stages

@Suite struct FlatNormalsTests {
    /// A flat n × n grid of `cell`-sized squares in the plane tilted 30° about x, with its normal at every vertex.
    func tiltedGrid(cells n: Int, cell: Float, origin: SIMD3<Float> = .zero) -> Primitive {
        let u = SIMD3<Float>(1, 0, 0)
        let v = SIMD3<Float>(0, cos(Float.pi / 6), sin(Float.pi / 6))
        let normal = normalize(cross(u, v))
        var p = Primitive()
        for j in 0...n {
            for i in 0...n {
                p.vertices.positions.append(origin + (Float(i) * u + Float(j) * v) * cell)
                p.vertices.normals.append(normal)
            }
        }
        for j in 0..<n {
            for i in 0..<n {
                let a = UInt32(j * (n + 1) + i)
                let b = a + UInt32(n + 1)
                p.indices += [a, a + 1, b + 1, a, b + 1, b]
            }
        }
        return p
    }

    @Test func flatNormalsGoAndTheWeldSharesTheirVertices() throws {
        var scene = Geometry.scene([Geometry.mesh("cube", [Geometry.cube(normals: true)])])
        let report = dropFlatNormals(&scene, positionBits: 14, weld: true, threads: 1)
        #expect(report.notes == ["dropped NORMAL (flat: viewers compute it) from 1 primitive(s)"])
        #expect(scene.meshes[0].primitives[0].vertices.normals.isEmpty)
        #expect(scene.meshes[0].primitives[0].vertexCount == 8)
        #expect(scene.meshes[0].primitives[0].triangleCount == 12)
    }

    @Test func smoothNormalsStay() {
        var scene = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 8, segments: 12)])])
        let report = dropFlatNormals(&scene, positionBits: nil, weld: false, threads: 1)
        #expect(report.notes.isEmpty)
        #expect(!scene.meshes[0].primitives[0].vertices.normals.isEmpty)
    }

    @Test func smallTiltedTrianglesKeepTheirNormalsOnACoarseGrid() {
        // Cells of 0.01 in a mesh 100 wide: a grid step of 100 / 16383 could tilt them by degrees; the one large
        // triangle of the other primitive cannot tilt by more than a hundredth of a degree.
        var large = tiltedGrid(cells: 1, cell: 100)
        large.indices.removeLast(3)
        let small = tiltedGrid(cells: 4, cell: 0.01)
        var quantized = Geometry.scene([Geometry.mesh("mixed", [small, large])])
        var floats = quantized
        _ = dropFlatNormals(&quantized, positionBits: 14, weld: false, threads: 1)
        #expect(!quantized.meshes[0].primitives[0].vertices.normals.isEmpty)
        #expect(quantized.meshes[0].primitives[1].vertices.normals.isEmpty)
        // Stored as floats, a viewer computes the very normal of each triangle.
        _ = dropFlatNormals(&floats, positionBits: nil, weld: false, threads: 1)
        #expect(floats.meshes[0].primitives.allSatisfy { $0.vertices.normals.isEmpty })
        // Small squares along the grid's axes do not tilt: equal coordinates stay equal.
        var cube = Geometry.cube(normals: true)
        cube.vertices.positions = cube.vertices.positions.map { $0 * 0.01 }
        var axisAligned = Geometry.scene([Geometry.mesh("mixed", [cube, large])])
        _ = dropFlatNormals(&axisAligned, positionBits: 14, weld: false, threads: 1)
        #expect(axisAligned.meshes[0].primitives[0].vertices.normals.isEmpty)
    }

    @Test func normalMapsMorphTargetsAndBentNormalsKeepThem() {
        var mapped = Geometry.scene([Geometry.mesh("cube", [Geometry.cube(normals: true)])])
        var material = Material(name: "bumpy")
        material.normalTexture = TextureRef(texture: 0)
        mapped.materials = [material]
        mapped.meshes[0].primitives[0].material = 0
        _ = dropFlatNormals(&mapped, positionBits: nil, weld: false, threads: 1)
        #expect(!mapped.meshes[0].primitives[0].vertices.normals.isEmpty)

        var morphed = Geometry.scene([Geometry.mesh("cube", [Geometry.cube(normals: true)])])
        var target = MorphTarget()
        target.positions = morphed.meshes[0].primitives[0].vertices.positions.map { $0 * 0.1 }
        morphed.meshes[0].primitives[0].targets = [target]
        _ = dropFlatNormals(&morphed, positionBits: nil, weld: false, threads: 1)
        #expect(!morphed.meshes[0].primitives[0].vertices.normals.isEmpty)

        // One corner's normal 2° off its faces: more than the tolerance.
        var bent = Geometry.scene([Geometry.mesh("cube", [Geometry.cube(normals: true)])])
        let angle = Float(2) * .pi / 180
        bent.meshes[0].primitives[0].vertices.normals[0] = normalize(SIMD3(1, tan(angle), 0))
        _ = dropFlatNormals(&bent, positionBits: nil, weld: false, threads: 1)
        #expect(!bent.meshes[0].primitives[0].vertices.normals.isEmpty)
    }
}
