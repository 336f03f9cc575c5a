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
    var kept: [UInt32] = []
    kept.reserveCapacity(indices.count)
    var first = [Int](repeating: -1, count: unique)  // the first old vertex of each welded vertex
    for v in 0..<vertexCount where remap[v] != UInt32.max && first[Int(remap[v])] < 0 { first[Int(remap[v])] = v }
    // Only whole primitives: an unindexed primitive's vertex count need not be a multiple of the corner count.
    for start in stride(from: 0, to: indices.count - indices.count % perPrimitive, by: perPrimitive) {
        let corners = indices[start..<start + perPrimitive].map { remap[Int($0)] }
        switch primitive.mode {
        case .triangles:
            if corners[0] == corners[1] || corners[1] == corners[2] || corners[0] == corners[2] { continue }
            if options.removeZeroAreaTriangles {
                let p = corners.map { primitive.vertices.positions[first[Int($0)]] }
                let e0: Float = length(p[1] - p[0])
                let e1: Float = length(p[2] - p[1])
                let e2: Float = length(p[0] - p[2])
                let longest = max(e0, e1, e2)
                let doubleArea: Float = length(cross(p[1] - p[0], p[2] - p[0]))
                if doubleArea <= 1e-7 * longest * longest { continue }
            }
        case .lines:
            if corners[0] == corners[1] { continue }
        case .points:
            break
        }
        kept.append(contentsOf: corners)
    }

    // Welded vertex j comes from old vertex first[j]; dropping degenerates may leave some unused.
    let welded = primitive.selectingVertices(first, newIndices: kept)
    return welded.droppingUnusedVertices(kept)
}

/// Every stream of every vertex as 32-bit words, one fixed-size record per vertex (SIMD padding excluded).
private func packVertices(_ p: Primitive) -> (words: [UInt32], stride: Int) {
    let v = p.vertices
    var writers: [(inout [UInt32], Int) -> Void] = []
    var stride = 0
    func add3(_ s: [SIMD3<Float>]) {
        guard !s.isEmpty else { return }
        stride += 3
        writers.append { w, i in
            w.append(s[i].x.bitPattern)
            w.append(s[i].y.bitPattern)
            w.append(s[i].z.bitPattern)
        }
    }
    func add4(_ s: [SIMD4<Float>]) {
        guard !s.isEmpty else { return }
        stride += 4
        writers.append { w, i in for k in 0..<4 { w.append(s[i][k].bitPattern) } }
    }
    add3(v.positions)
    add3(v.normals)
    add4(v.tangents)
    for uv in v.texcoords where !uv.isEmpty {
        stride += 2
        writers.append { w, i in
            w.append(uv[i].x.bitPattern)
            w.append(uv[i].y.bitPattern)
        }
    }
    add4(v.colors)
    if !v.joints.isEmpty {
        let j = v.joints
        stride += 2
        writers.append { w, i in
            w.append(UInt32(j[i].x) | UInt32(j[i].y) << 16)
            w.append(UInt32(j[i].z) | UInt32(j[i].w) << 16)
        }
    }
    add4(v.weights)
    for t in p.targets {
        add3(t.positions)
        add3(t.normals)
        add3(t.tangents)
    }
    var words: [UInt32] = []
    words.reserveCapacity(stride * p.vertexCount)
    for i in 0..<p.vertexCount { for write in writers { write(&words, i) } }
    return (words, stride)
}
