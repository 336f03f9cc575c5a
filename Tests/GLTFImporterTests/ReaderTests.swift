import Foundation
import Scene
import Testing

@testable import GLTFImporter

@Suite("glTF reader: core glTF 2.0")
struct ReaderTests {
    @Test("interleaved, normalized and integer accessors; several TEXCOORD sets; COLOR_0 as unorm16 VEC3")
    func accessorFormats() throws {
        var b = GLTFBuilder()
        // Interleaved POSITION + NORMAL, stride 24.
        let interleaved: [Float] = [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]
        let v = b.view(bytes(of: interleaved), stride: 24)
        let position = b.accessor(view: v, componentType: 5126, count: 3, type: "VEC3")
        let normal = b.accessor(view: v, componentType: 5126, count: 3, type: "VEC3", extra: ["byteOffset": 12])
        let uv0 = b.accessor(
            view: b.view([0, 0, 255, 0, 0, 255, 0, 0]), componentType: 5121, count: 3, type: "VEC2", normalized: true)
        let uv1 = b.floats([0.5, 0.5, 0.25, 0.75, 2, -1], type: "VEC2")
        let color = b.accessor(
            view: b.view(bytes(of: [UInt16](arrayLiteral: 65535, 0, 0, 0, 65535, 0, 0, 0, 32768, 0))),
            componentType: 5123, count: 3, type: "VEC3", normalized: true)
        let indices = b.accessor(view: b.view([0, 1, 2, 0]), componentType: 5121, count: 3, type: "SCALAR")
        _ = b.add(
            "meshes",
            [
                "primitives": [
                    [
                        "attributes": [
                            "POSITION": position, "NORMAL": normal, "TEXCOORD_0": uv0,
                            "TEXCOORD_1": uv1, "COLOR_0": color
                        ], "indices": indices
                    ]
                ]
            ])
        _ = b.add("nodes", ["mesh": 0])
        b.json["scenes"] = [["nodes": [0]]]
        let scene = try importBuilt(b)
        let p = scene.meshes[0].primitives[0]
        #expect(p.vertices.positions == [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)])
        #expect(p.vertices.normals == [SIMD3<Float>](repeating: SIMD3(0, 0, 1), count: 3))
        #expect(p.vertices.texcoords[0] == [SIMD2(0, 0), SIMD2(1, 0), SIMD2(0, 1)])
        #expect(p.vertices.texcoords[1] == [SIMD2(0.5, 0.5), SIMD2(0.25, 0.75), SIMD2(2, -1)])
        #expect(p.vertices.colors[0] == SIMD4(1, 0, 0, 1) && p.vertices.colors[1] == SIMD4(0, 1, 0, 1))
        #expect(abs(p.vertices.colors[2].z - 32768 / 65535) < 1e-6)
        #expect(p.indices == [0, 1, 2])
        #expect(p.material == nil && p.mode == .triangles)
    }

    @Test("KHR_mesh_quantization: integer positions as they are, normalized signed normals mapped to [-1, 1]")
    func quantizedAttributes() throws {
        var b = GLTFBuilder()
        b.json["extensionsUsed"] = ["KHR_mesh_quantization"]
        b.json["extensionsRequired"] = ["KHR_mesh_quantization"]
        let positions = b.accessor(
            view: b.view(bytes(of: [Int16](arrayLiteral: 0, 0, 0, 0, 100, 0, 0, 0, -300, 0, 0, 0)), stride: 8),
            componentType: 5122, count: 3, type: "VEC3")
        let normals = b.accessor(
            view: b.view([0, 0, 127, 0, 0, 0, 0x81, 0, 0, 0, 0x80, 0], stride: 4), componentType: 5120, count: 3,
            type: "VEC3", normalized: true)
        _ = b.triangleScene(positions: [], attributes: ["POSITION": positions, "NORMAL": normals])
        // triangleScene added its own (empty) POSITION accessor first; the attribute map points at ours.
        let p = try importBuilt(b).meshes[0].primitives[0]
        #expect(p.vertices.positions == [SIMD3(0, 0, 0), SIMD3(100, 0, 0), SIMD3(-300, 0, 0)])
        #expect(p.vertices.normals == [SIMD3(0, 0, 1), SIMD3(0, 0, -1), SIMD3(0, 0, -1)])
    }

