import CMeshopt

/// The `EXT_meshopt_compression` codecs and filters of meshoptimizer, as Swift functions over byte arrays.
///
/// The encoders write vertex codec version 0 and index codec version 1 (meshoptimizer 0.18's defaults, the versions
/// the extension specifies). The decoders are safe on untrusted input: they return nil instead of reading or writing
/// out of bounds.
public enum MeshoptCodec {
    /// Selects the bitstream versions the extension specifies (index codec 1: header 0xe1; vertex codec 0: 0xa0).
    /// meshoptimizer keeps them in process-wide variables, so this runs once, before the first encode.
    private static let versions: Void = {
        meshopt_encodeIndexVersion(1)
        meshopt_encodeVertexVersion(0)
    }()
    /// Attribute mode: `count` elements of `stride` bytes (a multiple of 4, at most 256).
    public static func encodeVertexBuffer(_ data: [UInt8], count: Int, stride: Int) -> [UInt8] {
        _ = versions
        precondition(data.count == count * stride, "vertex data is not count × stride bytes")
        var out = [UInt8](repeating: 0, count: meshopt_encodeVertexBufferBound(count, stride))
        let size = data.withUnsafeBytes { meshopt_encodeVertexBuffer(&out, out.count, $0.baseAddress, count, stride) }
        precondition(size > 0, "meshopt_encodeVertexBuffer ran out of its bound")
        return Array(out.prefix(size))
    }

    /// Triangles mode: a triangle list (count divisible by 3) with indices below `vertexCount`.
    public static func encodeIndexBuffer(_ indices: [UInt32], vertexCount: Int) -> [UInt8] {
        _ = versions
        precondition(indices.count % 3 == 0, "triangle list length is not a multiple of 3")
        var out = [UInt8](repeating: 0, count: meshopt_encodeIndexBufferBound(indices.count, vertexCount))
        let size = meshopt_encodeIndexBuffer(&out, out.count, indices, indices.count)
        precondition(size > 0, "meshopt_encodeIndexBuffer ran out of its bound")
        return Array(out.prefix(size))
    }

    /// Indices mode: any index sequence (lines, points, strips) with indices below `vertexCount`.
    public static func encodeIndexSequence(_ indices: [UInt32], vertexCount: Int) -> [UInt8] {
        _ = versions
        var out = [UInt8](repeating: 0, count: meshopt_encodeIndexSequenceBound(indices.count, vertexCount))
        let size = meshopt_encodeIndexSequence(&out, out.count, indices, indices.count)
        precondition(size > 0, "meshopt_encodeIndexSequence ran out of its bound")
        return Array(out.prefix(size))
    }

    /// Decodes attribute-mode data into `count × stride` bytes; nil when the stream is malformed.
    public static func decodeVertexBuffer(_ encoded: UnsafeRawBufferPointer, count: Int, stride: Int) -> [UInt8]? {
        guard let base = encoded.baseAddress, stride > 0, stride <= 256, stride % 4 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count * stride)
        let status = out.withUnsafeMutableBytes {
            meshopt_decodeVertexBuffer(
                $0.baseAddress, count, stride, base.assumingMemoryBound(to: UInt8.self), encoded.count)
        }
        return status == 0 ? out : nil
    }

    /// Decodes triangles-mode data into `count` indices of `indexSize` (2 or 4) bytes; nil when malformed.
    public static func decodeIndexBuffer(_ encoded: UnsafeRawBufferPointer, count: Int, indexSize: Int) -> [UInt8]? {
        guard let base = encoded.baseAddress, indexSize == 2 || indexSize == 4, count % 3 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count * indexSize)
        let status = out.withUnsafeMutableBytes {
            meshopt_decodeIndexBuffer(
                $0.baseAddress, count, indexSize, base.assumingMemoryBound(to: UInt8.self), encoded.count)
        }
        return status == 0 ? out : nil
    }

    /// Decodes indices-mode data into `count` indices of `indexSize` (2 or 4) bytes; nil when malformed.
    public static func decodeIndexSequence(_ encoded: UnsafeRawBufferPointer, count: Int, indexSize: Int) -> [UInt8]? {
        guard let base = encoded.baseAddress, indexSize == 2 || indexSize == 4 else { return nil }
        var out = [UInt8](repeating: 0, count: count * indexSize)
        let status = out.withUnsafeMutableBytes {
            meshopt_decodeIndexSequence(
                $0.baseAddress, count, indexSize, base.assumingMemoryBound(to: UInt8.self), encoded.count)
        }
        return status == 0 ? out : nil
    }
}

/// The post-decode filters of `EXT_meshopt_compression` (encoders take 4 floats per element unless noted).
public enum MeshoptFilter {
    /// Octahedral: unit vectors (xyz) plus a passed-through w, into `stride` 4 (int8) or 8 (int16) bytes per element,
    /// with `bits` (≤ 8 for stride 4, ≤ 16 for stride 8) of precision for the octahedral coordinates.
    public static func encodeOctahedral(_ values: [SIMD4<Float>], stride: Int, bits: Int) -> [UInt8] {
        precondition(stride == 4 || stride == 8, "octahedral filter needs stride 4 or 8")
        var out = [UInt8](repeating: 0, count: values.count * stride)
        values.withUnsafeBytes { source in
            meshopt_encodeFilterOct(
                &out, values.count, stride, Int32(bits), source.baseAddress!.assumingMemoryBound(to: Float.self))
        }
        return out
    }

    /// Quaternion: unit quaternions (xyzw) into 4 int16 each, `bits` (4…16) per component.
    public static func encodeQuaternion(_ values: [SIMD4<Float>], bits: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * 8)
        values.withUnsafeBytes { source in
            meshopt_encodeFilterQuat(
                &out, values.count, 8, Int32(bits), source.baseAddress!.assumingMemoryBound(to: Float.self))
        }
        return out
    }

    /// Exponential: `count` elements of `stride / 4` floats sharing one exponent, `bits` (1…24) of mantissa.
    public static func encodeExponential(_ values: [Float], count: Int, stride: Int, bits: Int) -> [UInt8] {
        precondition(values.count * 4 == count * stride, "exponential filter input is not count × stride bytes")
        var out = [UInt8](repeating: 0, count: count * stride)
        values.withUnsafeBufferPointer { source in
            meshopt_encodeFilterExp(&out, count, stride, Int32(bits), source.baseAddress!)
        }
        return out
    }

    /// Applies the octahedral decode filter in place (`stride` 4 or 8).
    public static func decodeOctahedral(_ data: inout [UInt8], count: Int, stride: Int) {
        precondition(data.count == count * stride && (stride == 4 || stride == 8), "bad octahedral filter layout")
        data.withUnsafeMutableBytes { meshopt_decodeFilterOct($0.baseAddress, count, stride) }
    }

    /// Applies the quaternion decode filter in place (stride 8).
    public static func decodeQuaternion(_ data: inout [UInt8], count: Int) {
        precondition(data.count == count * 8, "bad quaternion filter layout")
        data.withUnsafeMutableBytes { meshopt_decodeFilterQuat($0.baseAddress, count, 8) }
    }

    /// Applies the exponential decode filter in place (`stride` a multiple of 4).
    public static func decodeExponential(_ data: inout [UInt8], count: Int, stride: Int) {
        precondition(data.count == count * stride && stride % 4 == 0, "bad exponential filter layout")
        data.withUnsafeMutableBytes { meshopt_decodeFilterExp($0.baseAddress, count, stride) }
    }
}
