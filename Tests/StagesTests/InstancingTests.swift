import Foundation
import Importers
import Scene
import Testing

@testable import Stages

/// A parent with `copies` children drawing one cube at different places, rotations and scales.
private func crowd(copies: Int) -> Scene {
    var scene = Scene()
    var mesh = Mesh(name: "Cube")
    mesh.primitives = [Geometry.cube(normals: true)]
    scene.meshes = [mesh]
    var parent = Node(name: "Crowd")
    parent.transform = .trs(translation: SIMD3(0, 5, 0), rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(repeating: 2))
    parent.children = Array(1...copies)
    scene.nodes = [parent]
    for i in 0..<copies {
        var node = Node(name: "Copy \(i)")
        node.mesh = 0
        let angle = Float(i) * 0.1
        node.transform = .trs(
            translation: SIMD3(Float(i), 0, Float(i % 3)),
            rotation: SIMD4(0, sin(angle / 2), 0, cos(angle / 2)), scale: SIMD3(repeating: 1 + Float(i % 4) * 0.25))
        scene.nodes.append(node)
    }
    scene.roots = [0]
    return scene
}

/// Every drawn copy of every mesh as (mesh, world matrix), sorted, to compare what two scenes draw.
private func drawn(_ scene: Scene) -> [String] {
    let world = scene.worldTransforms()
    var result: [String] = []
    for (n, node) in scene.nodes.enumerated() {
        guard let m = node.mesh else { continue }
        let placements = node.instances.isEmpty ? [world[n]] : node.instances.map { world[n] * $0.matrix }
        result += placements.map { p in
            "\(m): " + p.columnMajor.map { String(format: "%.4f", $0) }.joined(separator: " ")
        }
    }
    return result.sorted()
}

