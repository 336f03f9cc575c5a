import Foundation
import GLB
import Importers
import Scene
import TestSupport
import Testing

@testable import Draco

/// `encodeGLB` with `Compression.draco` on real fixtures, checked by our validator, our decoder and Assimp.
@Suite struct GLBDracoTests {
    static let files = ["obj/spider/spider.obj", "fbx/huesitos.fbx", "glb/BoxTextured.glb"]

    func write(_ file: String, _ settings: DracoSettings = DracoSettings()) throws -> (scene: Scene, glb: [UInt8]) {
        let scene = try importScene(from: Paths.fixtures.appendingPathComponent(file))
        let glb = try encodeGLB(scene, options: GLBOptions(generator: "test", compression: .draco(settings))).bytes
        return (scene, glb)
    }

    @Test(arguments: files)
    func primitivesAreDracoCompressedAndValid(_ file: String) throws {
        let (scene, glb) = try write(file)
        #expect(validateGLB(glb) == [])
        let plain = try encodeGLB(scene, options: GLBOptions(generator: "test")).bytes
        #expect(glb.count < plain.count)
        let gltf = try GLBFile(glb)
        #expect(gltf.stringArray("extensionsRequired").contains("KHR_draco_mesh_compression"))
        #expect(gltf.stringArray("extensionsUsed").contains("KHR_draco_mesh_compression"))
        var triangles = 0
        for mesh in gltf.array("meshes") {
            for case let primitive as [String: Any] in mesh["primitives"] as? [Any] ?? [] {
                let draco = try #require(
                    (primitive["extensions"] as? [String: Any])?["KHR_draco_mesh_compression"] as? [String: Any])
                let view = try #require(draco["bufferView"] as? Int)
                let decoded = try decodeDracoMesh(gltf.viewBytes(view))
                let indicesIndex = try #require(primitive["indices"] as? Int)
                let indices = gltf.accessor(indicesIndex)
                #expect(indices["bufferView"] == nil)
                #expect(indices["count"] as? Int == decoded.indices.count)
                #expect(indices["componentType"] as? Int == 5123, "16-bit indices for Assimp")
                let attributes = try #require(primitive["attributes"] as? [String: Int])
                let ids = try #require(draco["attributes"] as? [String: Int])
                #expect(Set(attributes.keys) == Set(ids.keys))
                for (name, accessorIndex) in attributes {
                    let accessor = gltf.accessor(accessorIndex)
                    #expect(accessor["bufferView"] == nil)
                    #expect(accessor["count"] as? Int == decoded.vertexCount)
                    let components = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4][accessor["type"] as? String ?? ""]
                    #expect(decoded.attributes[ids[name]!]?.components == components, "\(name)")
                }
                let position = gltf.accessor(attributes["POSITION"]!)
                #expect((position["min"] as? [Double])?.count == 3 && (position["max"] as? [Double])?.count == 3)
                triangles += decoded.indices.count / 3
            }
        }
        #expect(triangles == scene.meshes.flatMap(\.primitives).reduce(0) { $0 + $1.triangleCount })
    }

    @Test func outputIsDeterministicAndBitsMatter() throws {
        let file = "obj/spider/spider.obj"
        #expect(try write(file).glb == write(file).glb)
        let coarse = try write(file, DracoSettings(positionBits: 8, normalBits: 6, texcoordBits: 8))
        #expect(coarse.glb.count < (try write(file).glb.count))
        #expect(validateGLB(coarse.glb) == [])
    }

    @Test func skinnedMeshesKeepJointsAndWeights() throws {
        let (scene, glb) = try write("fbx/huesitos.fbx")
        let gltf = try GLBFile(glb)
        let primitive = try #require((gltf.array("meshes").first?["primitives"] as? [[String: Any]])?.first)
        let ids = try #require(
            ((primitive["extensions"] as? [String: Any])?["KHR_draco_mesh_compression"] as? [String: Any])?[
                "attributes"] as? [String: Int])
        let draco = ((primitive["extensions"] as! [String: Any])["KHR_draco_mesh_compression"] as! [String: Any])
        let decoded = try decodeDracoMesh(gltf.viewBytes(draco["bufferView"] as! Int))
        let jointsID = try #require(ids["JOINTS_0"])
        let weightsID = try #require(ids["WEIGHTS_0"])
        let joints = try #require(decoded.attributes[jointsID]).values
        let weights = try #require(decoded.attributes[weightsID]).values
        let jointCount = scene.skins.map(\.joints.count).max() ?? 0
        #expect(joints.allSatisfy { $0 >= 0 && $0 < Float(jointCount) && $0 == $0.rounded() })
        for v in 0..<decoded.vertexCount {
            let sum = weights[v * 4..<v * 4 + 4].reduce(0, +)
            #expect(abs(sum - 1) < 4.0 / 4095, "vertex \(v): weights sum to \(sum)")
        }
    }

    @Test func validatorRejectsBrokenDracoData() throws {
        var (_, glb) = try write("glb/BoxTextured.glb")
        let gltf = try GLBFile(glb)
        let primitive = try #require((gltf.array("meshes").first?["primitives"] as? [[String: Any]])?.first)
        let draco = try #require(
            (primitive["extensions"] as? [String: Any])?["KHR_draco_mesh_compression"] as? [String: Any])
        let range = gltf.viewRange(draco["bufferView"] as! Int)
        for i in range { glb[i] = 0 }
        let issues = validateGLB(glb)
        #expect(issues.contains { $0.pointer.hasSuffix("/extensions/KHR_draco_mesh_compression") }, "\(issues)")
    }

    @Test(
        .enabled(if: Paths.assimp != nil || Paths.toolsRequired, "needs the assimp CLI (assimp-utils)"),
        arguments: files)
    func assimpReadsDracoPrimitives(_ file: String) throws {
        let assimp = try #require(Paths.assimp)
        let (scene, glb) = try write(file)
        let plain = try encodeGLB(scene, options: GLBOptions(generator: "test")).bytes
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Assimp drops degenerate triangles and lines from its counts: compare with the same scene written plainly.
        func faces(_ bytes: [UInt8], _ name: String) throws -> Int? {
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            let info = try run(assimp, ["info", url.path])
            try #require(info.status == 0, "assimp info \(name) failed: \(info.summary)")
            let line = info.stdout.split(separator: "\n").first { $0.hasPrefix("Faces:") }
            return line.flatMap { Int($0.dropFirst("Faces:".count).trimmingCharacters(in: .whitespaces)) }
        }
        let expected = try #require(try faces(plain, "plain.glb"))
        #expect(try faces(glb, "draco.glb") == expected)
        // A re-export reads every decoded vertex: its bounds must match the plain file's within quantization.
        func bounds(_ name: String) throws -> (SIMD3<Float>, SIMD3<Float>) {
            let obj = dir.appendingPathComponent(name + ".obj")
            let export = try run(assimp, ["export", dir.appendingPathComponent(name).path, obj.path])
            try #require(export.status == 0, "assimp export \(name) failed: \(export.summary)")
            var lo = SIMD3<Float>(repeating: .infinity)
            var hi = -lo
            for line in try String(contentsOf: obj, encoding: .utf8).split(separator: "\n") where line.hasPrefix("v ") {
                let f = line.split(separator: " ").dropFirst().prefix(3).compactMap { Float($0) }
                guard f.count == 3 else { continue }
                lo = pointwiseMin(lo, SIMD3(f[0], f[1], f[2]))
                hi = pointwiseMax(hi, SIMD3(f[0], f[1], f[2]))
            }
            return (lo, hi)
        }
        // Assimp 5.2.5's exporter asserts on any skinned glTF (SceneCombiner.cpp:1353), compressed or not.
        guard scene.skins.isEmpty else { return }
        let (plainLo, plainHi) = try bounds("plain.glb")
        let (lo, hi) = try bounds("draco.glb")
        let tolerance = (plainHi - plainLo).max() / Float((1 << 14) - 1) + 1e-5
        func distance(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (0..<3).map { abs(a[$0] - b[$0]) }.max()! }
        #expect(
            lo.x.isFinite && distance(lo, plainLo) <= tolerance && distance(hi, plainHi) <= tolerance,
            "\(lo)...\(hi) vs \(plainLo)...\(plainHi)")
    }
}

/// Minimal GLB reader for the tests: the JSON chunk as Foundation objects, and bufferView bytes.
struct GLBFile {
    let bytes: [UInt8]
    let json: [String: Any]
    let binStart: Int

    init(_ bytes: [UInt8]) throws {
        func word(_ o: Int) -> Int {
            Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24
        }
        let jsonLength = word(12)
        self.bytes = bytes
        let object = try JSONSerialization.jsonObject(with: Data(bytes[20..<20 + jsonLength]))
        json = try #require(object as? [String: Any])
        binStart = 20 + jsonLength + 8
    }

    func array(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }
    func stringArray(_ key: String) -> [String] { json[key] as? [String] ?? [] }
    func accessor(_ i: Int) -> [String: Any] { array("accessors")[i] }

    func viewRange(_ i: Int) -> Range<Int> {
        let view = array("bufferViews")[i]
        let start = binStart + (view["byteOffset"] as? Int ?? 0)
        return start..<start + (view["byteLength"] as! Int)
    }

    func viewBytes(_ i: Int) -> [UInt8] { Array(bytes[viewRange(i)]) }
}
