import Foundation
import Scene
import Testing

@testable import GLB

private let options = GLBOptions(generator: "optimize tests")

private func encodeAndValidate(_ scene: Scene) throws -> (bytes: [UInt8], json: [String: Any], bin: [UInt8]) {
    let encoded = try encodeGLB(scene, options: options)
    #expect(validateGLB(encoded.bytes) == [])
    let (json, bin) = try GLBFile.split(encoded.bytes)
    return (encoded.bytes, json, bin)
}

/// Layout rules every file we write must follow.
private func checkLayout(_ bytes: [UInt8], _ json: [String: Any]) throws {
    #expect(bytes.count % 4 == 0)
    #expect(Int(GLBFile.word(bytes, 8)) == bytes.count)
    let jsonLength = Int(GLBFile.word(bytes, 12))
    #expect(jsonLength % 4 == 0)
    let meshes = json.array("meshes")
    var vertexViews: Set<Int> = []
    var indexViews: Set<Int> = []
    let accessors = json.array("accessors")
    for mesh in meshes {
        for primitive in mesh.array("primitives") {
            let targets = primitive["targets"] as? [[String: Int]] ?? []
            for attributes in [primitive["attributes"] as! [String: Int]] + targets {
                for (_, a) in attributes {
                    if let view = accessors[a]["bufferView"] as? Int { vertexViews.insert(view) }
                }
            }
            if let i = primitive["indices"] as? Int { indexViews.insert(accessors[i]["bufferView"] as! Int) }
        }
    }
    for (i, view) in json.array("bufferViews").enumerated() {
        #expect((view["byteOffset"] as? Int ?? 0) % 4 == 0)
        if vertexViews.contains(i) {
            #expect(view["target"] as? Int == 34962)
            let stride = try #require(view["byteStride"] as? Int)
            #expect(stride % 4 == 0)
        } else if indexViews.contains(i) {
            #expect(view["target"] as? Int == 34963)
            #expect(view["byteStride"] == nil)
        } else {
            #expect(view["target"] == nil)
        }
    }
    // JSON padding is spaces, BIN padding zeros.
    let jsonText = bytes[20..<20 + jsonLength]
    let closing = try #require(jsonText.lastIndex(of: UInt8(ascii: "}")))
    #expect(jsonText[(closing + 1)...].allSatisfy { $0 == 0x20 })
}

@Test func cubeEncodesValidAndMatchesLayout() throws {
    let (bytes, json, bin) = try encodeAndValidate(TestScenes.cube())
    try checkLayout(bytes, json)
    #expect((json["asset"] as? [String: Any])?["version"] as? String == "2.0")
    #expect((json["asset"] as? [String: Any])?["generator"] as? String == "optimize tests")
    #expect(json["extensionsUsed"] == nil)
    let primitive = json.array("meshes")[0].array("primitives")[0]
    let attributes = try #require(primitive["attributes"] as? [String: Int])
    #expect(Set(attributes.keys) == ["POSITION", "NORMAL", "TEXCOORD_0"])
    let position = json.array("accessors")[attributes["POSITION"]!]
    #expect(position["min"] as? [Double] == [-0.5, -0.5, -0.5])
    #expect(position["max"] as? [Double] == [0.5, 0.5, 0.5])
    #expect(primitive["mode"] == nil)
    let indices = json.array("accessors")[primitive["indices"] as! Int]
    #expect(indices["componentType"] as? Int == 5123)
    #expect(indices["count"] as? Int == 36)
    // Normals were written unit length.
    let normal = attributes["NORMAL"]!
    let n = (0..<3).map { GLBFile.float(json, bin, accessor: normal, index: $0) }
    #expect(n == [1, 0, 0])
    // Material: defaults omitted, texture and image stored in BIN with its mime type.
    let material = json.array("materials")[0]
    #expect(material["name"] as? String == "Checker \"quoted\" é\n")
    let pbr = try #require(material["pbrMetallicRoughness"] as? [String: Any])
    #expect(pbr["metallicFactor"] == nil && pbr["baseColorFactor"] == nil)
    #expect(pbr["roughnessFactor"] as? Double == 0.5)
    #expect(material["alphaMode"] == nil && material["doubleSided"] as? Bool == true)
    let image = json.array("images")[0]
    #expect(image["mimeType"] as? String == "image/png")
    let imageView = json.array("bufferViews")[image["bufferView"] as! Int]
    let offset = imageView["byteOffset"] as? Int ?? 0
    #expect(Array(bin[offset..<offset + TestScenes.png.count]) == TestScenes.png)
    #expect(json.array("samplers")[0]["wrapS"] as? Int == 33071 && json.array("samplers")[0]["wrapT"] == nil)
    #expect(json.array("nodes")[0]["translation"] as? [Double] == [0, 1, 0])
    #expect(json.array("nodes")[0]["rotation"] == nil)
}

