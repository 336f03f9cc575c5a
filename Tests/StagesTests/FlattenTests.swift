import Foundation
import Scene
import Testing

@testable import Stages

/// A transformed group of cubes: A rotated and moved, B mirrored, C animated, D carrying a camera, E an empty
/// locator; F draws the same mesh as A's neighbour G (a small shared mesh).
private func group() -> Scene {
    var scene = Scene()
    scene.meshes = (0..<5).map { Geometry.mesh("Mesh \($0)", [Geometry.cube(normals: true)]) }
    scene.cameras = [.perspective(name: "View", yfov: 0.8, aspectRatio: nil, znear: 0.1, zfar: nil)]
    var root = Node(name: "Group")
    root.transform = .trs(translation: SIMD3(0, 5, 0), rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(repeating: 2))
    root.children = [1, 2, 3, 4, 5, 6, 7]
    func node(_ name: String, mesh: Int?, _ transform: Transform) -> Node {
        var node = Node(name: name)
        node.mesh = mesh
        node.transform = transform
        return node
    }
    let quarterTurn = SIMD4<Float>(0, sin(Float.pi / 4), 0, cos(Float.pi / 4))
    scene.nodes = [
        root,
        node("A", mesh: 0, .trs(translation: SIMD3(1, 0, 0), rotation: quarterTurn, scale: .one)),
        node("B", mesh: 1, .trs(translation: SIMD3(-3, 0, 0), rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(-1, 1, 2))),
        node("C", mesh: 2, .identity),
        node("D", mesh: 3, .trs(translation: SIMD3(0, 0, 4), rotation: SIMD4(0, 0, 0, 1), scale: .one)),
        node("E", mesh: nil, .identity),
        node("F", mesh: 4, .trs(translation: SIMD3(0, 3, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)),
        node("G", mesh: 4, .trs(translation: SIMD3(0, -3, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one))
    ]
    scene.nodes[4].camera = 0
    var animation = Animation(name: "Spin")
    var channel = Animation.Channel(node: 3, path: .rotation)
    (channel.times, channel.values) = ([0, 1], [0, 0, 0, 1, 0, 1, 0, 0])
    animation.channels = [channel]
    scene.animations = [animation]
    scene.roots = [0]
    return scene
}

/// Every drawn triangle in world space as a viewer draws it (under a mirroring node the winding reverses, as glTF
/// specifies), corners rounded and rotated to start at the smallest, each with whether its front faces the way its
/// world vertex normals point.
private func worldTriangles(_ scene: Scene) -> [String] {
    let world = scene.worldTransforms()
    var result: [String] = []
    for (n, node) in scene.nodes.enumerated() {
        guard let m = node.mesh else { continue }
        let matrix = world[n]
        let normalMatrix = matrix.normalMatrix
        let mirrored = matrix.determinant3 < 0
        for primitive in scene.meshes[m].primitives {
            let v = primitive.vertices
            for t in stride(from: 0, to: primitive.indices.count, by: 3) {
                let ordered = (0..<3).map { Int(primitive.indices[t + $0]) }
                let corners = mirrored ? ordered.reversed() : ordered
                let points = corners.map { matrix.transformPoint(v.positions[$0]) }
                let normal = corners.map { i in
                    normalMatrix.0 * v.normals[i].x + normalMatrix.1 * v.normals[i].y + normalMatrix.2 * v.normals[i].z
                }.reduce(.zero, +)
                let facing = dot(cross(points[1] - points[0], points[2] - points[0]), normal) > 0
                let text = points.map { p in String(format: "(%.4f %.4f %.4f)", p.x, p.y, p.z) }
                let first = text.indices.min { text[$0] < text[$1] }!
                result.append((text[first...] + text[..<first]).joined() + (facing ? " out" : " in"))
            }
        }
    }
    return result.sorted()
}

@Suite struct FlattenTests {
    @Test func staticMeshesMoveToOneNodeAndDrawTheSame() {
        let before = group()
        var after = before
        let report = flattenStaticNodes(&after)

        #expect(worldTriangles(after) == worldTriangles(before))
        #expect(worldTriangles(after).allSatisfy { $0.hasSuffix(" out") }, "a mirrored copy kept its winding")
        // A, B, D, F and G were baked; C (animated) keeps its mesh, D keeps its camera, E stays (it was
        // empty before), the group keeps its remaining children; the merged mesh hangs on a new root.
        #expect(after.nodes.map(\.name) == ["Group", "C", "D", "E", ""])
        #expect(after.nodes[1].mesh != nil && after.nodes[2].mesh == nil && after.nodes[2].camera == 0)
        #expect(after.roots == [0, 4])
        #expect(after.meshes.count == 2 && after.nodes[4].mesh == 1)
        #expect(after.meshes[1].primitives.count == 5)
        #expect(after.animations[0].channels[0].node == 1, "the animation follows its node")
        #expect(report.notes.first?.contains("5 static nodes") == true, "\(report.notes)")
    }

    @Test func aLargeSharedMeshStaysShared() {
        var scene = group()
        let big = Geometry.uvSphere(rings: 40, segments: 40)  // 1,681 vertices: a copy would add more than 1,024
        scene.meshes[4].primitives = [big]
        _ = flattenStaticNodes(&scene)
        #expect(scene.nodes.filter { $0.name == "F" || $0.name == "G" }.allSatisfy { $0.mesh != nil })
        #expect(scene.meshes.filter { $0.primitives == [big] }.count == 1)
    }

    @Test func oneMovableNodeIsLeftAlone() {
        var scene = Scene()
        scene.meshes = [Geometry.mesh("Cube", [Geometry.cube(normals: true)])]
        var node = Node(name: "Only")
        node.mesh = 0
        node.transform = .trs(translation: SIMD3(1, 2, 3), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        scene.nodes = [node]
        scene.roots = [0]
        let before = scene
        _ = flattenStaticNodes(&scene)
        #expect(scene == before)
    }
}