private func distance(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { ((a - b) * (a - b)).sum().squareRoot() }

/// A corpus FBX whose 8 nodes draw one mesh (Blender linked duplicates); nil when the corpus is absent.
private let corpusInstancing: URL? = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/corpus/files/fbx/ufbx__blender_293_instancing_7400_binary.fbx")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}()

@Suite("Stages: instanceMeshes")
struct InstancingTests {
    @Test func fiftyCopiesBecomeOneInstancedNode() throws {
        let input = crowd(copies: 50)
        var scene = input
        let report = instanceMeshes(&scene)
        #expect(scene.nodes.count == 2)
        #expect(scene.nodes[0].children == [1])
        #expect(scene.nodes[1].name == "Copy 0")
        #expect(scene.nodes[1].transform == .identity)
        #expect(scene.nodes[1].instances.count == 50)
        guard case let .trs(t, r, s) = input.nodes[7].transform else {
            Issue.record("not TRS")
            return
        }
        #expect(scene.nodes[1].instances[6] == InstanceTransform(translation: t, rotation: r, scale: s))
        #expect(report.before.instancedTriangles == 50 * 12)
        #expect(report.after.instancedTriangles == 50 * 12)
        #expect(report.after.nodes == 2)
        #expect(report.notes == ["folded 50 nodes into 1 instanced node(s)"])
        #expect(drawn(scene) == drawn(input))
        let inputBounds = try #require(input.worldBounds())
        let bounds = try #require(scene.worldBounds())
        #expect(distance(inputBounds.min, bounds.min) < 1e-4 && distance(inputBounds.max, bounds.max) < 1e-4)

        var again = input
        _ = instanceMeshes(&again)
        #expect(again == scene)
    }

    @Test func rootsAndSeveralMeshesGroupSeparately() {
        var scene = crowd(copies: 4)
        var other = Mesh(name: "Other")
        other.primitives = [Geometry.cube(normals: false)]
        scene.meshes.append(other)
        scene.nodes[2].mesh = 1
        scene.nodes[4].mesh = 1
        // Two root copies of mesh 0 next to the parent.
        var a = Node(name: "RootA")
        var b = Node(name: "RootB")
        a.mesh = 0
        b.mesh = 0
        b.transform = .trs(translation: SIMD3(9, 0, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        scene.nodes += [a, b]
        scene.roots = [5, 0, 6]
        let input = scene
        let report = instanceMeshes(&scene)
        #expect(report.notes == ["folded 6 nodes into 3 instanced node(s)"])
        #expect(scene.nodes.map(\.name) == ["Crowd", "Copy 0", "Copy 1", "RootA"])
        #expect(scene.roots == [3, 0])
        #expect(scene.nodes[0].children == [1, 2])
        #expect(scene.nodes.map(\.instances.count) == [0, 2, 2, 2])
        #expect(drawn(scene) == drawn(input))
    }

    @Test func nodesWithChildrenAnimationSkinsOrMorphsStay() {
        // Children.
        var scene = crowd(copies: 3)
        scene.nodes.append(Node(name: "Grandchild"))
        scene.nodes[1].children = [4]
        var tree = scene
        _ = instanceMeshes(&tree)
        #expect(tree.nodes.map(\.name) == ["Crowd", "Copy 0", "Copy 1", "Grandchild"])
        #expect(tree.nodes[2].instances.count == 2)
        #expect(tree.nodes[1].instances.isEmpty && tree.nodes[1].children == [3])

        // An animated copy keeps its node; so does a joint; the animation and skin follow the remapped indices.
        scene = crowd(copies: 4)
        var animation = Animation(name: "Spin")
        var channel = Animation.Channel(node: 4, path: .rotation)
        channel.times = [0, 1]
        channel.values = [0, 0, 0, 1, 0, 1, 0, 0]
        animation.channels = [channel]
        scene.animations = [animation]
        var skin = Skin(name: "Rig")
        skin.joints = [2]
        skin.skeleton = 2
        scene.skins = [skin]
        var rigged = scene
        _ = instanceMeshes(&rigged)
        #expect(rigged.nodes.map(\.name) == ["Crowd", "Copy 0", "Copy 1", "Copy 3"])
        #expect(rigged.nodes[1].instances.count == 2)
        #expect(rigged.animations[0].channels[0].node == 3)
        #expect(rigged.skins[0].joints == [2] && rigged.skins[0].skeleton == 2)
        #expect(drawn(rigged) == drawn(scene))

        // Skinned, morphing, matrix-transformed and camera nodes are never folded.
        for change in 0..<4 {
            var s = crowd(copies: 2)
            switch change {
            case 0:
                var rig = Skin()
                rig.joints = [0]
                s.skins = [rig]
                s.nodes[1].skin = 0
                s.nodes[2].skin = 0
            case 1:
                var target = MorphTarget()
                target.positions = [SIMD3<Float>](repeating: SIMD3(0, 1, 0), count: 24)
                s.meshes[0].primitives[0].targets = [target]
            case 2: s.nodes[2].transform = .matrix(.identity)
            default:
                s.cameras = [.perspective(name: "", yfov: 1, aspectRatio: nil, znear: 0.1, zfar: nil)]
                s.nodes[1].camera = 0
            }
            let before = s
            let report = instanceMeshes(&s)
            #expect(s == before, "case \(change)")
            #expect(report.notes.isEmpty)
        }
    }

    @Test(.enabled(if: corpusInstancing != nil, "corpus not present"))
    func blenderLinkedDuplicatesFold() throws {
        var scene = try importScene(from: try #require(corpusInstancing))
        _ = prune(&scene)
        _ = try deduplicate(&scene)
        let input = scene
        let report = instanceMeshes(&scene)
        #expect(report.notes == ["folded 8 nodes into 1 instanced node(s)"])
        #expect(scene.nodes.count == input.nodes.count - 7)
        #expect(report.after.instancedTriangles == report.before.instancedTriangles)
        #expect(drawn(scene) == drawn(input))
    }
}