    @Test("sparse accessors: with and without a bufferView; a substitution past the end is refused")
    func sparse() throws {
        var b = GLTFBuilder()
        let indices = b.view(bytes(of: [UInt16](arrayLiteral: 1, 2)))
        let values = b.view(bytes(of: [Float](arrayLiteral: 5, 5, 5, 7, 7, 7)))
        let sparse: [String: Any] = [
            "count": 2, "indices": ["bufferView": indices, "componentType": 5123],
            "values": ["bufferView": values]
        ]
        let zeros = b.accessor(view: nil, componentType: 5126, count: 3, type: "VEC3", extra: ["sparse": sparse])
        _ = b.triangleScene(positions: [1, 1, 1, 2, 2, 2, 3, 3, 3])
        // Morph target from the sparse zeros accessor; base positions from a bufferView with a sparse override too.
        var meshes = b.json["meshes"] as! [[String: Any]]
        var primitive = (meshes[0]["primitives"] as! [[String: Any]])[0]
        primitive["targets"] = [["POSITION": zeros]]
        meshes[0]["primitives"] = [primitive]
        b.json["meshes"] = meshes
        let p = try importBuilt(b).meshes[0].primitives[0]
        #expect(p.vertices.positions == [SIMD3(1, 1, 1), SIMD3(2, 2, 2), SIMD3(3, 3, 3)])
        #expect(p.targets[0].positions == [SIMD3(0, 0, 0), SIMD3(5, 5, 5), SIMD3(7, 7, 7)])

        var accessors = b.json["accessors"] as! [[String: Any]]
        var badSparse = sparse
        badSparse["count"] = 2
        accessors[zeros]["count"] = 2  // index 2 is now past the end
        accessors[zeros]["sparse"] = badSparse
        b.json["accessors"] = accessors
        #expect(importError(b).contains("index 2 is out of range"))
    }

    @Test("modes: strips, fans and loops become lists with glTF's winding; points and lines kept")
    func modes() throws {
        func primitive(mode: Int, vertices: Int) throws -> Primitive {
            var b = GLTFBuilder()
            _ = b.triangleScene(positions: (0..<vertices * 3).map { Float($0) })
            var meshes = b.json["meshes"] as! [[String: Any]]
            var p = (meshes[0]["primitives"] as! [[String: Any]])[0]
            p["mode"] = mode
            meshes[0]["primitives"] = [p]
            b.json["meshes"] = meshes
            return try importBuilt(b).meshes[0].primitives[0]
        }
        let strip = try primitive(mode: 5, vertices: 5)
        #expect(strip.mode == .triangles && strip.indices == [0, 1, 2, 1, 3, 2, 2, 3, 4])
        let fan = try primitive(mode: 6, vertices: 5)
        #expect(fan.indices == [1, 2, 0, 2, 3, 0, 3, 4, 0])
        let loop = try primitive(mode: 2, vertices: 3)
        #expect(loop.mode == .lines && loop.indices == [0, 1, 1, 2, 2, 0])
        let lineStrip = try primitive(mode: 3, vertices: 3)
        #expect(lineStrip.indices == [0, 1, 1, 2])
        let points = try primitive(mode: 0, vertices: 4)
        #expect(points.mode == .points && points.indices == [0, 1, 2, 3])
        let lines = try primitive(mode: 1, vertices: 4)
        #expect(lines.mode == .lines && lines.triangleCount == 0 && lines.indices.count == 4)
    }

