import Foundation
import Scene
import Testing

@testable import GLB

/// The textured cube drawn 50 times by one node: instances vary in translation and rotation, scale stays 1
/// (so SCALE is omitted).
private func instancedCube(scaled: Bool = false) -> Scene {
    var scene = TestScenes.cube()
    scene.nodes[0].instances = (0..<50).map { i in
        let angle = Float(i) * 0.2
        return InstanceTransform(
            translation: SIMD3(Float(i % 10) * 2, 0, Float(i / 10) * 2),
            rotation: SIMD4(0, sin(angle / 2), 0, cos(angle / 2)),
            scale: scaled ? SIMD3(repeating: 1 + Float(i % 3)) : .one)
    }
    return scene
}

private func encode(_ scene: Scene, quantization: Quantization? = nil, compression: Compression = .none) throws
    -> [UInt8]
{
    try encodeGLB(
        scene, options: GLBOptions(generator: "optimize tests", quantization: quantization, compression: compression)
    ).bytes
}

private func instancing(_ json: [String: Any], node: Int) -> [String: Int] {
    let extensions = json.array("nodes")[node]["extensions"] as? [String: Any]
    return (extensions?["EXT_mesh_gpu_instancing"] as? [String: Any])?["attributes"] as? [String: Int] ?? [:]
}

@Suite("GLB: EXT_mesh_gpu_instancing")
struct InstancingWriterTests {
    @Test func fiftyInstancesEncodeValidAndDeterministic() throws {
        let scene = instancedCube()
        let bytes = try encode(scene)
        #expect(validateGLB(bytes) == [])
        #expect(try encode(scene) == bytes)
        let (json, bin) = try GLBFile.split(bytes)
        #expect(json["extensionsUsed"] as? [String] == ["EXT_mesh_gpu_instancing"])
        #expect(json["extensionsRequired"] as? [String] == ["EXT_mesh_gpu_instancing"])
        let attributes = instancing(json, node: 0)
        #expect(Set(attributes.keys) == ["TRANSLATION", "ROTATION"])
        let accessors = json.array("accessors")
        let translation = try #require(attributes["TRANSLATION"])
        let rotation = try #require(attributes["ROTATION"])
        #expect(accessors[translation]["count"] as? Int == 50 && accessors[translation]["type"] as? String == "VEC3")
        #expect(accessors[rotation]["count"] as? Int == 50 && accessors[rotation]["type"] as? String == "VEC4")
        #expect(accessors[rotation]["componentType"] as? Int == GL.float)
        // Instance 13: translation (6, 0, 2), rotation about Y by 2.6 rad.
        #expect(GLBFile.float(json, bin, accessor: translation, index: 13 * 3) == 6)
        #expect(GLBFile.float(json, bin, accessor: translation, index: 13 * 3 + 2) == 2)
        #expect(abs(GLBFile.float(json, bin, accessor: rotation, index: 13 * 4 + 1) - sin(1.3)) < 1e-6)
        #expect(scene.statistics.instancedTriangles == 50 * 12)
        #expect(scene.statistics.triangles == 12)
    }

    @Test func defaultAttributesAreOmittedButOneStays() throws {
        var scene = TestScenes.cube()
        scene.nodes[0].instances = [InstanceTransform(), InstanceTransform(scale: SIMD3(2, 2, 2))]
        var (json, _) = try GLBFile.split(try encode(scene))
        #expect(Set(instancing(json, node: 0).keys) == ["SCALE"])
        scene.nodes[0].instances = [InstanceTransform(), InstanceTransform()]
        let bytes = try encode(scene)
        #expect(validateGLB(bytes) == [])
        (json, _) = try GLBFile.split(bytes)
        #expect(Set(instancing(json, node: 0).keys) == ["TRANSLATION"])
    }

