import FBXImporter
import Foundation
import Scene
import TestSupport
import Testing

private let second: Int64 = 46_186_158_000

private func limb(_ id: Int64, _ name: String, _ properties: [WNode] = []) -> WNode {
    WNode(
        "Model", [.i64(id), .string(name + "\u{0}\u{1}Model"), "LimbNode"],
        [WNode("Version", [232]), WNode("Properties70", [], properties)])
}

private func deformer(_ id: Int64, _ name: String, _ subclass: String, _ children: [WNode]) -> WNode {
    let kind = subclass == "Skin" || subclass == "BlendShape" ? "Deformer" : "SubDeformer"
    return WNode("Deformer", [.i64(id), .string(name + "\u{0}\u{1}" + kind), .string(subclass)], children)
}

private func translationMatrix(_ t: (Double, Double, Double)) -> [Double] {
    [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, t.0, t.1, t.2, 1]
}

private func curveNode(_ id: Int64, _ name: String, _ values: [(String, Double)]) -> WNode {
    WNode(
        "AnimationCurveNode", [.i64(id), .string(name + "\u{0}\u{1}AnimCurveNode"), ""],
        [WNode("Properties70", [], values.map { prop($0.0, "Number", [.f64($0.1)]) })])
}

private func curve(_ id: Int64, times: [Int64], values: [Double]) -> WNode {
    WNode(
        "AnimationCurve", [.i64(id), .string("\u{0}\u{1}AnimCurve"), ""],
        [WNode("KeyTime", [.i64s(times)]), WNode("KeyValueFloat", [.f64s(values)])])
}

/// The unit cube of `cubeDocument` skinned to two bones (points 0–3 on the hip, 4–6 shared 3:1 with the spine, point 7
/// on neither), with a "Smile" blend shape at 50 % moving points 4 and 5, and one animation stack: the cube's X
/// translation 0 → 2 over a second, its Z rotation 0 → 90 → 180 over two (after a 90° X pre-rotation) and the smile
/// 0 → 100 % over a second.
private func deformedCube() -> [WNode] {
    var document = cubeDocument(modelProperties: [vectorProp("PreRotation", (90, 0, 0))])
    let objects = [
        limb(40, "Hip"),
        limb(41, "Spine", [vectorProp("Lcl Translation", (0, 1, 0))]),
        deformer(50, "Skin", "Skin", []),
        deformer(
            51, "HipCluster", "Cluster",
            [
                WNode("Indexes", [.i32s([0, 1, 2, 3, 4, 5, 6])]),
                WNode("Weights", [.f64s([1, 1, 1, 1, 0.75, 0.75, 0.75])]),
                WNode("Transform", [.f64s(translationMatrix((0, 0, 0)))]),
                WNode("TransformLink", [.f64s(translationMatrix((0, 0, 0)))])
            ]),
        deformer(
            52, "SpineCluster", "Cluster",
            [
                WNode("Indexes", [.i32s([4, 5, 6])]), WNode("Weights", [.f64s([0.25, 0.25, 0.25])]),
                WNode("Transform", [.f64s(translationMatrix((0, -1, 0)))]),
                WNode("TransformLink", [.f64s(translationMatrix((0, 1, 0)))])
            ]),
        deformer(60, "Faces", "BlendShape", []),
        deformer(
            61, "Smile", "BlendShapeChannel", [WNode("Properties70", [], [prop("DeformPercent", "Number", [50.0])])]),
        WNode(
            "Geometry", [.i64(62), .string("Smile\u{0}\u{1}Geometry"), "Shape"],
            [WNode("Indexes", [.i32s([4, 5])]), WNode("Vertices", [.f64s([0, 0, 1, 0, 0, 2])])]),
        WNode(
            "AnimationStack", [.i64(70), .string("Take 001\u{0}\u{1}AnimStack"), ""],
            [WNode("Properties70", [], [prop("LocalStart", "KTime", [.i64(0)])])]),
        WNode("AnimationLayer", [.i64(71), .string("BaseLayer\u{0}\u{1}AnimLayer"), ""]),
        curveNode(72, "T", [("d|X", 0), ("d|Y", 0), ("d|Z", 0)]),
        curve(73, times: [0, second], values: [0, 2]),
        curveNode(74, "R", [("d|X", 0), ("d|Y", 0), ("d|Z", 0)]),
        curve(75, times: [0, second, 2 * second], values: [0, 90, 180]),
        curveNode(76, "DeformPercent", [("d|DeformPercent", 50)]),
        curve(77, times: [0, second], values: [0, 100])
    ]
    let connections: [(String, Int64, Int64, String?)] = [
        ("OO", 40, 0, nil), ("OO", 41, 40, nil), ("OO", 50, 20, nil), ("OO", 51, 50, nil), ("OO", 52, 50, nil),
        ("OO", 40, 51, nil), ("OO", 41, 52, nil), ("OO", 60, 20, nil), ("OO", 61, 60, nil), ("OO", 62, 61, nil),
        ("OO", 71, 70, nil), ("OO", 72, 71, nil), ("OO", 74, 71, nil), ("OO", 76, 71, nil),
        ("OP", 72, 10, "Lcl Translation"), ("OP", 73, 72, "d|X"), ("OP", 74, 10, "Lcl Rotation"),
        ("OP", 75, 74, "d|Z"), ("OP", 76, 61, "DeformPercent"), ("OP", 77, 76, "d|DeformPercent")
    ]
    let objectsIndex = document.firstIndex { $0.name == "Objects" }!
    let connectionsIndex = document.firstIndex { $0.name == "Connections" }!
    document[objectsIndex].children += objects
    document[connectionsIndex].children += connections.map { c in
        WNode("C", [.string(c.0), .i64(c.1), .i64(c.2)] + (c.3.map { [.string($0)] } ?? []))
    }
    return document
}