@Test func breakdownAddsUp() throws {
    let encoded = try encodeGLB(TestScenes.skinnedRig(), options: options)
    let b = encoded.breakdown
    #expect(b.total == encoded.bytes.count)
    let binLength = encoded.bytes.count - 20 - b.json - 8
    #expect(b.geometry + b.animation + b.skin + b.images == binLength)
    #expect(b.skin == 128 && b.animation > 0 && b.images == 0)
    let cube = try encodeGLB(TestScenes.cube(), options: options).breakdown
    #expect(cube.images == 76)  // 73 PNG bytes padded to 4
}

@Test func skinnedAnimatedRig() throws {
    let (bytes, json, bin) = try encodeAndValidate(TestScenes.skinnedRig())
    try checkLayout(bytes, json)
    let skin = json.array("skins")[0]
    #expect(skin["joints"] as? [Int] == [2, 3] && skin["skeleton"] as? Int == 2)
    let ibm = json.array("accessors")[skin["inverseBindMatrices"] as! Int]
    #expect(ibm["type"] as? String == "MAT4" && ibm["count"] as? Int == 2)
    let attributes = json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int]
    #expect(json.array("accessors")[attributes["JOINTS_0"]!]["componentType"] as? Int == 5121)
    let weights = attributes["WEIGHTS_0"]!
    let row = { (v: Int) in (0..<4).map { GLBFile.float(json, bin, accessor: weights, index: v * 4 + $0) } }
    #expect(row(0) == [1, 0, 0, 0])
    #expect(row(1) == [0.5, 0.5, 0, 0])
    #expect(abs(row(2).reduce(0, +) - 1) < 1e-6)
    #expect(row(3) == [1, 0, 0, 0])

    let animation = json.array("animations")[0]
    let samplers = animation.array("samplers")
    #expect(samplers.count == 3 && animation.array("channels").count == 3)
    // Same key times share one input accessor; the STEP channel has its own.
    #expect(samplers[0]["input"] as? Int == samplers[1]["input"] as? Int)
    #expect(samplers[2]["input"] as? Int != samplers[0]["input"] as? Int)
    #expect(samplers[0]["interpolation"] == nil)
    #expect(samplers[1]["interpolation"] as? String == "CUBICSPLINE")
    #expect(samplers[2]["interpolation"] as? String == "STEP")
    let input = json.array("accessors")[samplers[2]["input"] as! Int]
    #expect(input["min"] as? [Double] == [0.25] && input["max"] as? [Double] == [2])
    let cubicOutput = json.array("accessors")[samplers[1]["output"] as! Int]
    #expect(cubicOutput["count"] as? Int == 9 && cubicOutput["type"] as? String == "VEC3")
    let rotationOutput = json.array("accessors")[samplers[0]["output"] as! Int]
    #expect(rotationOutput["type"] as? String == "VEC4")
}

@Test func wideJointIndicesUseShorts() throws {
    var scene = TestScenes.skinnedRig()
    scene.skins[0].joints = [Int](repeating: 2, count: 299) + [3]
    scene.skins[0].inverseBindMatrices = [Matrix4](repeating: .identity, count: 300)
    scene.meshes[0].primitives[0].vertices.joints[2] = SIMD4(299, 0, 0, 0)
    let (_, json, _) = try encodeAndValidate(scene)
    let attributes = json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int]
    #expect(json.array("accessors")[attributes["JOINTS_0"]!]["componentType"] as? Int == 5123)
}

