import Foundation
import Scene
import Testing

@testable import GLB

private let allScenes: [(String, Scene)] = [
    ("cube", TestScenes.cube()), ("skinnedRig", TestScenes.skinnedRig()), ("morph", TestScenes.morph()),
    ("pointsAndLines", TestScenes.pointsAndLines()), ("strip", TestScenes.strip(vertexCount: 70_000)),
    ("cameraAndLights", TestScenes.cameraAndLights())
]

private let variants: [(String, Quantization?, Compression)] = [
    ("quantized", Quantization(), .none),
    ("quantized wide", Quantization(positionBits: 16, texcoordBits: 16, normalBits: 12, colorBits: 10), .none),
    ("meshopt", nil, .meshopt(fallback: false)),
    ("meshopt fallback", nil, .meshopt(fallback: true)),
    ("quantized meshopt", Quantization(), .meshopt(fallback: false)),
    ("quantized meshopt fallback", Quantization(), .meshopt(fallback: true)),
    (
        "quantized wide meshopt", Quantization(positionBits: 16, texcoordBits: 16, normalBits: 12, colorBits: 10),
        .meshopt(fallback: true)
    )
]

private func encode(_ scene: Scene, _ quantization: Quantization?, _ compression: Compression) throws -> [UInt8] {
    try encodeGLB(
        scene, options: GLBOptions(generator: "optimize tests", quantization: quantization, compression: compression)
    ).bytes
}

/// Reads accessor `index` of an uncompressed (or fallback) file as the values a shader sees (normalized → float).
private func readAccessor(_ json: [String: Any], _ bin: [UInt8], _ index: Int) -> [[Double]] {
    let accessor = json.array("accessors")[index]
    let view = json.array("bufferViews")[accessor["bufferView"] as! Int]
    let type = accessor["componentType"] as! Int
    let components = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16][accessor["type"] as! String]!
    let size = [5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4][type]!
    let stride = view["byteStride"] as? Int ?? components * size
    let start = (view["byteOffset"] as? Int ?? 0) + (accessor["byteOffset"] as? Int ?? 0)
    let normalized = accessor["normalized"] as? Bool ?? false
    return (0..<(accessor["count"] as! Int)).map { e in
        (0..<components).map { c in
            let at = start + e * stride + c * size
            let raw = bin[at..<at + size].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
            switch type {
            case 5120:
                return normalized
                    ? max(Double(Int8(truncatingIfNeeded: raw)) / 127, -1) : Double(Int8(truncatingIfNeeded: raw))
            case 5121: return normalized ? Double(raw) / 255 : Double(raw)
            case 5122:
                return normalized
                    ? max(Double(Int16(truncatingIfNeeded: raw)) / 32767, -1) : Double(Int16(truncatingIfNeeded: raw))
            case 5123: return normalized ? Double(raw) / 65535 : Double(raw)
            case 5125: return Double(raw)
            default: return Double(Float(bitPattern: raw))
            }
        }
    }
}

private func nodeMatrix(_ node: [String: Any]) -> Matrix4 {
    if let m = node["matrix"] as? [Double] { return Matrix4(m.map(Float.init)) }
    let t = (node["translation"] as? [Double] ?? [0, 0, 0]).map(Float.init)
    let r = (node["rotation"] as? [Double] ?? [0, 0, 0, 1]).map(Float.init)
    let s = (node["scale"] as? [Double] ?? [1, 1, 1]).map(Float.init)
    return Matrix4(
        translation: SIMD3(t[0], t[1], t[2]), rotation: SIMD4(r[0], r[1], r[2], r[3]), scale: SIMD3(s[0], s[1], s[2]))
}

