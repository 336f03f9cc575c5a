import CDraco

/// One per-vertex attribute of a Draco mesh: `components` values per vertex, tightly packed.
public struct DracoAttribute: Sendable {
    /// What the attribute means to Draco; it picks Draco's prediction and encoding schemes.
    public enum Semantic: Sendable {
        case position, normal, color, texCoord, generic
    }

    /// The packed values of every vertex.
    public enum Values: Sendable {
        case float([Float])
        case uint8([UInt8])
        case uint16([UInt16])

        var count: Int {
            switch self {
            case .float(let v): v.count
            case .uint8(let v): v.count
            case .uint16(let v): v.count
            }
        }
    }

    public var semantic: Semantic
    public var components: Int
    public var values: Values
    /// Quantization of float values (1…30 bits); 0 keeps them exact. Ignored for integer values.
    public var quantizationBits: Int

    public init(semantic: Semantic, components: Int, values: Values, quantizationBits: Int) {
        self.semantic = semantic
        self.components = components
        self.values = values
        self.quantizationBits = quantizationBits
    }

    public static func positions(_ p: [SIMD3<Float>], bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .position, components: 3, values: .float(flatten(p, 3)), quantizationBits: bits)
    }

    public static func normals(_ n: [SIMD3<Float>], bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .normal, components: 3, values: .float(flatten(n, 3)), quantizationBits: bits)
    }

    public static func texCoords(_ t: [SIMD2<Float>], bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .texCoord, components: 2, values: .float(flatten(t, 2)), quantizationBits: bits)
    }

    public static func colors(_ c: [SIMD4<Float>], bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .color, components: 4, values: .float(flatten(c, 4)), quantizationBits: bits)
    }

    /// Skin joint indices, stored losslessly as bytes when every index fits, else as 16-bit integers.
    public static func joints(_ j: [SIMD4<UInt16>]) -> DracoAttribute {
        let wide = j.contains { $0.max() > 255 }
        let values: Values = wide ? .uint16(flatten(j, 4)) : .uint8(flatten(j, 4).map { UInt8(truncatingIfNeeded: $0) })
        return DracoAttribute(semantic: .generic, components: 4, values: values, quantizationBits: 0)
    }

    public static func weights(_ w: [SIMD4<Float>], bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .generic, components: 4, values: .float(flatten(w, 4)), quantizationBits: bits)
    }

    /// Any other float stream (tangents, extra texture sets beyond what Draco names), `components` per vertex.
    public static func generic(_ values: [Float], components: Int, bits: Int) -> DracoAttribute {
        DracoAttribute(semantic: .generic, components: components, values: .float(values), quantizationBits: bits)
    }
}

/// A mesh encoded by Draco.
public struct DracoEncodedMesh: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Draco's unique id of each input attribute, in input order (what `KHR_draco_mesh_compression` maps names to).
    public var attributeIDs: [Int]
    /// Vertices and triangles the decoder will produce (Draco may split non-manifold vertices and drop
    /// degenerate triangles), which glTF accessors must declare.
    public var vertexCount: Int
    public var triangleCount: Int
}

/// Encodes an indexed triangle mesh with Draco.
///
/// `compressionLevel` runs from 0 (fastest, keeps vertex order) to 10 (smallest), as draco_encoder's `-cl`.
/// Deterministic. Throws `DracoError` for input Draco cannot take (no vertices or triangles, a non-finite float,
/// an index out of range, a stream of the wrong length) and when libdraco fails.
public func encodeDracoMesh(
    indices: [UInt32], vertexCount: Int, attributes: [DracoAttribute],
    compressionLevel: Int
) throws(DracoError) -> DracoEncodedMesh {
    guard (0...10).contains(compressionLevel) else {
        throw DracoError(.invalidInput, "compression level \(compressionLevel) is outside 0...10")
    }
    guard vertexCount > 0, vertexCount <= Int(UInt32.max) else {
        throw DracoError(.invalidInput, "vertex count \(vertexCount) is not encodable")
    }
    for (i, attribute) in attributes.enumerated() where attribute.values.count != vertexCount * attribute.components {
        throw DracoError(
            .invalidInput,
            "attribute \(i): \(attribute.values.count) values for \(vertexCount) vertices of \(attribute.components) components"
        )
    }
    let speed = Int32(10 - compressionLevel)
    var ids = [Int32](repeating: -1, count: attributes.count)
    var encoded = cdraco_encoded()
    var message = [CChar](repeating: 0, count: 512)
    let status = withAttributePointers(attributes) { cAttributes in
        indices.withUnsafeBufferPointer { indexBuffer in
            cdraco_encode_mesh(
                indexBuffer.baseAddress, indices.count, UInt32(vertexCount), cAttributes.baseAddress,
                cAttributes.count, speed, speed, &ids, &encoded, &message, message.count)
        }
    }
    guard status == Int32(CDRACO_OK) else { throw DracoError(status: status, message: message) }
    defer { cdraco_free_encoded(&encoded) }
    let bytes = Array(UnsafeBufferPointer(start: encoded.bytes, count: encoded.length))
    return DracoEncodedMesh(
        bytes: bytes, attributeIDs: ids.map(Int.init), vertexCount: Int(encoded.point_count),
        triangleCount: Int(encoded.face_count))
}