    @Test("skins: two JOINTS/WEIGHTS sets with six influences become the strongest four, renormalized, one warning")
    func skinInfluences() throws {
        var b = GLTFBuilder()
        let joints0 = b.accessor(
            view: b.view([0, 1, 2, 3, 0, 1, 0, 0, 0, 0, 0, 0]), componentType: 5121, count: 3, type: "VEC4")
        let joints1 = b.accessor(
            view: b.view([4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), componentType: 5121, count: 3, type: "VEC4")
        let weights0 = b.floats([0.1, 0.3, 0.05, 0.2, 0.5, 0.5, 0, 0, 1, 0, 0, 0], type: "VEC4")
        let weights1 = b.floats([0.25, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], type: "VEC4")
        _ = b.triangleScene(
            positions: [0, 0, 0, 1, 0, 0, 0, 1, 0],
            attributes: [
                "JOINTS_0": joints0, "JOINTS_1": joints1, "WEIGHTS_0": weights0, "WEIGHTS_1": weights1
            ])
        let ibm = b.floats(
            Matrix4.identity.columnMajor + Matrix4.identity.columnMajor + Matrix4.identity.columnMajor
                + Matrix4.identity.columnMajor + Matrix4.identity.columnMajor + Matrix4.identity.columnMajor,
            type: "MAT4")
        for _ in 0..<6 { _ = b.add("nodes", [:]) }
        var nodes = b.json["nodes"] as! [[String: Any]]
        nodes[0]["skin"] = 0
        nodes[0]["children"] = [1, 2, 3, 4, 5, 6]
        b.json["nodes"] = nodes
        _ = b.add("skins", ["joints": [1, 2, 3, 4, 5, 6], "inverseBindMatrices": ibm])
        let scene = try importBuilt(b)
        let v = scene.meshes[0].primitives[0].vertices
        // Influences of vertex 0: j0 .1, j1 .3, j2 .05, j3 .2, j4 .25, j5 .1 → j1, j4, j3, then j0/j5 tie (lower joint).
        #expect(v.joints[0] == SIMD4(1, 4, 3, 0))
        let expected = SIMD4<Float>(0.3, 0.25, 0.2, 0.1) / 0.85
        #expect(largest(v.weights[0] - expected) < 1e-6)
        #expect(v.joints[1] == SIMD4(0, 1, 0, 0) && v.weights[1] == SIMD4(0.5, 0.5, 0, 0))
        #expect(scene.warnings.filter { $0.contains("more than 4 skin influences") }.count == 1)
        #expect(scene.skins[0].joints == [1, 2, 3, 4, 5, 6] && scene.skins[0].inverseBindMatrices.count == 6)
    }

    @Test(
        "morph targets with names and weights; STEP, LINEAR and CUBICSPLINE channels; cameras; matrix and TRS nodes; extras"
    )
    func morphsAnimationsNodes() throws {
        var b = GLTFBuilder()
        let target = b.floats([0, 1, 0, 0, 1, 0, 0, 1, 0], type: "VEC3")
        _ = b.triangleScene(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0])
        var meshes = b.json["meshes"] as! [[String: Any]]
        var p = (meshes[0]["primitives"] as! [[String: Any]])[0]
        p["targets"] = [["POSITION": target]]
        meshes[0]["primitives"] = [p]
        meshes[0]["weights"] = [0.5]
        meshes[0]["extras"] = ["targetNames": ["Smile"], "author": "test"]
        b.json["meshes"] = meshes
        let times = b.floats([0, 1], type: "SCALAR")
        let weights = b.floats([0, 1], type: "SCALAR")
        let translations = b.floats([0, 0, 0, 1, 1, 1], type: "VEC3")
        let cubic = b.floats([Float](repeating: 0.5, count: 2 * 3 * 4), type: "VEC4")
        _ = b.add("cameras", ["type": "perspective", "perspective": ["yfov": 0.7, "znear": 0.1]])
        _ = b.add(
            "nodes",
            [
                "matrix": [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 1, 2, 3, 1], "camera": 0, "name": "Cam",
                "extras": ["id": 7, "tags": ["a", true, NSNull()]]
            ])
        _ = b.add(
            "animations",
            [
                "name": "Go",
                "samplers": [
                    ["input": times, "output": weights, "interpolation": "STEP"],
                    ["input": times, "output": translations],
                    ["input": times, "output": cubic, "interpolation": "CUBICSPLINE"]
                ],
                "channels": [
                    ["sampler": 0, "target": ["node": 0, "path": "weights"]],
                    ["sampler": 1, "target": ["node": 1, "path": "translation"]],
                    ["sampler": 2, "target": ["node": 1, "path": "rotation"]]
                ]
            ])
        b.json["scenes"] = [["nodes": [0]], ["nodes": [0, 1]]]
        b.json["scene"] = 1
        let scene = try importBuilt(b)
        #expect(scene.roots == [0, 1])
        #expect(scene.meshes[0].primitives[0].targets[0].name == "Smile" && scene.meshes[0].weights == [0.5])
        #expect(scene.meshes[0].extras == .object(["author": .string("test")]))
        #expect(scene.nodes[1].transform == .matrix(Matrix4([2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 1, 2, 3, 1])))
        #expect(
            scene.nodes[1].extras == .object(["id": .number(7), "tags": .array([.string("a"), .bool(true), .null])]))
        #expect(scene.nodes[1].camera == 0 && scene.nodes[1].name == "Cam")
        #expect(scene.cameras == [.perspective(name: "", yfov: 0.7, aspectRatio: nil, znear: 0.1, zfar: nil)])
        let channels = scene.animations[0].channels
        #expect(channels.map(\.interpolation) == [.step, .linear, .cubicSpline])
        #expect(channels.map(\.values.count) == [2, 6, 24])
    }

    @Test("node graphs: a cycle and a shared child are refused; a 100,000-level hierarchy reads without recursion")
    func nodeGraphs() throws {
        var cycle = GLTFBuilder()
        cycle.json["nodes"] = [["children": [1]], ["children": [2]], ["children": [0]]]
        #expect(importError(cycle).contains("cycle"))
        var shared = GLTFBuilder()
        shared.json["nodes"] = [["children": [2]], ["children": [2]], [:]]
        #expect(importError(shared).contains("two parents"))

        var deep = GLTFBuilder()
        _ = deep.triangleScene(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0])
        let depth = 100_000
        deep.json["nodes"] =
            (0..<depth).map { $0 + 1 < depth ? ["children": [$0 + 1]] : ["mesh": 0] } as [[String: Any]]
        deep.json["scenes"] = [["nodes": [0]]]
        let scene = try importBuilt(deep, name: "deep.glb")
        #expect(scene.nodes.count == depth && scene.roots == [0] && scene.nodes[depth - 2].children == [depth - 1])
        #expect(scene.worldBounds() != nil)  // the world transforms walk all 100,000 levels

        var empty = GLTFBuilder()
        empty.json["nodes"] = [["name": "empty"]]
        empty.json["scenes"] = [["nodes": [0]]]
        #expect(importError(empty) == "contains no geometry")
    }

    @Test("required and optional extensions: an unknown required one names itself, unknown optional ones warn once")
    func extensionPolicy() throws {
        var b = GLTFBuilder()
        _ = b.triangleScene(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0])
        b.json["extensionsUsed"] = ["EXT_future_thing", "VENDOR_other", "KHR_texture_transform"]
        let scene = try importBuilt(b)
        #expect(scene.warnings == ["unsupported optional extension(s) dropped: EXT_future_thing, VENDOR_other"])
        b.json["extensionsRequired"] = ["EXT_future_thing"]
        #expect(importError(b) == "requires extension EXT_future_thing, which is not supported")
    }
}