private func node(_ scene: Scene, _ name: String) -> Int { scene.nodes.firstIndex { $0.name == name }! }

@Suite struct FBXDeformerTests {
    @Test(arguments: ["binary", "ascii"]) func skinWeightsAndBindMatrices(format: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url =
            format == "binary"
            ? try folder.write("skin.fbx", binaryFBX(deformedCube(), compress: true))
            : try folder.write("skin.fbx", Data(asciiFBX(deformedCube()).utf8))
        let scene = try importFBX(from: url, threads: 2)
        try validateScene(scene, file: url.path)
        let cube = node(scene, "CubeModel")
        let skin = try #require(scene.nodes[cube].skin.map { scene.skins[$0] })
        // Two bones, then the cube's own node for point 7, which no cluster weighs.
        #expect(skin.joints == [node(scene, "Hip"), node(scene, "Spine"), cube])
        #expect(
            skin.inverseBindMatrices[1]
                == Matrix4(translation: SIMD3(0, -1, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one))
        let primitive = scene.meshes[scene.nodes[cube].mesh!].primitives[0]
        for (v, p) in primitive.vertices.positions.enumerated() {
            let (joints, weights) = (primitive.vertices.joints[v], primitive.vertices.weights[v])
            switch p {
            case SIMD3(0, 1, 1):  // point 7
                #expect(joints == SIMD4(2, 0, 0, 0) && weights == SIMD4(1, 0, 0, 0))
            case _ where p.z == 1:  // points 4–6
                #expect(joints == SIMD4(0, 1, 0, 0) && weights == SIMD4(0.75, 0.25, 0, 0))
            default:
                #expect(joints == SIMD4(0, 0, 0, 0) && weights == SIMD4(1, 0, 0, 0))
            }
        }
    }

