import Foundation
import Scene
import Testing

@testable import GLB

private let options = GLBOptions(generator: "optimize tests")

private func encoded(_ scene: Scene) throws -> [UInt8] { try encodeGLB(scene, options: options).bytes }

/// Re-packs `scene` after `edit` changes its JSON and BIN, and validates the result.
private func validateEdited(_ scene: Scene, _ edit: (inout [String: Any], inout [UInt8]) throws -> Void) throws
    -> [ValidationIssue]
{
    var (json, bin) = try GLBFile.split(try encoded(scene))
    try edit(&json, &bin)
    return validateGLB(try GLBFile.join(json: json, bin: bin))
}

private func has(_ issues: [ValidationIssue], _ pointer: String, _ fragment: String) -> Bool {
    issues.contains { $0.pointer == pointer && $0.message.contains(fragment) }
}

/// Sets `json[path…] = value`, creating nothing: the path must exist up to the last key.
private func set(_ json: inout [String: Any], _ path: [Any], _ value: Any?) {
    func update(_ container: Any, _ path: ArraySlice<Any>) -> Any {
        guard let head = path.first else { return value as Any }
        if var object = container as? [String: Any], let key = head as? String {
            object[key] = path.count == 1 ? value : update(object[key] as Any, path.dropFirst())
            return object
        }
        if var array = container as? [Any], let index = head as? Int {
            array[index] = update(array[index], path.dropFirst())
            return array
        }
        Issue.record("bad path \(path)")
        return container
    }
    json = update(json, ArraySlice(path)) as! [String: Any]
}

@Test func repackingAValidFileStaysValid() throws {
    #expect(try validateEdited(TestScenes.cameraAndLights()) { _, _ in } == [])
}

@Test func containerErrors() throws {
    let bytes = try encoded(TestScenes.cube())
    var badMagic = bytes
    badMagic[0] = 0x47
    #expect(validateGLB(badMagic) == [ValidationIssue(pointer: "", message: "bad magic: not a GLB file")])
    var badVersion = bytes
    badVersion[4] = 1
    #expect(validateGLB(badVersion).contains { $0.message.contains("version 1") })
    let truncated = Array(bytes.dropLast(10))
    #expect(validateGLB(truncated).contains { $0.message.contains("does not match the file size") })
    #expect(validateGLB(Array(bytes.prefix(7))).contains { $0.message.contains("shorter than the 12-byte") })
    var notJSON = bytes
    notJSON[20] = UInt8(ascii: "x")
    #expect(validateGLB(notJSON) == [ValidationIssue(pointer: "", message: "JSON chunk is not valid JSON")])
    #expect(validateGLB([]) != [])
}

@Test func outOfRangeIndexData() throws {
    let issues = try validateEdited(TestScenes.cube()) { json, bin in
        let primitive = json.array("meshes")[0].array("primitives")[0]
        let accessor = json.array("accessors")[primitive["indices"] as! Int]
        let view = json.array("bufferViews")[accessor["bufferView"] as! Int]
        let offset = view["byteOffset"] as? Int ?? 0
        bin[offset + 2 * 7] = 30  // index 7 → vertex 30 of 24
    }
    #expect(has(issues, "/meshes/0/primitives/0/indices", "index 30 at element 7 is out of range for 24 vertices"))
}

@Test func badReferences() throws {
    let issues = try validateEdited(TestScenes.cube()) { json, _ in
        set(&json, ["nodes", 0, "mesh"], 5)
        set(&json, ["textures", 0, "source"], -1)
        set(&json, ["meshes", 0, "primitives", 0, "attributes", "NORMAL"], 99)
    }
    #expect(has(issues, "/nodes/0/mesh", "index 5 is out of range: meshes has 1 items"))
    #expect(has(issues, "/textures/0/source", "must be a non-negative integer index"))
    #expect(has(issues, "/meshes/0/primitives/0/attributes/NORMAL", "out of range: accessors"))
}