/// A decoded Draco triangle mesh.
public struct DracoDecodedMesh: Sendable {
    public var vertexCount: Int
    /// Three vertex indices per triangle.
    public var indices: [UInt32]
    /// Each attribute by Draco unique id: its component count and `vertexCount * components` values as floats.
    public var attributes: [Int: (components: Int, values: [Float])]
}

/// Decodes a Draco-compressed triangle mesh. Throws `DracoError` when the bytes are not one.
public func decodeDracoMesh(_ bytes: [UInt8]) throws(DracoError) -> DracoDecodedMesh {
    var mesh: OpaquePointer?
    var message = [CChar](repeating: 0, count: 512)
    let status = bytes.withUnsafeBufferPointer {
        cdraco_decode_mesh($0.baseAddress, $0.count, &mesh, &message, message.count)
    }
    guard status == Int32(CDRACO_OK), let mesh else { throw DracoError(status: status, message: message) }
    defer { cdraco_mesh_free(mesh) }
    let points = Int(cdraco_mesh_point_count(mesh))
    var indices = [UInt32](repeating: 0, count: Int(cdraco_mesh_face_count(mesh)) * 3)
    indices.withUnsafeMutableBufferPointer { cdraco_mesh_indices(mesh, $0.baseAddress) }
    var attributes: [Int: (components: Int, values: [Float])] = [:]
    for index in 0..<cdraco_mesh_attribute_count(mesh) {
        let id = cdraco_mesh_attribute_unique_id(mesh, index)
        let components = Int(cdraco_mesh_attribute_components(mesh, id))
        var values = [Float](repeating: 0, count: points * components)
        let ok = values.withUnsafeMutableBufferPointer { cdraco_mesh_attribute_floats(mesh, id, $0.baseAddress) }
        guard ok != 0 else { throw DracoError(.failed, "Draco attribute \(id) cannot be read as floats") }
        attributes[Int(id)] = (components, values)
    }
    return DracoDecodedMesh(vertexCount: points, indices: indices, attributes: attributes)
}

/// A failure reported by the Draco bridge.
public struct DracoError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The input breaks the encoder's contract.
        case invalidInput
        /// libdraco refused the data.
        case failed
        case outOfMemory
    }

    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    init(status: Int32, message: [CChar]) {
        let kind: Kind =
            switch status {
            case Int32(CDRACO_INVALID_INPUT): .invalidInput
            case Int32(CDRACO_OUT_OF_MEMORY): .outOfMemory
            default: .failed
            }
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.init(kind, text.isEmpty ? "Draco failed (status \(status))" : text)
    }
}

// MARK: - Helpers

private func flatten<V: SIMD>(_ vectors: [V], _ components: Int) -> [V.Scalar] {
    var result: [V.Scalar] = []
    result.reserveCapacity(vectors.count * components)
    for v in vectors { for c in 0..<components { result.append(v[c]) } }
    return result
}

extension DracoAttribute.Semantic {
    fileprivate var cValue: Int32 {
        switch self {
        case .position: Int32(CDRACO_POSITION)
        case .normal: Int32(CDRACO_NORMAL)
        case .color: Int32(CDRACO_COLOR)
        case .texCoord: Int32(CDRACO_TEXCOORD)
        case .generic: Int32(CDRACO_GENERIC)
        }
    }
}

/// Calls `body` with C descriptions of `attributes` whose value pointers stay valid for the call.
private func withAttributePointers<R>(
    _ attributes: [DracoAttribute],
    _ body: (UnsafeBufferPointer<cdraco_attribute>) -> R
) -> R {
    func recurse(_ index: Int, _ built: inout [cdraco_attribute]) -> R {
        guard index < attributes.count else { return built.withUnsafeBufferPointer(body) }
        let a = attributes[index]
        func with<T>(_ values: [T], _ type: Int32) -> R {
            values.withUnsafeBytes { raw in
                built.append(
                    cdraco_attribute(
                        semantic: a.semantic.cValue, component_type: type,
                        components: Int32(a.components), quantization_bits: Int32(a.quantizationBits),
                        values: raw.baseAddress))
                return recurse(index + 1, &built)
            }
        }
        switch a.values {
        case .float(let v): return with(v, Int32(CDRACO_FLOAT32))
        case .uint8(let v): return with(v, Int32(CDRACO_UINT8))
        case .uint16(let v): return with(v, Int32(CDRACO_UINT16))
        }
    }
    var built: [cdraco_attribute] = []
    built.reserveCapacity(attributes.count)
    return recurse(0, &built)
}