    @Test func blendShapeBecomesMorphTarget() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let scene = try importFBX(from: folder.write("shape.fbx", binaryFBX(deformedCube())), threads: 2)
        let mesh = scene.meshes[scene.nodes[node(scene, "CubeModel")].mesh!]
        #expect(mesh.weights == [0.5])
        let primitive = mesh.primitives[0]
        let target = try #require(primitive.targets.first)
        #expect(target.name == "Smile" && target.positions.count == primitive.vertexCount)
        for (p, offset) in zip(primitive.vertices.positions, target.positions) {
            switch p {
            case SIMD3(0, 0, 1): #expect(offset == SIMD3(0, 0, 1))  // point 4
            case SIMD3(1, 0, 1): #expect(offset == SIMD3(0, 0, 2))  // point 5
            default: #expect(offset == .zero)
            }
        }
    }

    @Test func animationStackBecomesChannels() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let scene = try importFBX(from: folder.write("anim.fbx", binaryFBX(deformedCube())), threads: 2)
        let animation = try #require(scene.animations.first)
        #expect(scene.animations.count == 1 && animation.name == "Take 001")
        let cube = node(scene, "CubeModel")
        func channel(_ path: Animation.Path) throws -> Animation.Channel {
            try #require(animation.channels.first { $0.node == cube && $0.path == path })
        }
        let translation = try channel(.translation)
        #expect(translation.times == [0, 1, 2])
        #expect(translation.values == [0, 0, 0, 2, 0, 0, 2, 0, 0])
        // Pre-rotation 90° about X, then Z: 0°, 90°, 180°; quaternions kept on one side (no sign flips).
        let rotation = try channel(.rotation)
        let h = Float(0.5).squareRoot()
        let expected: [SIMD4<Float>] = [SIMD4(h, 0, 0, h), SIMD4(0.5, -0.5, 0.5, 0.5), SIMD4(0, -h, h, 0)]
        for (k, q) in expected.enumerated() {
            let got = SIMD4<Float>(rotation.values[4 * k..<4 * k + 4])
            let difference = got - q
            #expect(max(difference.max(), -difference.min()) < 1e-5, "key \(k): \(got) vs \(q)")
        }
        let scale = try channel(.scale)
        #expect(scale.values.allSatisfy { abs($0 - 1) < 1e-6 })
        let weights = try channel(.weights)
        #expect(weights.times == [0, 1] && weights.values == [0, 1])
        // The rest pose is unchanged by the animation.
        #expect(scene.nodes[cube].transform == .trs(translation: .zero, rotation: SIMD4(h, 0, 0, h), scale: .one))
    }

    /// `InheritType` 2 (Rrs, Maya's segment scale compensation): the parent's scale moves the child but does not
    /// scale it.
    @Test func segmentScaleCompensation() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let document = fbxDocument(
            objects: [
                limb(40, "Parent", [prop("Lcl Scaling", "Lcl Scaling", [2.0, 2.0, 2.0])]),
                limb(
                    41, "Child",
                    [vectorProp("Lcl Translation", (1, 0, 0)), prop("InheritType", "enum", [.i32(2)])]),
                model(10, "CubeModel"), cubeGeometry(20)
            ], connections: [("OO", 40, 0, nil), ("OO", 41, 40, nil), ("OO", 10, 41, nil), ("OO", 20, 10, nil)])
        let scene = try importFBX(from: folder.write("rrs.fbx", binaryFBX(document)), threads: 2)
        // Below the root's uniform unit scale (cm → m): the child sits at x = 2 with scale 1.
        let world = scene.worldTransforms()
        let (child, root) = (world[node(scene, "Child")], world[scene.roots[0]])
        let unit: Float = length(SIMD3<Float>(root.c0.x, root.c0.y, root.c0.z))
        let position = SIMD3<Float>(child.c3.x, child.c3.y, child.c3.z) / unit
        let scale: Float = length(SIMD3<Float>(child.c0.x, child.c0.y, child.c0.z)) / unit
        #expect(close(position, SIMD3(2, 0, 0), 1e-5) && abs(scale - 1) < 1e-5)
    }

    @Test func lineGeometry() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let line = WNode(
            "Geometry", [.i64(21), .string("Curve\u{0}\u{1}Geometry"), "Line"],
            [WNode("Points", [.f64s([0, 0, 0, 1, 0, 0, 1, 1, 0, 5, 5, 5])]), WNode("PointsIndex", [.i32s([0, 1, ~2])])])
        var document = cubeDocument()
        let objectsIndex = document.firstIndex { $0.name == "Objects" }!
        let connectionsIndex = document.firstIndex { $0.name == "Connections" }!
        document[objectsIndex].children += [model(11, "CurveModel"), line]
        document[connectionsIndex].children += [
            WNode("C", ["OO", .i64(11), .i64(0)]), WNode("C", ["OO", .i64(21), .i64(11)])
        ]
        let scene = try importFBX(from: folder.write("line.fbx", binaryFBX(document)), threads: 2)
        let primitive = scene.meshes[scene.nodes[node(scene, "CurveModel")].mesh!].primitives[0]
        #expect(primitive.mode == .lines && primitive.indices == [0, 1, 1, 2])
        #expect(primitive.vertexCount == 4)  // every point, as the Assimp route keeps them
    }
}

@Suite struct FBXDeformerEdgeTests {
    /// Replaces the children of the `Objects` node whose first value is `id`.
    private func replacing(_ id: Int64, in document: [WNode], with node: WNode) -> [WNode] {
        var document = document
        let objects = document.firstIndex { $0.name == "Objects" }!
        let index = document[objects].children.firstIndex {
            if case .i64(id) = $0.values.first { return true } else { return false }
        }!
        document[objects].children[index] = node
        return document
    }