@Test func nodeCyclesAndSharedChildren() throws {
    let cycle = try validateEdited(TestScenes.skinnedRig()) { json, _ in
        set(&json, ["nodes", 3, "children"], [2])  // Hip → Spine → Hip
    }
    #expect(cycle.contains { $0.message.contains("cycle") })
    let twoParents = try validateEdited(TestScenes.skinnedRig()) { json, _ in
        set(&json, ["nodes", 1, "children"], [3])  // Spine is already Hip's child
    }
    #expect(has(twoParents, "/nodes/3", "two parents"))
    let selfChild = try validateEdited(TestScenes.cube()) { json, _ in set(&json, ["nodes", 0, "children"], [0]) }
    #expect(selfChild.contains { $0.message.contains("cycle") })
}

@Test func undeclaredAndUnknownExtensions() throws {
    let missing = try validateEdited(TestScenes.cameraAndLights()) { json, _ in
        set(&json, ["extensionsUsed"], ["KHR_materials_unlit"])
    }
    #expect(has(missing, "/extensions/KHR_lights_punctual", "KHR_lights_punctual is used but not declared"))
    let required = try validateEdited(TestScenes.cube()) { json, _ in
        set(&json, ["extensionsUsed"], ["EXT_made_up"])
        set(&json, ["extensionsRequired"], ["EXT_made_up", "KHR_materials_unlit"])
    }
    #expect(has(required, "/extensionsRequired/0", "EXT_made_up is not supported"))
    #expect(has(required, "/extensionsRequired/1", "not in extensionsUsed"))
}

@Test func nonUnitNormalAndBadWeights() throws {
    let normals = try validateEdited(TestScenes.cube()) { json, bin in
        let accessor = (json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int])["NORMAL"]!
        GLBFile.setFloat(&bin, json, accessor: accessor, index: 3 * 5, 2)
    }
    #expect(has(normals, "/meshes/0/primitives/0/attributes/NORMAL", "normal 5 has length 2"))
    let weights = try validateEdited(TestScenes.skinnedRig()) { json, bin in
        let accessor = (json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int])["WEIGHTS_0"]!
        GLBFile.setFloat(&bin, json, accessor: accessor, index: 4 * 2 + 1, 0.9)
    }
    #expect(has(weights, "/meshes/0/primitives/0/attributes/WEIGHTS_0", "weights of vertex 2 sum to"))
}

@Test func accessorAndViewRules() throws {
    let issues = try validateEdited(TestScenes.cube()) { json, _ in
        let position = (json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int])["POSITION"]!
        set(&json, ["accessors", position, "max"], [0.5, 0.5, 0.75])
        set(&json, ["accessors", position, "componentType"], 5121)  // POSITION as unsigned bytes
        set(&json, ["bufferViews", 0, "byteStride"], 6)
        set(&json, ["accessors", 0, "count"], 100_000)
        set(&json, ["meshes", 0, "primitives", 0, "attributes", "FOO"], 1)
    }
    #expect(has(issues, "/bufferViews/0/byteStride", "multiple of 4"))
    #expect(has(issues, "/accessors/0", "exceeds bufferView 0"))
    #expect(has(issues, "/meshes/0/primitives/0/attributes/POSITION", "cannot use componentType 5121"))
    #expect(has(issues, "/meshes/0/primitives/0/attributes/FOO", "unknown attribute semantic FOO"))
    let minMax = try validateEdited(TestScenes.cube()) { json, _ in
        set(&json, ["accessors", 0, "max"], [0.5, 0.5, 0.75])
    }
    #expect(has(minMax, "/accessors/0/max", "max[2] is 0.75 but the data's max is 0.5"))
    let noBounds = try validateEdited(TestScenes.cube()) { json, _ in set(&json, ["accessors", 0, "min"], nil) }
    #expect(has(noBounds, "/meshes/0/primitives/0/attributes/POSITION", "must have min and max"))
}