@Test func morphTargets() throws {
    let (bytes, json, _) = try encodeAndValidate(TestScenes.morph())
    try checkLayout(bytes, json)
    let mesh = json.array("meshes")[0]
    #expect(mesh["weights"] as? [Double] == [0.25, 0])
    #expect((mesh["extras"] as? [String: Any])?["targetNames"] as? [String] == ["smile", "blink"])
    let targets = try #require(mesh.array("primitives")[0]["targets"] as? [[String: Int]])
    #expect(targets.count == 2)
    #expect(Set(targets[0].keys) == ["POSITION", "NORMAL"] && Set(targets[1].keys) == ["POSITION"])
    let smile = json.array("accessors")[targets[0]["POSITION"]!]
    #expect(smile["min"] as? [Double] == [0, 0, 0] && smile["max"] as? [Double] == [0.5, 0, 0])
    let output = json.array("accessors")[json.array("animations")[0].array("samplers")[0]["output"] as! Int]
    #expect(output["type"] as? String == "SCALAR" && output["count"] as? Int == 4)
}

@Test func pointsAndLines() throws {
    let (bytes, json, _) = try encodeAndValidate(TestScenes.pointsAndLines())
    try checkLayout(bytes, json)
    let primitives = json.array("meshes")[0].array("primitives")
    #expect(primitives.map { $0["mode"] as? Int } == [0, 1])
    let colors = json.array("accessors")[(primitives[0]["attributes"] as! [String: Int])["COLOR_0"]!]
    #expect(colors["type"] as? String == "VEC4" && colors["componentType"] as? Int == 5126)
}

@Test func indexWidthFollowsVertexCount() throws {
    for (vertices, componentType) in [(65_535, 5123), (70_000, 5125)] {
        let (bytes, json, _) = try encodeAndValidate(TestScenes.strip(vertexCount: vertices))
        try checkLayout(bytes, json)
        let primitive = json.array("meshes")[0].array("primitives")[0]
        #expect(json.array("accessors")[primitive["indices"] as! Int]["componentType"] as? Int == componentType)
    }
}

@Test func cameraLightsAndUnlit() throws {
    let (bytes, json, _) = try encodeAndValidate(TestScenes.cameraAndLights())
    try checkLayout(bytes, json)
    #expect(json["extensionsUsed"] as? [String] == ["KHR_lights_punctual", "KHR_materials_unlit"])
    #expect(json["extensionsRequired"] == nil)
    let lights = try #require(
        ((json["extensions"] as? [String: Any])?["KHR_lights_punctual"] as? [String: Any])?["lights"]
            as? [[String: Any]])
    #expect(lights[0]["type"] as? String == "spot" && lights[0]["range"] as? Double == 10)
    #expect((lights[0]["spot"] as? [String: Any])?["outerConeAngle"] == nil)
    #expect(lights[1]["type"] as? String == "directional" && lights[1]["intensity"] == nil)
    let nodes = json.array("nodes")
    #expect(
        ((nodes[2]["extensions"] as? [String: Any])?["KHR_lights_punctual"] as? [String: Any])?["light"] as? Int == 0)
    #expect(nodes[1]["matrix"] as? [Double] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1])
    let cameras = json.array("cameras")
    #expect(cameras[0]["type"] as? String == "perspective" && cameras[1]["type"] as? String == "orthographic")
    #expect((json.array("materials")[0]["extensions"] as? [String: Any])?["KHR_materials_unlit"] != nil)
    #expect((json["scenes"] as? [[String: Any]])?[0]["nodes"] as? [Int] == [0, 1, 2, 3])
}

@Test func encodingIsDeterministic() throws {
    for scene in [TestScenes.cube(), TestScenes.skinnedRig(), TestScenes.morph(), TestScenes.cameraAndLights()] {
        let a = try encodeGLB(scene, options: options).bytes
        let b = try encodeGLB(scene, options: options).bytes
        #expect(a == b)
    }
}

@Test func encodingLeavesASharedSceneAlone() throws {
    // The encoder takes the primitives out of the scene it is given; a caller that keeps its copy (the budget
    // search encodes one scene many times) must find it unchanged.
    for scene in [TestScenes.cube(), TestScenes.skinnedRig(), TestScenes.morph()] {
        let kept = scene
        _ = try encodeGLB(scene, options: GLBOptions(generator: "t", quantization: Quantization()))
        #expect(scene == kept)
        #expect(scene.meshes.allSatisfy { !$0.primitives.isEmpty })
    }
}

