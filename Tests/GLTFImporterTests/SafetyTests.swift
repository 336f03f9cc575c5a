import Foundation
import Scene
import Testing

@testable import GLTFImporter

@Suite("glTF reader: hostile input is refused cleanly")
struct SafetyTests {
    func triangle() -> GLTFBuilder {
        var b = GLTFBuilder()
        _ = b.triangleScene(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0], indices: [0, 1, 2])
        return b
    }

    @Test("GLB container: lengths are checked against the file before anything is read")
    func container() throws {
        let good = try triangle().glb()
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func message(_ bytes: [UInt8]) -> String {
            let url = folder.appendingPathComponent("bad.glb")
            do {
                try Data(bytes).write(to: url)
                _ = try importGLTF(from: url)
                Issue.record("imported a corrupt GLB")
            } catch let error as ProcessingError {
                #expect(error.kind == .badInput)
                return error.message
            } catch {
                Issue.record("\(error)")
            }
            return ""
        }
        func patched(_ offset: Int, _ value: UInt32) -> [UInt8] {
            var bytes = good
            withUnsafeBytes(of: value.littleEndian) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
            return bytes
        }
        #expect(message(patched(8, 0xFFFF_FFF0)).contains("declares"))  // total length
        #expect(message(patched(12, 0x7FFF_FFF0)).contains("runs past the end"))  // JSON chunk length
        #expect(message(Array(good.prefix(good.count - 8))).contains("declares"))  // truncated file
        #expect(message(patched(4, 1)).contains("version 1"))
        #expect(!message(Array(good.prefix(30))).isEmpty)
    }

    @Test("buffers, views and accessors that claim more bytes than exist are refused before allocating")
    func sizes() throws {
        var b = triangle()
        var accessors = b.json["accessors"] as! [[String: Any]]
        accessors[0]["count"] = 1 << 40
        b.json["accessors"] = accessors
        #expect(importError(b).contains("exceed bufferView"))

        b = triangle()
        accessors = b.json["accessors"] as! [[String: Any]]
        accessors[0].removeValue(forKey: "bufferView")
        accessors[0]["count"] = 1 << 40  // zeros: bounded by the input's size
        b.json["accessors"] = accessors
        #expect(importError(b).contains("larger than the input"))

        b = triangle()
        var views = b.json["bufferViews"] as! [[String: Any]]
        views[0]["byteLength"] = 1 << 30
        b.json["bufferViews"] = views
        #expect(importError(b, name: "m.glb").contains("exceed buffer"))

        // A buffer longer than the BIN chunk.
        b = triangle()
        var glb = try b.glb()
        let jsonLength = Int(glb[12]) | Int(glb[13]) << 8
        let text = String(decoding: glb[20..<20 + jsonLength], as: UTF8.self)
        let lying = text.replacingOccurrences(of: "\"byteLength\":\(b.bin.count)}]", with: "\"byteLength\":99999999}]")
        #expect(lying != text)
        glb.replaceSubrange(20..<20 + jsonLength, with: Array(lying.utf8.prefix(jsonLength)))
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("b.glb")
        try Data(glb).write(to: url)
        #expect(throws: ProcessingError.self) { try importGLTF(from: url) }
    }

    @Test("uris: only relative paths inside the model's folder; no absolute paths, .. escapes or schemes")
    func uris() throws {
        let outer = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: outer) }
        let folder = outer.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let b = triangle()
        try Data(b.bin).write(to: outer.appendingPathComponent("secret.bin"))
        try Data(b.bin).write(to: folder.appendingPathComponent("mesh data.bin"))
        func attempt(_ uri: String) -> Result<Scene, ProcessingError> {
            var document = b.json
            document["buffers"] = [["byteLength": b.bin.count, "uri": uri]]
            let url = folder.appendingPathComponent("model.gltf")
            do {
                try JSONSerialization.data(withJSONObject: document).write(to: url)
                return .success(try importGLTF(from: url))
            } catch let error as ProcessingError {
                return .failure(error)
            } catch {
                return .failure(ProcessingError(.internal, "\(error)"))
            }
        }
        guard case .success(let scene) = attempt("mesh%20data.bin") else {
            Issue.record("a relative uri was refused")
            return
        }
        #expect(scene.meshes[0].primitives[0].triangleCount == 1)
        for uri in [
            "../secret.bin", "/etc/passwd", "file:///etc/passwd", "http://127.0.0.1/x.bin", outer.path + "/secret.bin",
            "sub/../../secret.bin", "C:\\secret.bin"
        ] {
            guard case .failure(let error) = attempt(uri) else {
                Issue.record("\(uri) was read")
                continue
            }
            #expect(error.kind == .badInput, "\(uri): \(error)")
        }
    }

    @Test("malformed structure: wrong types, missing scene, out-of-range references, bad counts for the mode")
    func structure() throws {
        var b = triangle()
        b.json["meshes"] = [["primitives": ["not": "an array"]]]
        #expect(importError(b).contains("primitives must be"))
        b = triangle()
        b.json["scene"] = 3
        #expect(importError(b).contains("scene 3 does not exist"))
        b = triangle()
        b.json["nodes"] = [["mesh": 9]]
        #expect(importError(b).contains("mesh does not exist"))
        b = triangle()
        var accessors = b.json["accessors"] as! [[String: Any]]
        accessors[1]["count"] = 2  // two indices for a triangle list
        b.json["accessors"] = accessors
        #expect(importError(b).contains("not a multiple of 3"))
        b = triangle()
        b.json["asset"] = ["version": "1.0"]
        #expect(importError(b).contains("version 1.0"))
        let nan = b.floats([.nan, 0, 0, 1, 0, 0, 0, 1, 0], type: "VEC3")
        b.json["asset"] = ["version": "2.0"]
        b.json["meshes"] = [["primitives": [["attributes": ["POSITION": nan]]]]]
        #expect(importError(b).contains("NaN or infinite"))
    }
}
