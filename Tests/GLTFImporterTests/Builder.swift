import Foundation
import Scene
import TestSupport
import Testing

@testable import GLTFImporter

/// Builds glTF documents in code: binary data goes into one buffer, the JSON is a dictionary the test edits.
struct GLTFBuilder {
    var bin: [UInt8] = []
    var json: [String: Any] = ["asset": ["version": "2.0"]]

    private mutating func append(_ key: String, _ value: [String: Any]) -> Int {
        var list = json[key] as? [Any] ?? []
        list.append(value)
        json[key] = list
        return list.count - 1
    }

    /// A bufferView over `bytes` (4-byte aligned).
    mutating func view(_ bytes: [UInt8], stride: Int? = nil) -> Int {
        while bin.count % 4 != 0 { bin.append(0) }
        var view: [String: Any] = ["buffer": 0, "byteOffset": bin.count, "byteLength": bytes.count]
        if let stride { view["byteStride"] = stride }
        bin += bytes
        return append("bufferViews", view)
    }

    mutating func accessor(
        view: Int?, componentType: Int, count: Int, type: String, normalized: Bool = false,
        extra: [String: Any] = [:]
    ) -> Int {
        var accessor: [String: Any] = ["componentType": componentType, "count": count, "type": type]
        if let view { accessor["bufferView"] = view }
        if normalized { accessor["normalized"] = true }
        accessor.merge(extra) { $1 }
        return append("accessors", accessor)
    }

    mutating func floats(_ values: [Float], type: String) -> Int {
        let components = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16][type]!
        return accessor(
            view: view(bytes(of: values)), componentType: 5126, count: values.count / components, type: type)
    }

    mutating func add(_ key: String, _ value: [String: Any]) -> Int { append(key, value) }

    /// The document as a .gltf with the buffer inline (data: uri).
    func gltfText() throws -> Data {
        var document = json
        if !bin.isEmpty {
            document["buffers"] = [
                [
                    "byteLength": bin.count,
                    "uri": "data:application/octet-stream;base64," + Data(bin).base64EncodedString()
                ]
            ]
        }
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
    }

    /// The document as a GLB with the buffer in the BIN chunk.
    func glb() throws -> [UInt8] {
        var document = json
        if !bin.isEmpty { document["buffers"] = [["byteLength": bin.count]] }
        var text = [UInt8](try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))
        while text.count % 4 != 0 { text.append(0x20) }
        var binary = bin
        while binary.count % 4 != 0 { binary.append(0) }
        var out: [UInt8] = []
        func word(_ v: Int) { out += withUnsafeBytes(of: UInt32(v).littleEndian, Array.init) }
        word(0x4654_6C67)
        word(2)
        word(12 + 8 + text.count + (binary.isEmpty ? 0 : 8 + binary.count))
        word(text.count)
        word(0x4E4F_534A)
        out += text
        if !binary.isEmpty {
            word(binary.count)
            word(0x004E_4942)
            out += binary
        }
        return out
    }

    /// A triangle mesh node: positions (and indices), material 0 when there is one.
    mutating func triangleScene(positions: [Float], indices: [UInt16]? = nil, attributes: [String: Int] = [:]) -> Int {
        var attrs: [String: Any] = ["POSITION": floats(positions, type: "VEC3")]
        attrs.merge(attributes) { $1 }
        var primitive: [String: Any] = ["attributes": attrs]
        if let indices {
            primitive["indices"] = accessor(
                view: view(bytes(of: indices)), componentType: 5123, count: indices.count, type: "SCALAR")
        }
        if json["materials"] != nil { primitive["material"] = 0 }
        let mesh = add("meshes", ["primitives": [primitive]])
        let node = add("nodes", ["mesh": mesh])
        json["scenes"] = [["nodes": [node]]]
        return mesh
    }
}

func bytes<T>(of values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

/// The largest absolute component of `v`.
func largest<V: SIMD>(_ v: V) -> Float where V.Scalar == Float { v.indices.map { Swift.abs(v[$0]) }.max() ?? 0 }

/// A fresh temporary folder; removed by the caller.
func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("gltf-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `builder` as `name` (.gltf or .glb by extension) in a fresh folder and imports it.
func importBuilt(_ builder: GLTFBuilder, name: String = "model.gltf") throws -> Scene {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent(name)
    if name.hasSuffix(".glb") {
        try Data(try builder.glb()).write(to: url)
    } else {
        try builder.gltfText().write(to: url)
    }
    return try importGLTF(from: url)
}

/// The message of the `ProcessingError` importing `builder` throws (the test fails when it imports).
func importError(_ builder: GLTFBuilder, name: String = "model.gltf") -> String {
    do {
        _ = try importBuilt(builder, name: name)
        Issue.record("the import succeeded; expected a ProcessingError")
        return ""
    } catch let error as ProcessingError {
        #expect(error.kind == .badInput, "\(error)")
        #expect(!error.description.contains("\n"), "one line: \(error)")
        return error.message
    } catch {
        Issue.record("unexpected error \(error)")
        return ""
    }
}

/// `<repo>/../shared/corpus`, nil when absent.
let corpusFolder = TestPaths.corpus

extension CorpusRow {
    /// The corpus's glTF/GLB rows.
    static var gltf: [CorpusRow] { format("gltf") }
    var triangles: Int? { int("triangles") }
    var materials: Int? { int("materials") }
    var animations: Int? { int("animations") }
}