    /// Quantization folds its position grid into every instance (not the node), so each copy lands where the
    /// float copy did; meshopt compression leaves the instance data readable and the file valid.
    @Test func quantizedAndCompressedInstancesStayInPlace() throws {
        let scene = instancedCube(scaled: true)
        for compression in [Compression.none, .meshopt(fallback: false), .meshopt(fallback: true)] {
            let bytes = try encode(scene, quantization: Quantization(), compression: compression)
            #expect(validateGLB(bytes) == [], "\(compression)")
            let (json, bin) = try GLBFile.split(bytes)
            let nodes = json.array("nodes")
            #expect(nodes.count == 1 && nodes[0]["mesh"] as? Int == 0)
            #expect(nodes[0]["translation"] as? [Double] == [0, 1, 0])
            let attributes = instancing(json, node: 0)
            let t = try #require(attributes["TRANSLATION"])
            let r = try #require(attributes["ROTATION"])
            let s = try #require(attributes["SCALE"])
            var copy = scene
            let grid = try #require(try QuantizationPlan(scene: &copy, settings: Quantization()).positions[0])
            for i in [0, 17, 49] {
                func read(_ a: Int, _ n: Int) -> [Float] {
                    (0..<n).map { GLBFile.float(json, bin, accessor: a, index: i * n + $0) }
                }
                let (rt, rr, rs) = (read(t, 3), read(r, 4), read(s, 3))
                let written = InstanceTransform(
                    translation: SIMD3(rt[0], rt[1], rt[2]), rotation: SIMD4(rr[0], rr[1], rr[2], rr[3]),
                    scale: SIMD3(rs[0], rs[1], rs[2]))
                // A grid corner, dequantized by the written instance, matches the float instance's placement.
                let corner = grid.offset + SIMD3<Float>(repeating: grid.scale * 1000)
                let expected = scene.nodes[0].instances[i].matrix.transformPoint(corner)
                let actual = written.matrix.transformPoint(SIMD3(repeating: 1000))
                #expect(
                    ((expected - actual) * (expected - actual)).sum().squareRoot() < 1e-3,
                    "instance \(i) \(compression)")
            }
        }
    }

    @Test func validatorChecksInstancingRules() throws {
        let bytes = try encode(instancedCube(scaled: true))
        func issues(_ edit: (inout [String: Any], inout [UInt8]) -> Void) throws -> [ValidationIssue] {
            var (json, bin) = try GLBFile.split(bytes)
            edit(&json, &bin)
            return validateGLB(try GLBFile.join(json: json, bin: bin))
        }
        func attributes(_ json: [String: Any]) -> [String: Int] { instancing(json, node: 0) }
        func setAttributes(_ json: inout [String: Any], _ value: Any) {
            var nodes = json.array("nodes")
            nodes[0]["extensions"] = ["EXT_mesh_gpu_instancing": ["attributes": value]]
            json["nodes"] = nodes
        }
        let pointer = "/nodes/0/extensions/EXT_mesh_gpu_instancing"

        // Counts differ: point TRANSLATION at the cube's 24-vertex POSITION accessor.
        var found = try issues { json, _ in
            var a = attributes(json)
            a["TRANSLATION"] = 0
            setAttributes(&json, a)
        }
        #expect(found.contains { $0.pointer.hasPrefix("\(pointer)/attributes") && $0.message.contains("elements") })
        // Wrong type: ROTATION given a VEC3 accessor.
        found = try issues { json, _ in
            var a = attributes(json)
            a["ROTATION"] = a["SCALE"]
            setAttributes(&json, a)
        }
        #expect(found.contains { $0.pointer == "\(pointer)/attributes/ROTATION" && $0.message.contains("VEC4") })
        // Out-of-range accessor, unknown semantic, empty attributes, node without mesh.
        found = try issues { json, _ in setAttributes(&json, ["TRANSLATION": 999, "SHEAR": attributes(json)["SCALE"]!])
        }
        #expect(found.contains { $0.pointer == "\(pointer)/attributes/TRANSLATION" })
        #expect(found.contains { $0.message.contains("unknown attribute semantic SHEAR") })
        found = try issues { json, _ in setAttributes(&json, [String: Int]()) }
        #expect(found.contains { $0.message.contains("at least one attribute") })
        found = try issues { json, _ in
            var nodes = json.array("nodes")
            nodes[0]["mesh"] = nil
            json["nodes"] = nodes
        }
        #expect(found.contains { $0.pointer == pointer && $0.message.contains("must have a mesh") })
        // A non-unit rotation.
        found = try issues { json, bin in
            GLBFile.setFloat(&bin, json, accessor: attributes(json)["ROTATION"]!, index: 5 * 4 + 3, 3)
        }
        #expect(found.contains { $0.pointer == "\(pointer)/attributes/ROTATION" && $0.message.contains("instance 5") })
        // Undeclared extension.
        found = try issues { json, _ in
            json["extensionsUsed"] = nil
            json["extensionsRequired"] = nil
        }
        #expect(found.contains { $0.message.contains("EXT_mesh_gpu_instancing is used but not declared") })
    }
}
