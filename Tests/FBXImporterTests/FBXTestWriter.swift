import Foundation

/// A small FBX writer for tests: builds node trees and serializes them as binary (any version, 32- or 64-bit
/// record headers, arrays raw or zlib-wrapped) or ASCII FBX.
struct WNode {
    var name: String
    var values: [WValue] = []
    var children: [WNode] = []

    init(_ name: String, _ values: [WValue] = [], _ children: [WNode] = []) {
        self.name = name
        self.values = values
        self.children = children
    }
}

enum WValue {
    case i32(Int32)
    case i64(Int64)
    case f64(Double)
    case string(String)
    case bytes([UInt8])
    case f64s([Double])
    case i32s([Int32])
    case i64s([Int64])
}

extension WValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int32) { self = .i32(value) }
    init(floatLiteral value: Double) { self = .f64(value) }
}

// MARK: Binary

func binaryFBX(_ roots: [WNode], version: Int = 7400, compress: Bool = false) -> Data {
    var out = [UInt8]("Kaydara FBX Binary  ".utf8) + [0, 0x1A, 0]
    append(UInt32(version), to: &out)
    let wide = version >= 7500
    for node in roots { writeNode(node, into: &out, wide: wide, compress: compress) }
    out += [UInt8](repeating: 0, count: wide ? 25 : 13)
    out += [UInt8](repeating: 0, count: 16)  // footer stand-in
    return Data(out)
}

private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out += $0 }
}

private func writeHeaderField(_ v: Int, _ out: inout [UInt8], wide: Bool) {
    if wide { append(UInt64(v), to: &out) } else { append(UInt32(v), to: &out) }
}

private func writeNode(_ node: WNode, into out: inout [UInt8], wide: Bool, compress: Bool) {
    let start = out.count
    writeHeaderField(0, &out, wide: wide)
    writeHeaderField(node.values.count, &out, wide: wide)
    writeHeaderField(0, &out, wide: wide)
    out.append(UInt8(node.name.utf8.count))
    out += Array(node.name.utf8)
    let valuesStart = out.count
    for value in node.values { writeValue(value, &out, compress: compress) }
    let valueBytes = out.count - valuesStart
    if !node.children.isEmpty {
        for child in node.children { writeNode(child, into: &out, wide: wide, compress: compress) }
        out += [UInt8](repeating: 0, count: wide ? 25 : 13)
    }
    var header: [UInt8] = []
    writeHeaderField(out.count, &header, wide: wide)
    writeHeaderField(node.values.count, &header, wide: wide)
    writeHeaderField(valueBytes, &header, wide: wide)
    out.replaceSubrange(start..<(start + header.count), with: header)
}

private func writeValue(_ value: WValue, _ out: inout [UInt8], compress: Bool) {
    switch value {
    case .i32(let v):
        out.append(UInt8(ascii: "I"))
        append(v, to: &out)
    case .i64(let v):
        out.append(UInt8(ascii: "L"))
        append(v, to: &out)
    case .f64(let v):
        out.append(UInt8(ascii: "D"))
        append(v.bitPattern, to: &out)
    case .string(let s):
        out.append(UInt8(ascii: "S"))
        append(UInt32(s.utf8.count), to: &out)
        out += Array(s.utf8)
    case .bytes(let b):
        out.append(UInt8(ascii: "R"))
        append(UInt32(b.count), to: &out)
        out += b
    case .f64s(let a):
        var raw: [UInt8] = []
        for v in a { append(v.bitPattern, to: &raw) }
        writeArray("d", count: a.count, raw: raw, &out, compress: compress)
    case .i32s(let a):
        var raw: [UInt8] = []
        for v in a { append(v, to: &raw) }
        writeArray("i", count: a.count, raw: raw, &out, compress: compress)
    case .i64s(let a):
        var raw: [UInt8] = []
        for v in a { append(v, to: &raw) }
        writeArray("l", count: a.count, raw: raw, &out, compress: compress)
    }
}

private func writeArray(_ type: Character, count: Int, raw: [UInt8], _ out: inout [UInt8], compress: Bool) {
    out.append(type.asciiValue!)
    append(UInt32(count), to: &out)
    append(UInt32(compress ? 1 : 0), to: &out)
    let data = compress ? zlibStored(raw) : raw
    append(UInt32(data.count), to: &out)
    out += data
}

/// A valid zlib stream holding `data` in stored (uncompressed) deflate blocks.
func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let n = min(65_535, data.count - offset)
        let final = offset + n == data.count
        out.append(final ? 1 : 0)
        append(UInt16(n), to: &out)
        append(~UInt16(n), to: &out)
        out += data[offset..<(offset + n)]
        offset += n
    } while offset < data.count
    var a: UInt32 = 1
    var b: UInt32 = 0
    for byte in data {
        a = (a + UInt32(byte)) % 65_521
        b = (b + a) % 65_521
    }
    let adler = (b << 16) | a
    out += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
    return out
}

// MARK: ASCII

func asciiFBX(_ roots: [WNode]) -> String {
    var out = "; FBX 7.4.0 project file\n"
    for node in roots { writeASCII(node, indent: "", &out) }
    return out
}