@Test func layoutLetsGoOfEachFillOnceWritten() {
    // What a fill copies from (a primitive's buffers) must be free to go before the next view is written.
    final class Source {}
    weak var first: Source?
    var layout = BinaryLayout()
    do {
        let source = Source()
        first = source
        _ = layout.append(length: 4, category: .geometry) { _ in _ = source }
    }
    var firstGoneBeforeSecond = false
    _ = layout.append(length: 4, category: .geometry) { _ in firstGoneBeforeSecond = first == nil }
    #expect(first != nil)
    var bytes = [UInt8](repeating: 1, count: layout.length)
    bytes.withUnsafeMutableBytes { layout.write(into: $0.baseAddress!) }
    #expect(firstGoneBeforeSecond)
}

@Test func degenerateDataIsRepaired() throws {
    var scene = TestScenes.cube()
    scene.meshes[0].primitives[0].vertices.normals[0] = .zero
    scene.meshes[0].primitives[0].vertices.normals[1] = SIMD3(.nan, 0, 0)
    scene.meshes[0].primitives[0].vertices.texcoords[0][0] = SIMD2(.infinity, 0)
    scene.meshes[0].primitives[0].vertices.tangents = [SIMD4<Float>](repeating: SIMD4(0, 0, 0, 0.5), count: 24)
    let (_, json, bin) = try encodeAndValidate(scene)
    let attributes = json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int]
    #expect((0..<3).map { GLBFile.float(json, bin, accessor: attributes["NORMAL"]!, index: $0) } == [0, 0, 1])
    #expect((0..<4).map { GLBFile.float(json, bin, accessor: attributes["TANGENT"]!, index: $0) } == [1, 0, 0, 1])
    #expect(GLBFile.float(json, bin, accessor: attributes["TEXCOORD_0"]!, index: 0) == 0)
}

@Test func brokenScenesAreRefused() throws {
    var badIndex = TestScenes.cube()
    badIndex.meshes[0].primitives[0].indices[5] = 24
    #expect(throws: ProcessingError.self) { try encodeGLB(badIndex, options: options) }
    var badStream = TestScenes.cube()
    badStream.meshes[0].primitives[0].vertices.normals.removeLast()
    #expect(throws: ProcessingError(.internal, "mesh 0 primitive 0: NORMAL has 23 elements, POSITION has 24")) {
        try encodeGLB(badStream, options: options)
    }
    var nanPosition = TestScenes.cube()
    nanPosition.meshes[0].primitives[0].vertices.positions[3].y = .nan
    #expect(throws: ProcessingError.self) { try encodeGLB(nanPosition, options: options) }
    var badTimes = TestScenes.skinnedRig()
    badTimes.animations[0].channels[0].times = [0, 0, 1]
    #expect(throws: ProcessingError.self) { try encodeGLB(badTimes, options: options) }
}

@Test func emptyMeshesAreDropped() throws {
    var scene = TestScenes.cube()
    scene.meshes.insert(Mesh(name: "Empty"), at: 0)
    scene.nodes[0].mesh = 1
    var emptyNode = Node(name: "Nothing")
    emptyNode.mesh = 0
    scene.nodes.append(emptyNode)
    scene.roots.append(1)
    let (_, json, _) = try encodeAndValidate(scene)
    #expect(json.array("meshes").count == 1)
    #expect(json.array("nodes")[0]["mesh"] as? Int == 0 && json.array("nodes")[1]["mesh"] == nil)
}

@Test func emptySceneIsValid() throws {
    let encoded = try encodeGLB(Scene(), options: options)
    #expect(validateGLB(encoded.bytes) == [])
    #expect(encoded.bytes.count == encoded.breakdown.total && encoded.breakdown.geometry == 0)
}

@Test func sizeLimitIsCheckedBeforeAllocating() throws {
    let fits = glbFileSize(jsonLength: 1000, binLength: Int(UInt32.max) - 1000 - 36)
    #expect(fits <= Int(UInt32.max))
    try checkGLBSize(fits)
    let tooBig = glbFileSize(jsonLength: 1000, binLength: Int(UInt32.max))
    #expect(tooBig == 20 + 1000 + 8 + Int(UInt32.max) + 1)
    #expect(throws: ProcessingError(.resourceLimit, "output would be \(tooBig) bytes; GLB is limited to 4 GiB")) {
        try checkGLBSize(tooBig)
    }
}