@Test func quantizedPositionsNeedTheExtension() throws {
    // A triangle stored as unsigned shorts: invalid in core glTF, valid with KHR_mesh_quantization.
    let positions: [UInt16] = [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    let bin = positions.withUnsafeBytes { [UInt8]($0) }
    var json: [String: Any] = [
        "asset": ["version": "2.0"],
        "buffers": [["byteLength": 24]],
        "bufferViews": [["buffer": 0, "byteLength": 24, "byteStride": 8, "target": 34962]],
        "accessors": [
            ["bufferView": 0, "componentType": 5123, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]]
        ],
        "meshes": [["primitives": [["attributes": ["POSITION": 0]]]]],
        "nodes": [["mesh": 0]], "scenes": [["nodes": [0]]], "scene": 0
    ]
    #expect(
        has(
            validateGLB(try GLBFile.join(json: json, bin: bin)), "/meshes/0/primitives/0/attributes/POSITION",
            "componentType 5123"))
    json["extensionsUsed"] = ["KHR_mesh_quantization"]
    json["extensionsRequired"] = ["KHR_mesh_quantization"]
    let issues = validateGLB(try GLBFile.join(json: json, bin: bin))
    #expect(issues == [], "\(issues)")
}

@Test func animationTimesMustIncrease() throws {
    let issues = try validateEdited(TestScenes.skinnedRig()) { json, bin in
        let input = json.array("animations")[0].array("samplers")[0]["input"] as! Int
        GLBFile.setFloat(&bin, json, accessor: input, index: 2, 0.25)
        set(&json, ["accessors", input, "max"], [0.5])
    }
    #expect(has(issues, "/animations/0/samplers/0/input", "not strictly increasing at key 2"))
}

@Test func compressedViewsAreDecoded() throws {
    // A meshopt-compressed view whose bytes are not a meshopt stream: reported once, and its (unit-breaking) plain
    // copy is not checked as data, since the decoded data is what counts.
    let issues = try validateEdited(TestScenes.cube()) { json, bin in
        let normal = (json.array("meshes")[0].array("primitives")[0]["attributes"] as! [String: Int])["NORMAL"]!
        let view = json.array("accessors")[normal]["bufferView"] as! Int
        // The view may hold other 12-byte streams too (small streams of one kind share a view).
        let count = (json.array("bufferViews")[view]["byteLength"] as! Int) / 12
        GLBFile.setFloat(&bin, json, accessor: normal, index: 0, 7)
        set(
            &json, ["bufferViews", view, "extensions"],
            [
                "EXT_meshopt_compression": [
                    "buffer": 0, "byteLength": 4, "byteStride": 12, "count": count, "mode": "ATTRIBUTES"
                ]
            ])
        set(&json, ["extensionsUsed"], ["EXT_meshopt_compression"])
    }
    #expect(issues.map(\.message) == ["the compressed ATTRIBUTES data does not decode"])
}

@Test func hostileInputNeverTraps() throws {
    let original = try encoded(TestScenes.skinnedRig())
    // Every truncation, and many deterministic byte mutations.
    for length in stride(from: 0, to: original.count, by: 3) { _ = validateGLB(Array(original.prefix(length))) }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(truncatingIfNeeded: state >> 33)
    }
    var found = 0
    for _ in 0..<2000 {
        var bytes = original
        for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
        if !validateGLB(bytes).isEmpty { found += 1 }
    }
    #expect(found > 0)
    // Huge counts and offsets in the JSON.
    let issues = try validateEdited(TestScenes.cube()) { json, _ in
        set(&json, ["accessors", 0, "count"], 1 << 40)
        set(&json, ["accessors", 1, "byteOffset"], 1 << 62)
        set(&json, ["bufferViews", 1, "byteLength"], 4_000_000_000)
        set(&json, ["nodes", 0, "children"], [Int.max, 1e300, true, "x"])
    }
    #expect(!issues.isEmpty)
    // Deeply nested JSON is refused by the parser rather than overflowing the stack.
    var nested = [UInt8](repeating: UInt8(ascii: "["), count: 200_000)
    nested += [UInt8](repeating: UInt8(ascii: "]"), count: 200_000)
    var glb: [UInt8] = []
    for word: UInt32 in [0x4654_6C67, 2, UInt32(20 + nested.count), UInt32(nested.count), 0x4E4F_534A] {
        withUnsafeBytes(of: word.littleEndian) { glb += $0 }
    }
    #expect(!validateGLB(glb + nested).isEmpty)
}