private func writeASCII(_ node: WNode, indent: String, _ out: inout String) {
    out += indent + node.name + ": "
    var hasArray = false
    out += node.values.map { value -> String in
        switch value {
        case .i32(let v): return String(v)
        case .i64(let v): return String(v)
        case .f64(let v): return String(v)
        case .string(let s):
            let parts = s.components(separatedBy: "\u{0}\u{1}")
            return "\"" + (parts.count == 2 ? parts[1] + "::" + parts[0] : s) + "\""
        case .bytes(let b): return "\"" + Data(b).base64EncodedString() + "\""
        case .f64s(let a):
            hasArray = true
            return "*\(a.count) {\n\(indent)\ta: " + a.map { String($0) }.joined(separator: ",") + "\n\(indent)}"
        case .i32s(let a):
            hasArray = true
            return "*\(a.count) {\n\(indent)\ta: " + a.map { String($0) }.joined(separator: ",") + "\n\(indent)}"
        case .i64s(let a):
            hasArray = true
            return "*\(a.count) {\n\(indent)\ta: " + a.map { String($0) }.joined(separator: ",") + "\n\(indent)}"
        }
    }.joined(separator: ", ")
    if !node.children.isEmpty && !hasArray {
        out += " {\n"
        for child in node.children { writeASCII(child, indent: indent + "\t", &out) }
        out += indent + "}"
    }
    out += "\n"
}

// MARK: Scenes

/// `P: name, type, label, flags, values…`
func prop(_ name: String, _ type: String, _ values: [WValue]) -> WNode {
    WNode("P", [.string(name), .string(type), "", "A"] + values)
}

func vectorProp(_ name: String, _ v: (Double, Double, Double)) -> WNode {
    prop(name, "Lcl Translation", [.f64(v.0), .f64(v.1), .f64(v.2)])
}

/// A 7.x document: header, GlobalSettings, the given objects and connections.
func fbxDocument(
    objects: [WNode], connections: [(String, Int64, Int64, String?)], version: Int = 7400,
    globals: [WNode] = []
) -> [WNode] {
    [
        WNode(
            "FBXHeaderExtension", [], [WNode("FBXHeaderVersion", [1003]), WNode("FBXVersion", [.i32(Int32(version))])]),
        WNode("GlobalSettings", [], [WNode("Version", [1000]), WNode("Properties70", [], globals)]),
        WNode("Objects", [], objects),
        WNode(
            "Connections", [],
            connections.map { c in
                WNode("C", [.string(c.0), .i64(c.1), .i64(c.2)] + (c.3.map { [.string($0)] } ?? []))
            })
    ]
}

func model(_ id: Int64, _ name: String, _ properties: [WNode] = []) -> WNode {
    WNode(
        "Model", [.i64(id), .string(name + "\u{0}\u{1}Model"), "Mesh"],
        [WNode("Version", [232]), WNode("Properties70", [], properties)])
}

func geometry(_ id: Int64, _ name: String, vertices: [Double], polygons: [Int32], layers: [WNode] = []) -> WNode {
    WNode(
        "Geometry", [.i64(id), .string(name + "\u{0}\u{1}Geometry"), "Mesh"],
        [WNode("Vertices", [.f64s(vertices)]), WNode("PolygonVertexIndex", [.i32s(polygons)])] + layers)
}

func layer(
    _ kind: String, _ dataName: String, _ data: [Double], mapping: String, reference: String = "Direct",
    index: (String, [Int32])? = nil
) -> WNode {
    var children = [
        WNode("Version", [101]), WNode("Name", [""]), WNode("MappingInformationType", [.string(mapping)]),
        WNode("ReferenceInformationType", [.string(reference)]), WNode(dataName, [.f64s(data)])
    ]
    if let index { children.append(WNode(index.0, [.i32s(index.1)])) }
    return WNode(kind, [0], children)
}

func material(_ id: Int64, _ name: String, _ properties: [WNode]) -> WNode {
    WNode(
        "Material", [.i64(id), .string(name + "\u{0}\u{1}Material"), ""],
        [WNode("ShadingModel", ["phong"]), WNode("Properties70", [], properties)])
}

/// A unit cube (8 control points, 6 quads) with per-corner face normals and per-corner UVs.
func cubeGeometry(_ id: Int64) -> WNode {
    let v: [Double] = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
    let faces: [[Int32]] = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]
    let faceNormals: [(Double, Double, Double)] = [(0, 0, -1), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (-1, 0, 0)]
    var polygons: [Int32] = []
    var normals: [Double] = []
    var uvs: [Double] = []
    for (f, face) in faces.enumerated() {
        polygons += face.dropLast() + [~face[3]]
        for corner in 0..<4 {
            normals += [faceNormals[f].0, faceNormals[f].1, faceNormals[f].2]
            uvs += [corner == 1 || corner == 2 ? 1 : 0, corner >= 2 ? 1 : 0]
        }
    }
    return geometry(
        id, "Cube", vertices: v, polygons: polygons,
        layers: [
            layer("LayerElementNormal", "Normals", normals, mapping: "ByPolygonVertex"),
            layer("LayerElementUV", "UV", uvs, mapping: "ByPolygonVertex")
        ])
}

/// A cube model with one red Phong material, under the scene root.
func cubeDocument(version: Int = 7400, modelProperties: [WNode] = [], globals: [WNode] = []) -> [WNode] {
    fbxDocument(
        objects: [
            model(10, "CubeModel", modelProperties),
            cubeGeometry(20),
            material(30, "Red", [prop("DiffuseColor", "Color", [1.0, 0.0, 0.0])])
        ], connections: [("OO", 10, 0, nil), ("OO", 20, 10, nil), ("OO", 30, 10, nil)], version: version,
        globals: globals)
}