@Test func jsonTextFormatting() {
    #expect(JSONValue.format(1) == "1")
    #expect(JSONValue.format(-0.0) == "0")
    #expect(JSONValue.format(0.1) == "0.1")
    #expect(JSONValue.format(1e-5) == "1e-5")
    #expect(JSONValue.format(1e20) == "1e20")
    #expect(JSONValue.format(123_456_792) == "1.2345679e8")
    #expect(JSONValue.format(.nan) == "0" && JSONValue.format(-.infinity) == "0")
    for value: Float in [
        0.1, 1.0 / 3, 1e-30, .greatestFiniteMagnitude, 16_777_218, -2.5e-7, .leastNormalMagnitude,
        .leastNonzeroMagnitude
    ] {
        #expect(Float(JSONValue.format(value)) == value)
    }
    var out: [UInt8] = []
    JSONValue.string("a\"b\\c\u{01}\u{1F}\tü🙂").write(to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "\"a\\\"b\\\\c\\u0001\\u001f\\tü🙂\"")
}

@Test func primitivesOfALayoutShareTheirVertexStreams() throws {
    // Two cube halves under two materials and a wire over the same layout share one set of streams, in which a
    // vertex they have in common is stored once; a primitive with normals has its own, as does one too large to
    // share 16-bit indices.
    var scene = TestScenes.cube()
    var cube = scene.meshes[0].primitives[0]
    cube.vertices.texcoords = []
    scene.materials.append(Material(name: "second"))
    var bare = cube
    bare.vertices.normals = []  // 24 vertices, 8 distinct: each corner thrice
    var top = bare
    top.indices = Array(bare.indices[0..<18])
    top.material = 0
    var bottom = bare
    bottom.indices = Array(bare.indices[18...])
    bottom.material = 1
    var wire = Primitive(mode: .lines)
    wire.vertices.positions = [bare.vertices.positions[0], SIMD3(2, 2, 2)]
    wire.indices = [0, 1]
    let large = TestScenes.strip(vertexCount: 65_520).meshes[0].primitives[0]
    scene.meshes[0].primitives = [top, cube, bottom, wire, large]
    let (_, json, bin) = try encodeAndValidate(scene)
    let primitives = json.array("meshes")[0].array("primitives")
    let positions = primitives.map { ($0["attributes"] as? [String: Int])?["POSITION"] }
    #expect(positions[0] == positions[2] && positions[0] == positions[3])
    #expect(positions[1] != positions[0] && positions[4] != positions[0] && positions[4] != positions[1])
    #expect(primitives.map { $0["material"] as? Int } == [0, 0, 1, nil, nil])
    let shared = json.array("accessors")[positions[0]!]
    let distinct = Set((bare.vertices.positions + wire.vertices.positions).map { [$0.x, $0.y, $0.z] })
    #expect(shared["count"] as? Int == distinct.count)
    #expect(shared["max"] as? [Double] == [2, 2, 2])
    // Each member's indices reach its own positions in the shared stream.
    func indices(_ p: Int) -> [Int] {
        let accessor = json.array("accessors")[primitives[p]["indices"] as! Int]
        let view = json.array("bufferViews")[accessor["bufferView"] as! Int]
        let start = (view["byteOffset"] as? Int ?? 0) + (accessor["byteOffset"] as? Int ?? 0)
        return (0..<(accessor["count"] as! Int)).map { Int(bin[start + 2 * $0]) | Int(bin[start + 2 * $0 + 1]) << 8 }
    }
    func drawn(_ p: Int) -> [[Float]] {
        indices(p).map { i in (0..<3).map { GLBFile.float(json, bin, accessor: positions[0]!, index: i * 3 + $0) } }
    }
    func expected(_ primitive: Primitive) -> [[Float]] {
        primitive.indices.map { primitive.vertices.positions[Int($0)] }.map { [$0.x, $0.y, $0.z] }
    }
    #expect(drawn(0) == expected(top))
    #expect(drawn(2) == expected(bottom))
    #expect(drawn(3) == expected(wire))
}
