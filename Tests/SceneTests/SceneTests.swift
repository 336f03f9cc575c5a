import Testing

@testable import Scene

@Suite struct MatrixTests {
    @Test func trsMatrixMatchesComposition() {
        // 90° about Y: x → -z.
        let s = Float(0.5).squareRoot()
        let m = Matrix4(translation: [1, 2, 3], rotation: [0, s, 0, s], scale: [2, 2, 2])
        let p = m.transformPoint([1, 0, 0])
        #expect(abs(p.x - 1) < 1e-5 && abs(p.y - 2) < 1e-5 && abs(p.z - 1) < 1e-5)
    }

    @Test func multiplicationAppliesRightThenLeft() {
        let translate = Matrix4(translation: [0, 0, 5], rotation: [0, 0, 0, 1], scale: .one)
        let scale = Matrix4(translation: .zero, rotation: [0, 0, 0, 1], scale: [3, 3, 3])
        #expect((translate * scale).transformPoint([1, 1, 1]) == SIMD3(3, 3, 8))
        #expect((scale * translate).transformPoint([1, 1, 1]) == SIMD3(3, 3, 18))
        #expect(Matrix4.identity * translate == translate)
    }
}

@Suite struct StatisticsTests {
    /// A triangle mesh drawn by two nodes, one a child of the other.
    func twoInstanceScene() -> Scene {
        var scene = Scene()
        var prim = Primitive()
        prim.vertices.positions = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
        prim.indices = [0, 1, 2]
        var mesh = Mesh(name: "tri")
        mesh.primitives = [prim]
        scene.meshes = [mesh]
        var parent = Node(name: "parent")
        parent.mesh = 0
        parent.transform = .trs(translation: [10, 0, 0], rotation: [0, 0, 0, 1], scale: .one)
        parent.children = [1]
        var child = Node(name: "child")
        child.mesh = 0
        child.transform = .trs(translation: [0, 0, -2], rotation: [0, 0, 0, 1], scale: [2, 2, 2])
        scene.nodes = [parent, child]
        scene.roots = [0]
        return scene
    }

    @Test func countsMeshesOnceAndInstancesPerNode() {
        let scene = twoInstanceScene()
        let s = scene.statistics
        #expect(s.nodes == 2 && s.meshes == 1 && s.primitives == 1 && s.vertices == 3 && s.triangles == 1)
        #expect(scene.instancedTriangleCount == 2)
    }

    @Test func worldBoundsFollowTheHierarchy() throws {
        let bounds = try #require(twoInstanceScene().worldBounds())
        #expect(bounds.min == SIMD3(10, 0, -2))
        #expect(bounds.max == SIMD3(12, 2, 0))
    }

    @Test func emptySceneHasNoBounds() {
        #expect(Scene().worldBounds() == nil)
    }
}

@Suite struct ErrorTests {
    @Test func descriptionIsOneLineNamingTheFile() {
        let e = ProcessingError(.badInput, file: "in/chair.fbx", "bad header\nsecond line")
        #expect(e.description == "in/chair.fbx: bad header second line")
        #expect(!e.description.contains("\n"))
    }
}
