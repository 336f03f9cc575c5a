import Draco
import Scene

/// Quantization bits and effort for `Compression.draco`. Defaults as Draco's own tools and gltf-transform:
/// positions 14, normals 10, texture coordinates 12, colors 8, other floats (tangents, skin weights) 12, level 7.
public struct DracoSettings: Sendable, Equatable {
    public var positionBits: Int
    public var normalBits: Int
    public var texcoordBits: Int
    public var colorBits: Int
    public var genericBits: Int
    /// 0 (fastest, keeps vertex order) to 10 (smallest).
    public var compressionLevel: Int

    public init(
        positionBits: Int = 14, normalBits: Int = 10, texcoordBits: Int = 12, colorBits: Int = 8,
        genericBits: Int = 12, compressionLevel: Int = 7
    ) {
        self.positionBits = positionBits
        self.normalBits = normalBits
        self.texcoordBits = texcoordBits
        self.colorBits = colorBits
        self.genericBits = genericBits
        self.compressionLevel = compressionLevel
    }

    /// Allowed quantization bits (Draco's limit).
    public static let bitRange = 1...30
    /// Allowed compression levels.
    public static let levelRange = 0...10

    func check() throws {
        for (name, bits) in [
            ("position", positionBits), ("normal", normalBits), ("texcoord", texcoordBits),
            ("color", colorBits), ("generic", genericBits)
        ] where !Self.bitRange.contains(bits) {
            throw ProcessingError(.internal, "Draco \(name) quantization uses \(bits) bits; allowed: 1...30")
        }
        if !Self.levelRange.contains(compressionLevel) {
            throw ProcessingError(.internal, "Draco compression level \(compressionLevel) is outside 0...10")
        }
    }
}

extension SceneEncoder {
    /// Writes an indexed triangle primitive without morph targets as `KHR_draco_mesh_compression`; nil for any other
    /// primitive (and for one whose triangles are all degenerate, which Draco drops), which is then written plainly.
    ///
    /// The accessors have no bufferView; their counts are what Draco's decoder produces (it may split vertices).
    /// Indices are UNSIGNED_SHORT whenever the decoded vertex count allows it: Assimp 5.2.5 cannot read Draco
    /// primitives with 32-bit indices.
    mutating func encodeDracoPrimitive(_ primitive: Primitive, settings: DracoSettings, place: String) throws
        -> JSONValue?
    {
        guard primitive.mode == .triangles, !primitive.indices.isEmpty, primitive.targets.isEmpty else { return nil }
        try settings.check()
        let v = primitive.vertices
        let (lo, hi) = try bounds(v.positions, place: place, what: "POSITION")

        // (semantic, accessor type, componentType, min, max) per Draco attribute, in the same order.
        var streams: [(name: String, type: String, componentType: Int, min: [Float]?, max: [Float]?)] = []
        var inputs: [DracoAttribute] = []
        streams.append(("POSITION", "VEC3", GL.float, lo, hi))
        inputs.append(.positions(v.positions, bits: settings.positionBits))
        if !v.normals.isEmpty {
            streams.append(("NORMAL", "VEC3", GL.float, nil, nil))
            inputs.append(.normals(v.normals.map { unitNormal($0) }, bits: settings.normalBits))
        }
        if !v.tangents.isEmpty {
            streams.append(("TANGENT", "VEC4", GL.float, nil, nil))
            let flat = v.tangents.flatMap { t in
                let u = unitTangent(t)
                return [u.x, u.y, u.z, u.w]
            }
            inputs.append(.generic(flat, components: 4, bits: settings.genericBits))
        }
        for (i, set) in v.texcoords.enumerated() where !set.isEmpty {
            streams.append(("TEXCOORD_\(i)", "VEC2", GL.float, nil, nil))
            inputs.append(.texCoords(set.map { finite($0) }, bits: settings.texcoordBits))
        }
        if !v.colors.isEmpty {
            streams.append(("COLOR_0", "VEC4", GL.float, nil, nil))
            inputs.append(.colors(v.colors.map { finite($0) }, bits: settings.colorBits))
        }
        if !v.joints.isEmpty {
            let joints = DracoAttribute.joints(v.joints)
            let wide = if case .uint16 = joints.values { true } else { false }
            streams.append(("JOINTS_0", "VEC4", wide ? GL.unsignedShort : GL.unsignedByte, nil, nil))
            inputs.append(joints)
            streams.append(("WEIGHTS_0", "VEC4", GL.float, nil, nil))
            inputs.append(.weights(v.weights.map(normalizedWeights), bits: settings.genericBits))
        }

        let encoded: DracoEncodedMesh
        do {
            encoded = try encodeDracoMesh(
                indices: primitive.indices, vertexCount: v.positions.count, attributes: inputs,
                compressionLevel: settings.compressionLevel)
        } catch {
            throw ProcessingError(
                error.kind == .outOfMemory ? .resourceLimit : .internal, "\(place): Draco: \(error.message)")
        }
        guard encoded.triangleCount > 0 else { return nil }

        extensionsUsed.insert("KHR_draco_mesh_compression")
        extensionsRequired.insert("KHR_draco_mesh_compression")
        let view = addView(length: encoded.bytes.count, category: .geometry, fill: rawCopy(encoded.bytes))
        var attributes: [(String, JSONValue)] = []
        var dracoIDs: [(String, JSONValue)] = []
        for (stream, id) in zip(streams, encoded.attributeIDs) {
            let accessor = addAccessor(
                view: nil, componentType: stream.componentType, count: encoded.vertexCount,
                type: stream.type, min: stream.min, max: stream.max)
            attributes.append((stream.name, .int(accessor)))
            dracoIDs.append((stream.name, .int(id)))
        }
        let indices = addAccessor(
            view: nil, componentType: encoded.vertexCount <= 65_535 ? GL.unsignedShort : GL.unsignedInt,
            count: encoded.triangleCount * 3, type: "SCALAR")

        var json = JSONObjectBuilder()
        json.set("attributes", .object(attributes.sorted { $0.0 < $1.0 }))
        json.set(
            "extensions",
            .object([
                (
                    "KHR_draco_mesh_compression",
                    .object([
                        ("attributes", .object(dracoIDs.sorted { $0.0 < $1.0 })), ("bufferView", .int(view))
                    ])
                )
            ]))
        json.set("indices", .int(indices))
        json.set("material", primitive.material.map { .int($0) })
        return json.value
    }
}