    @Test func twoClustersOnOneBoneAreOneJoint() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // The spine's cluster bound to the hip instead: one joint, the points' weights added up (0.75 + 0.25).
        var document = deformedCube()
        let connections = document.firstIndex { $0.name == "Connections" }!
        document[connections].children = document[connections].children.map { c in
            guard case .i64(41) = c.values[1], case .i64(52) = c.values[2] else { return c }
            return WNode("C", ["OO", .i64(40), .i64(52)])
        }
        let scene = try importFBX(from: folder.write("merged.fbx", binaryFBX(document)), threads: 2)
        try validateScene(scene, file: "merged.fbx")
        let cube = node(scene, "CubeModel")
        let skin = try #require(scene.nodes[cube].skin.map { scene.skins[$0] })
        #expect(skin.joints == [node(scene, "Hip"), cube])
        let vertices = scene.meshes[scene.nodes[cube].mesh!].primitives[0].vertices
        for (p, w) in zip(vertices.positions, vertices.weights) where p.z == 1 && p != SIMD3(0, 1, 1) {
            #expect(w == SIMD4(1, 0, 0, 0))
        }
    }

    /// A geometric transform is already in the vertices: the inverse bind is the cluster's `Transform` (mesh node →
    /// bone) as it is.
    @Test func geometricTransformIsNotInTheInverseBind() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let cube = model(10, "CubeModel", [prop("GeometricTranslation", "Vector3D", [0.0, 0.0, 5.0])])
        let document = replacing(10, in: deformedCube(), with: cube)
        let scene = try importFBX(from: folder.write("geometric.fbx", binaryFBX(document)), threads: 2)
        let drawn = scene.nodes[node(scene, "CubeModel")]
        let skin = scene.skins[drawn.skin!]
        #expect(
            skin.inverseBindMatrices[1]
                == Matrix4(translation: SIMD3(0, -1, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one))
        #expect(scene.meshes[drawn.mesh!].primitives[0].vertices.positions.allSatisfy { $0.z >= 5 })
    }

    /// FBX 6.x keeps blend shapes as `Shape` children of the geometry: morph targets at weight 0.
    @Test func legacyShapes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var document = cubeDocument(version: 6100)
        let objects = document.firstIndex { $0.name == "Objects" }!
        let geometry = document[objects].children.firstIndex { $0.name == "Geometry" }!
        document[objects].children[geometry].children.append(
            WNode("Shape", ["Lift"], [WNode("Indexes", [.i32s([6])]), WNode("Vertices", [.f64s([0, 0.5, 0])])]))
        let scene = try importFBX(from: folder.write("shape6.fbx", binaryFBX(document, version: 6100)), threads: 2)
        let mesh = scene.meshes[0]
        #expect(mesh.weights == [0])
        let primitive = mesh.primitives[0]
        let target = try #require(primitive.targets.first)
        #expect(target.name == "Lift")
        for (p, offset) in zip(primitive.vertices.positions, target.positions) {
            #expect(offset == (p == SIMD3(1, 1, 1) ? SIMD3(0, 0.5, 0) : .zero))
        }
    }

    /// Extreme key values and times (overflowing Float interpolation, times at the ends of Int64, a rotation that
    /// turns by 1e38 degrees between keys) and huge weights give a valid scene, never a trap.
    @Test func hostileCurvesAndWeights() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var document = replacing(
            75, in: deformedCube(),
            with: curve(75, times: [Int64.min, -5, 0, Int64.max], values: [3e38, -3e38, 3e38, -3e38]))
        document = replacing(
            73, in: document, with: curve(73, times: [Int64.max - 1, Int64.max, 7, 7], values: [1e38, -1e38, 1, 2]))
        document = replacing(
            51, in: document,
            with: deformer(
                51, "HipCluster", "Cluster",
                [
                    WNode("Indexes", [.i32s([0, 0, 0, 0, 1, -1, 99])]),
                    WNode("Weights", [.f64s([3e38, 3e38, 3e38, 3e38, 1e300, 1, 1])]),
                    WNode("Transform", [.f64s(translationMatrix((1e300, 0, 0)))])
                ]))
        let url = try folder.write("hostile.fbx", binaryFBX(document))
        let scene = try importFBX(from: url, threads: 2)
        try validateScene(scene, file: url.path)
        let vertices = scene.meshes[0].primitives[0].vertices
        for w in vertices.weights { #expect(abs(w.sum() - 1) < 1e-3) }
        #expect(
            scene.animations.first?.channels.allSatisfy { zip($0.times, $0.times.dropFirst()).allSatisfy { $0 < $1 } }
                == true)
    }
}
