import Meshopt
import Scene

/// Options of `weld`.
public struct WeldOptions: Sendable, Equatable {
    /// Also drop triangles whose area is (relatively) zero: |cross| ≤ 1e-7 × (longest edge)².
    public var removeZeroAreaTriangles: Bool

    public init(removeZeroAreaTriangles: Bool = false) {
        self.removeZeroAreaTriangles = removeZeroAreaTriangles
    }
}

/// Merges vertices that are bitwise identical in every stream of every primitive, drops unused vertices and
/// degenerate triangles (and lines), one primitive per work item.
public func weld(
    _ scene: inout Scene, options: WeldOptions = WeldOptions(),
    threads: Int
) throws -> StageReport {
    try validateGeometry(scene)
    return runStage("weld", &scene) { scene in
        let unwelded = transformPrimitives(&scene, threads: threads) { weld($0, options: options) }
        return (
            nil,
            unwelded.map { "mesh \($0.mesh) primitive \($0.primitive): not welded, vertices larger than 4096 bytes" }
        )
    }
}

/// Welds one primitive (see `weld(_:options:threads:)`); nil when its vertices are too large for meshoptimizer
/// (over 16 streams of 256 bytes, i.e. more than about 110 morph targets).
public func weld(_ primitive: Primitive, options: WeldOptions = WeldOptions()) -> Primitive? {
    let vertexCount = primitive.vertexCount
    guard vertexCount > 0 else { return primitive }
    let (words, wordsPerVertex) = packVertices(primitive)
    let strideBytes = wordsPerVertex * 4
    guard (strideBytes + 255) / 256 <= MeshoptOptimizer.maximumRemapStreams else { return nil }

    let indices = primitive.effectiveIndices
    let (remap, unique) = MeshoptOptimizer.generateVertexRemap(
        indices, vertexCount: vertexCount,
        vertices: words, stride: strideBytes)
    // Remapped index buffer without degenerate primitives.
    let perPrimitive = primitive.mode == .triangles ? 3 : primitive.mode == .lines ? 2 : 1
    // Welded vertices are numbered in order of first use (meshoptimizer's remap), which also gives the later stages
    // the memory locality of the index order; `first` is the old vertex of each.
    var first = [Int](repeating: -1, count: unique)
    for v in 0..<vertexCount where remap[v] != UInt32.max && first[Int(remap[v])] < 0 { first[Int(remap[v])] = v }
    let positions = primitive.vertices.positions
    var kept: [UInt32] = []
    kept.reserveCapacity(indices.count)
    // Only whole primitives: an unindexed primitive's vertex count need not be a multiple of the corner count.
    indices.withUnsafeBufferPointer { index in
        remap.withUnsafeBufferPointer { remap in
            func corner(_ i: Int) -> UInt32 { remap[Int(index[i])] }
            func position(_ v: UInt32) -> SIMD3<Float> { positions[first[Int(v)]] }
            for start in stride(from: 0, to: index.count - index.count % perPrimitive, by: perPrimitive) {
                switch primitive.mode {
                case .triangles:
                    let (a, b, c) = (corner(start), corner(start + 1), corner(start + 2))
                    if a == b || b == c || a == c { continue }
                    if options.removeZeroAreaTriangles {
                        let (pa, pb, pc) = (position(a), position(b), position(c))
                        let longest = max(length(pb - pa), length(pc - pb), length(pa - pc))
                        let doubleArea: Float = length(cross(pb - pa, pc - pa))
                        if doubleArea <= 1e-7 * longest * longest { continue }
                    }
                    kept.append(a)
                    kept.append(b)
                    kept.append(c)
                case .lines:
                    let (a, b) = (corner(start), corner(start + 1))
                    if a == b { continue }
                    kept.append(a)
                    kept.append(b)
                case .points:
                    kept.append(corner(start))
                }
            }
        }
    }
    // Welded vertex j comes from old vertex first[j]; dropping degenerates may leave some unused.
    let welded = primitive.selectingVertices(first, newIndices: kept)
    return welded.droppingUnusedVertices(kept)
}

/// Every stream of every vertex as 32-bit words, one fixed-size record per vertex (SIMD padding excluded).
private func packVertices(_ p: Primitive) -> (words: [UInt32], stride: Int) {
    let v = p.vertices
    let count = p.vertexCount
    var columns: [(width: Int, word: (Int, Int) -> UInt32)] = []  // (words per vertex, word k of vertex i)
    func add<S: SIMD>(_ s: [S]) where S.Scalar == Float {
        if !s.isEmpty { columns.append((S.scalarCount, { i, k in s[i][k].bitPattern })) }
    }
    add(v.positions)
    add(v.normals)
    add(v.tangents)
    for uv in v.texcoords { add(uv) }
    add(v.colors)
    if !v.joints.isEmpty {
        let j = v.joints
        columns.append((2, { i, k in UInt32(j[i][2 * k]) | UInt32(j[i][2 * k + 1]) << 16 }))
    }
    add(v.weights)
    for t in p.targets {
        add(t.positions)
        add(t.normals)
        add(t.tangents)
    }
    let stride = columns.reduce(0) { $0 + $1.width }
    let words = [UInt32](unsafeUninitializedCapacity: stride * count) { buffer, initialized in
        var offset = 0
        for column in columns {
            for i in 0..<count {
                for k in 0..<column.width { buffer[i * stride + offset + k] = column.word(i, k) }
            }
            offset += column.width
        }
        initialized = stride * count
    }
    return (words, stride)
}