/// Problems with a primitive's `KHR_draco_mesh_compression`, for `validateGLB`: its bufferView (when in the BIN
/// chunk) must decode as a Draco triangle mesh whose vertex and index counts and attribute sizes match the accessors.
///
/// `bin` is the BIN chunk's range in `bytes` when buffer 0 is that chunk; data in other buffers is not read.
func dracoPrimitiveIssues(
    _ primitive: [String: Any], pointer: String, root: [String: Any], bytes: [UInt8],
    bin: Range<Int>?
) -> [ValidationIssue] {
    typealias J = JSONAccess
    guard let draco = J.object(J.object(primitive["extensions"])?["KHR_draco_mesh_compression"]) else { return [] }
    let here = "\(pointer)/extensions/KHR_draco_mesh_compression"
    var issues: [ValidationIssue] = []
    func issue(_ message: String) { issues.append(ValidationIssue(pointer: here, message: message)) }

    let mode = primitive["mode"].map { J.index($0) ?? -1 } ?? 4
    if mode != 4 && mode != 5 { issue("Draco primitives must be triangles or triangle strips, not mode \(mode)") }
    let attributes = J.object(primitive["attributes"]) ?? [:]
    guard let ids = J.object(draco["attributes"]) else {
        issue("attributes must map attribute names to Draco ids")
        return issues
    }
    for name in ids.keys.sorted() where attributes[name] == nil {
        issue("\(name) is compressed but not among the primitive's attributes")
    }
    let accessors = J.array(root["accessors"]) ?? []
    func accessor(_ value: Any?) -> [String: Any]? {
        guard let i = J.index(value), i < accessors.count else { return nil }
        return J.object(accessors[i])
    }

    let views = J.array(root["bufferViews"]) ?? []
    guard let v = J.index(draco["bufferView"]), v < views.count, let view = J.object(views[v]),
        let length = J.index(view["byteLength"])
    else { return issues }
    let start = J.index(view["byteOffset"] ?? 0) ?? 0
    guard let bin, J.index(view["buffer"]) == 0, start + length <= bin.count else { return issues }

    let mesh: DracoDecodedMesh
    do {
        mesh = try decodeDracoMesh(Array(bytes[bin.lowerBound + start..<bin.lowerBound + start + length]))
    } catch {
        issue("bufferView \(v) is not a Draco mesh: \(error.message)")
        return issues
    }
    for name in ids.keys.sorted() {
        guard let id = J.index(ids[name]), let decoded = mesh.attributes[id] else {
            issue("\(name): the Draco data has no attribute \(ids[name].map { "\($0)" } ?? "")")
            continue
        }
        guard let declared = accessor(attributes[name]) else { continue }
        if let count = J.index(declared["count"]), count != mesh.vertexCount {
            issue("\(name) accessor count \(count) differs from the \(mesh.vertexCount) decoded vertices")
        }
        if let type = J.string(declared["type"]), let components = ValidationRules.componentCounts[type],
            components != decoded.components
        {
            issue("\(name) accessor is \(type) but the Draco attribute has \(decoded.components) components")
        }
    }
    if let indices = accessor(primitive["indices"]) {
        if let count = J.index(indices["count"]), count != mesh.indices.count {
            issue("indices accessor count \(count) differs from the \(mesh.indices.count) decoded indices")
        }
        let limit = [GL.unsignedByte: 255, GL.unsignedShort: 65_535][J.index(indices["componentType"]) ?? 0]
        if let limit, mesh.vertexCount > limit {
            issue("\(mesh.vertexCount) decoded vertices do not fit the indices' component type")
        }
    } else if mode == 4 || mode == 5 {
        issue("a Draco primitive needs an indices accessor")
    }
    return issues
}