@Suite("GLB: KHR_mesh_quantization and EXT_meshopt_compression")
struct CompressionTests {
    @Test(
        "every test scene, quantized and/or compressed, passes validation, deterministically",
        arguments: variants.indices)
    func variantsValidate(_ v: Int) throws {
        let (label, quantization, compression) = variants[v]
        for (name, scene) in allScenes {
            let bytes = try encode(scene, quantization, compression)
            #expect(validateGLB(bytes) == [], "\(name) \(label)")
            #expect(try encode(scene, quantization, compression) == bytes, "\(name) \(label): not deterministic")
            let (json, _) = try GLBFile.split(bytes)
            let used = json["extensionsUsed"] as? [String] ?? []
            let required = json["extensionsRequired"] as? [String] ?? []
            #expect(used.contains("KHR_mesh_quantization") == (quantization != nil), "\(name) \(label)")
            #expect(required.contains("KHR_mesh_quantization") == (quantization != nil), "\(name) \(label)")
            #expect(used.contains("EXT_meshopt_compression") == (compression != .none), "\(name) \(label)")
            #expect(
                required.contains("EXT_meshopt_compression") == (compression == .meshopt(fallback: false)),
                "\(name) \(label)")
            let buffers = json.array("buffers")
            #expect(buffers.count == (compression == .meshopt(fallback: false) ? 2 : 1), "\(name) \(label)")
        }
    }

    @Test("compression makes geometry smaller and the fallback file larger than the required one")
    func sizes() throws {
        let scene = TestScenes.strip(vertexCount: 70_000)
        let plain = try encode(scene, nil, .none).count
        let quantized = try encode(scene, Quantization(), .none).count
        let compressed = try encode(scene, Quantization(), .meshopt(fallback: false)).count
        let fallback = try encode(scene, Quantization(), .meshopt(fallback: true)).count
        #expect(quantized < plain * 7 / 10)
        #expect(compressed < quantized / 3)
        #expect(fallback > quantized && fallback < quantized + compressed + 64)
    }

    @Test("morph weight animations in 0…1 become normalized bytes in a quantized file; others stay float")
    func morphWeightsAreBytes() throws {
        for compression in [Compression.none, .meshopt(fallback: false)] {
            for (values, byte) in [([0, 0, 1, 0.5] as [Float], true), ([0, 0, 1.25, -0.5], false)] {
                var scene = TestScenes.morph()
                scene.animations[0].channels[0].values = values
                let (json, bin) = try GLBFile.split(try encode(scene, Quantization(), compression))
                let output = json.array("animations")[0].array("samplers")[0]["output"] as! Int
                let accessor = json.array("accessors")[output]
                #expect(accessor["componentType"] as? Int == (byte ? 5121 : 5126), "\(values)")
                #expect(accessor["normalized"] as? Bool == (byte ? true : nil), "\(values)")
                if byte {
                    // Stored uncompressed, as gltfpack does: readable straight from the binary chunk.
                    #expect(readAccessor(json, bin, output).map { $0[0] } == [0, 0, 1, 128.0 / 255])
                }
            }
            // Not quantized: floats.
            let (json, _) = try GLBFile.split(try encode(TestScenes.morph(), nil, compression))
            let output = json.array("animations")[0].array("samplers")[0]["output"] as! Int
            #expect(json.array("accessors")[output]["componentType"] as? Int == 5126)
        }
    }

    @Test("dequantized world positions stay within half a grid step of the originals")
    func positionsRoundTrip() throws {
        for (name, scene) in [
            ("cube", TestScenes.cube()), ("morph", TestScenes.morph()),
            ("cameraAndLights", TestScenes.cameraAndLights())
        ] {
            for compression in [Compression.none, .meshopt(fallback: true)] {
                let bytes = try encode(scene, Quantization(positionBits: 10), compression)
                let (json, bin) = try GLBFile.split(bytes)
                let nodes = json.array("nodes")
                // Nodes drawing mesh 0, with their world matrix (roots only have depth ≤ 2 in these scenes).
                var world: [(Int, Matrix4)] = []
                for (i, node) in nodes.enumerated() {
                    let parent = nodes.firstIndex { ($0["children"] as? [Int] ?? []).contains(i) }
                    let matrix = parent.map { nodeMatrix(nodes[$0]) * nodeMatrix(node) } ?? nodeMatrix(node)
                    if node["mesh"] as? Int == 0 { world.append((i, matrix)) }
                }
                let originalNode = scene.nodes.firstIndex { $0.mesh == 0 }!
                let expectedMatrix = scene.nodes[originalNode].transform.matrix
                let original = scene.meshes[0].primitives[0].vertices.positions
                // The grid spans the base bounds padded by the largest morph delta per axis (gltfpack's rule).
                let pad = scene.meshes[0].primitives[0].targets.flatMap(\.positions)
                    .reduce(SIMD3<Float>(repeating: 0)) { pointwiseMax($0, pointwiseMax($1, -$1)) }
                let hi = original.reduce(SIMD3<Float>(repeating: -.infinity)) { pointwiseMax($0, $1) } + pad
                let lo = original.reduce(SIMD3<Float>(repeating: .infinity)) { pointwiseMin($0, $1) } - pad
                let extent = hi - lo
                let step = extent.max() / 1023
                let primitive = json.array("meshes")[0]["primitives"] as! [[String: Any]]
                let positions = readAccessor(json, bin, (primitive[0]["attributes"] as! [String: Int])["POSITION"]!)
                let (_, matrix) = try #require(world.first)
                for (q, p) in zip(positions, original) {
                    let got = matrix.transformPoint(SIMD3(Float(q[0]), Float(q[1]), Float(q[2])))
                    let want = expectedMatrix.transformPoint(p)
                    let error = got - want
                    #expect(
                        max(abs(error.x), abs(error.y), abs(error.z)) <= step * 0.5 + 1e-5, "\(name): \(got) vs \(want)"
                    )
                }
            }
        }
    }

    @Test(
        "a mesh node with children gets a child node; a skinned mesh gets the grid in its inverse bind matrices and on its node"
    )
    func gridPlacement() throws {
        var scene = TestScenes.cube()
        var child = Node(name: "Child")
        child.transform = .trs(translation: SIMD3(5, 0, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        scene.nodes.append(child)
        scene.nodes[0].children = [1]
        let (json, _) = try GLBFile.split(try encode(scene, Quantization(), .none))
        let nodes = json.array("nodes")
        #expect(nodes.count == 3)
        #expect(nodes[0]["mesh"] == nil && nodes[0]["children"] as? [Int] == [1, 2])
        #expect(nodes[1]["translation"] as? [Double] == [5, 0, 0])
        #expect(nodes[2]["mesh"] as? Int == 0)

        let rig = TestScenes.skinnedRig()
        let (rigJSON, rigBin) = try GLBFile.split(try encode(rig, Quantization(), .none))
        let body = rigJSON.array("nodes")[1]
        let grid = PositionGrid(bounds: SIMD3(-1, 0, 0), SIMD3(1, 2, 0), bits: 14)
        // Skinning ignores it, but three.js bounds and culls the mesh with the node's transform (as gltfpack writes).
        #expect(body["skin"] as? Int == 0 && body["mesh"] as? Int == 0)
        #expect(body["translation"] as? [Double] == [-1, 0, 0].map(Double.init))
        #expect((body["scale"] as? [Double]).map { $0.allSatisfy { abs($0 - Double(grid.scale)) < 1e-9 } } == true)
        let ibm = readAccessor(rigJSON, rigBin, rigJSON.array("skins")[0]["inverseBindMatrices"] as! Int)
        for (j, matrix) in rig.skins[0].inverseBindMatrices.enumerated() {
            let expected = (matrix * grid.transform.matrix).columnMajor.map(Double.init)
            #expect(zip(ibm[j], expected).allSatisfy { abs($0 - $1) < 1e-6 })
        }
    }

    @Test("quantized UVs carry KHR_texture_transform and map back to the original coordinates")
    func texcoords() throws {
        var scene = TestScenes.cube()
        scene.meshes[0].primitives[0].vertices.texcoords[0] = scene.meshes[0].primitives[0].vertices.texcoords[0].map {
            $0 * 3 - 1
        }
        let (json, bin) = try GLBFile.split(try encode(scene, Quantization(texcoordBits: 10), .none))
        #expect((json["extensionsRequired"] as? [String] ?? []).contains("KHR_texture_transform"))
        let info =
            (json.array("materials")[0]["pbrMetallicRoughness"] as! [String: Any])["baseColorTexture"] as! [String: Any]
        let transform = (info["extensions"] as! [String: Any])["KHR_texture_transform"] as! [String: [Double]]
        let primitive = (json.array("meshes")[0]["primitives"] as! [[String: Any]])[0]
        let uvs = readAccessor(json, bin, (primitive["attributes"] as! [String: Int])["TEXCOORD_0"]!)
        for (q, uv) in zip(uvs, scene.meshes[0].primitives[0].vertices.texcoords[0]) {
            let u = transform["offset"]![0] + transform["scale"]![0] * q[0]
            let v = transform["offset"]![1] + transform["scale"]![1] * q[1]
            #expect(abs(u - Double(uv.x)) <= 3.0 / 1023 / 2 + 1e-5 && abs(v - Double(uv.y)) <= 3.0 / 1023 / 2 + 1e-5)
        }
    }

    @Test("the validator rejects corrupt compressed data, a broken extension object and a differing fallback copy")
    func validatorCatchesDamage() throws {
        let scene = TestScenes.strip(vertexCount: 300)
        let bytes = try encode(scene, Quantization(), .meshopt(fallback: true))
        let (json, bin) = try GLBFile.split(bytes)
        let views = json.array("bufferViews")
        let indexView = try #require(views.firstIndex { $0["target"] as? Int == 34963 })
        let ext = (views[indexView]["extensions"] as! [String: Any])["EXT_meshopt_compression"] as! [String: Any]
        let compressedStart = ext["byteOffset"] as? Int ?? 0

        // Truncate the encoded index data by shrinking byteLength: the stream no longer decodes.
        var shortened = json
        var shortenedViews = views
        var shortenedExt = ext
        shortenedExt["byteLength"] = (ext["byteLength"] as! Int) - 8
        shortenedViews[indexView]["extensions"] = ["EXT_meshopt_compression": shortenedExt]
        shortened["bufferViews"] = shortenedViews
        let truncatedIssues = validateGLB(try GLBFile.join(json: shortened, bin: bin))
        #expect(truncatedIssues.contains { $0.message.contains("does not decode") }, "\(truncatedIssues)")

        // A byte of the uncompressed copy changed: the two representations disagree.
        var changed = bin
        let plainStart = views[indexView]["byteOffset"] as? Int ?? 0
        changed[plainStart] ^= 1
        let changedIssues = validateGLB(try GLBFile.join(json: json, bin: changed))
        #expect(changedIssues.contains { $0.message.contains("differs from the decoded") }, "\(changedIssues)")

        // Garbage compressed triangles that decode to out-of-range indices are caught by the index check.
        var garbage = bin
        for i in compressedStart + 1..<compressedStart + min(12, (ext["byteLength"] as! Int) - 17) { garbage[i] = 0xff }
        #expect(!validateGLB(try GLBFile.join(json: json, bin: garbage)).isEmpty)

        // Structure: the extension's stride must match the view's layout.
        var wrongStride = json
        var wrongViews = views
        var wrongExt = ext
        wrongExt["byteStride"] = 3
        wrongViews[indexView]["extensions"] = ["EXT_meshopt_compression": wrongExt]
        wrongStride["bufferViews"] = wrongViews
        let strideIssues = validateGLB(try GLBFile.join(json: wrongStride, bin: bin))
        #expect(strideIssues.contains { $0.message.contains("must be 2 or 4") }, "\(strideIssues)")

        // Required mode without extensionsRequired: nobody could read the placeholder buffer.
        let required = try encode(scene, nil, .meshopt(fallback: false))
        var (requiredJSON, requiredBin) = try GLBFile.split(required)
        requiredJSON["extensionsRequired"] = nil
        let requiredIssues = validateGLB(try GLBFile.join(json: requiredJSON, bin: requiredBin))
        #expect(requiredIssues.contains { $0.message.contains("must be in extensionsRequired") }, "\(requiredIssues)")
    }

    @Test("out-of-range bit counts are refused")
    func badBits() {
        #expect(throws: ProcessingError.self) { try encode(TestScenes.cube(), Quantization(positionBits: 17), .none) }
        #expect(throws: ProcessingError.self) { try encode(TestScenes.cube(), Quantization(normalBits: 3), .none) }
    }
}

@Suite("Writer: bufferViews shared by small streams")
struct ViewPoolTests {
    /// Three small cubes (one mesh each, moved apart) and a strip whose streams are larger than the pool limit.
    static func scene() -> Scene {
        var scene = TestScenes.cube()
        let cube = scene.meshes[0]
        for k in 1...2 {
            var copy = cube
            copy.primitives[0].vertices.positions = copy.primitives[0].vertices.positions.map { $0 + Float(k) }
            scene.meshes.append(copy)
        }
        var strip = TestScenes.strip(vertexCount: 70_000).meshes[0]
        strip.primitives[0].material = 0
        scene.meshes.append(strip)
        scene.nodes = (0..<4).map { m in
            var node = Node(name: "Node \(m)")
            node.mesh = m
            return node
        }
        scene.roots = [0, 1, 2, 3]
        return scene
    }

    @Test(
        "each stream kind of the small meshes shares one view, the large mesh keeps its own, everything reads back",
        arguments: [(nil, Compression.none), (Quantization(), .none), (Quantization(), .meshopt(fallback: true))])
    func pooled(_ quantization: Quantization?, _ compression: Compression) throws {
        let scene = Self.scene()
        let bytes = try encode(scene, quantization, compression)
        #expect(validateGLB(bytes).isEmpty, "\(validateGLB(bytes))")
        let (json, bin) = try GLBFile.split(bytes)
        let primitives = json.array("meshes").map { ($0["primitives"] as! [[String: Any]])[0] }
        let accessors = json.array("accessors")
        func stream(_ m: Int, _ name: String) -> Int {
            let primitive = primitives[m]
            return name == "indices" ? primitive["indices"] as! Int : (primitive["attributes"] as! [String: Int])[name]!
        }
        for name in ["POSITION", "NORMAL", "TEXCOORD_0", "indices"] {
            let small = (0..<3).map { accessors[stream($0, name)] }
            #expect(Set(small.map { $0["bufferView"] as! Int }).count == 1, "\(name): one shared view")
            #expect(Set(small.map { $0["byteOffset"] as? Int ?? 0 }).count == 3, "\(name): distinct offsets")
            let large = accessors[stream(3, name == "TEXCOORD_0" ? "NORMAL" : name)]["bufferView"] as! Int
            #expect(!small.contains { $0["bufferView"] as! Int == large }, "\(name): the strip has its own view")
        }
        // Every cube reads back its own positions (quantized ones on their mesh's grid: compare shapes, not values).
        for m in 0..<3 {
            let read = readAccessor(json, bin, stream(m, "POSITION"))
            let original = scene.meshes[m].primitives[0].vertices.positions
            #expect(read.count == original.count)
            if quantization == nil {
                #expect(zip(read, original).allSatisfy { $0 == [Double($1.x), Double($1.y), Double($1.z)] })
            }
            let indices = readAccessor(json, bin, stream(m, "indices")).map { UInt32($0[0]) }
            #expect(indices == scene.meshes[m].primitives[0].indices)
        }
        #expect(json.array("bufferViews").count < accessors.count)
    }
}
