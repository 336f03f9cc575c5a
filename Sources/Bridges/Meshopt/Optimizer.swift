import CMeshopt

/// meshoptimizer's mesh optimization and simplification calls the stages use, over Swift arrays.
///
/// Index arrays are triangle lists (or any list for the remap functions) with indices below `vertexCount`;
/// positions are one `SIMD3<Float>` per vertex.
public enum MeshoptOptimizer {
    /// The most meshoptimizer's multi-stream remap takes: streams of at most 256 bytes each.
    public static let maximumRemapStreams = 16

    /// Identical vertices (over the `stride`-byte records in `vertices`) share one index: returns the remap table
    /// (old vertex → new vertex, `UInt32.max` for unreferenced) and the unique vertex count.
    /// `stride` must be at most `maximumRemapStreams × 256` bytes.
    public static func generateVertexRemap(_ indices: [UInt32], vertexCount: Int, vertices: [UInt32], stride: Int) -> (
        remap: [UInt32], unique: Int
    ) {
        let streamCount = (stride + 255) / 256
        precondition(
            streamCount <= maximumRemapStreams && vertices.count * 4 == vertexCount * stride,
            "bad vertex layout for remap")
        var remap = [UInt32](repeating: 0, count: vertexCount)
        let unique = vertices.withUnsafeBytes { raw in
            let streams = (0..<streamCount).map { s in
                meshopt_Stream(data: raw.baseAddress! + s * 256, size: min(256, stride - s * 256), stride: stride)
            }
            let padded = paddedToTriangles(indices)
            return meshopt_generateVertexRemapMulti(&remap, padded, padded.count, vertexCount, streams, streams.count)
        }
        return (remap, unique)
    }

    /// Triangle order for the post-transform vertex cache.
    public static func optimizeVertexCache(_ indices: [UInt32], vertexCount: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: indices.count)
        meshopt_optimizeVertexCache(&out, indices, indices.count, vertexCount)
        return out
    }

    /// Triangle order in strips: slightly worse for the vertex cache, but the index codec compresses it better
    /// (what gltfpack -cc uses).
    public static func optimizeVertexCacheStrip(_ indices: [UInt32], vertexCount: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: indices.count)
        meshopt_optimizeVertexCacheStrip(&out, indices, indices.count, vertexCount)
        return out
    }

    /// Triangle order for less overdraw, allowing the vertex cache to get `threshold` times worse.
    public static func optimizeOverdraw(_ indices: [UInt32], positions: [SIMD3<Float>], threshold: Float) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: indices.count)
        withFloats(positions) {
            meshopt_optimizeOverdraw(&out, indices, indices.count, $0, positions.count, $1, threshold)
        }
        return out
    }

    /// Vertex order by first use: the remap table (unused vertices get `UInt32.max`) and the used vertex count.
    public static func optimizeVertexFetchRemap(_ indices: [UInt32], vertexCount: Int) -> (remap: [UInt32], unique: Int)
    {
        var remap = [UInt32](repeating: 0, count: vertexCount)
        let padded = paddedToTriangles(indices)
        let unique = meshopt_optimizeVertexFetchRemap(&remap, padded, padded.count, vertexCount)
        return (remap, unique)
    }

    /// `indices` padded to a multiple of 3 by repeating its first index. meshoptimizer 0.18 asserts a multiple of 3
    /// even in its remap functions, which only look at which vertices are used and in what order: for points and
    /// lines the padding changes neither.
    private static func paddedToTriangles(_ indices: [UInt32]) -> [UInt32] {
        indices.count % 3 == 0
            ? indices
            : indices + [UInt32](repeating: indices.first ?? 0, count: 3 - indices.count % 3)
    }

    /// Edge-collapse simplification of `indices` in place towards `targetIndexCount` within `targetError` (relative
    /// to the mesh extent); returns the error reached. meshoptimizer reads and writes the one buffer, so a large mesh
    /// costs no second index buffer; afterwards the array holds just the result.
    public static func simplify(
        _ indices: inout [UInt32], positions: [SIMD3<Float>], targetIndexCount: Int, targetError: Float,
        lockBorder: Bool
    ) -> Float {
        guard !indices.isEmpty else { return 0 }
        var error: Float = 0
        let count = withFloats(positions) { floats, stride in
            indices.withUnsafeMutableBufferPointer { buffer in
                meshopt_simplify(
                    buffer.baseAddress, buffer.baseAddress, buffer.count, floats, positions.count, stride,
                    targetIndexCount, targetError, lockBorder ? UInt32(meshopt_SimplifyLockBorder) : 0, &error)
            }
        }
        indices = Array(indices[..<count])
        return error
    }

    /// Topology-ignoring simplification towards `targetIndexCount` within `targetError`.
    public static func simplifySloppy(
        _ indices: [UInt32], positions: [SIMD3<Float>], targetIndexCount: Int,
        targetError: Float
    ) -> (indices: [UInt32], error: Float) {
        var out = [UInt32](repeating: 0, count: indices.count)
        var error: Float = 0
        let count = withFloats(positions) {
            meshopt_simplifySloppy(
                &out, indices, indices.count, $0, positions.count, $1, targetIndexCount, targetError, &error)
        }
        return (Array(out.prefix(count)), error)
    }

    /// The positions as a float pointer and byte stride (a valid pointer even when empty).
    private static func withFloats<R>(_ positions: [SIMD3<Float>], _ body: (UnsafePointer<Float>, Int) -> R) -> R {
        positions.withUnsafeBufferPointer { buffer in
            let raw = UnsafeRawPointer(
                buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<SIMD3<Float>>.alignment)!)
            return body(raw.assumingMemoryBound(to: Float.self), MemoryLayout<SIMD3<Float>>.stride)
        }
    }
}
