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
        let unwelded = transformPrimitives(&scene, threads: threads) { weld(&$0, options: options, threads: threads) }
        return (
            nil,
            unwelded.map { "mesh \($0.mesh) primitive \($0.primitive): not welded, vertices larger than 4096 bytes" }
        )
    }
}

/// Welds one primitive in place (see `weld(_:options:threads:)`); false, leaving it as it was, when its vertices are
/// too large for meshoptimizer (over 16 streams of 256 bytes, i.e. more than about 110 morph targets). A large
/// primitive's vertices are packed and compared on `threads` workers (`remapInPools`); the result does not depend on
/// `threads`.
public func weld(_ primitive: inout Primitive, options: WeldOptions = WeldOptions(), threads: Int = 1) -> Bool {
    let vertexCount = primitive.vertexCount
    guard vertexCount > 0 else { return true }
    let packed = primitive.packedVertexWords(threads: threads)
    var words = packed.words
    let wordsPerVertex = packed.stride
    let strideBytes = wordsPerVertex * 4
    guard (strideBytes + 255) / 256 <= MeshoptOptimizer.maximumRemapStreams else { return false }

    var indices = primitive.effectiveIndices
    primitive.indices = []
    let found =
        threads > 1 && vertexCount >= pooledWeldVertices
        ? remapInPools(
            indices, vertexCount: vertexCount, words: words, wordsPerVertex: wordsPerVertex, threads: threads)
        : MeshoptOptimizer.generateVertexRemap(indices, vertexCount: vertexCount, vertices: words, stride: strideBytes)
    var remap = found.remap
    let unique = found.unique
    // Remapped index buffer without degenerate primitives.
    let perPrimitive = primitive.mode == .triangles ? 3 : primitive.mode == .lines ? 2 : 1
    // Welded vertices are numbered in order of first use (meshoptimizer's remap), which also gives the later stages
    // the memory locality of the index order; `first` is the old vertex of each.
    words = []
    let first = firstOfEach(remap, unique: unique)
    var kept: [UInt32] = []
    kept.reserveCapacity(indices.count)
    // Only whole primitives: an unindexed primitive's vertex count need not be a multiple of the corner count.
    do {
        let positions = primitive.vertices.positions
        indices.withUnsafeBufferPointer { index in
            remap.withUnsafeBufferPointer { remap in
                func corner(_ i: Int) -> UInt32 { remap[Int(index[i])] }
                func position(_ v: UInt32) -> SIMD3<Float> { positions[Int(first[Int(v)])] }
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
    }
    indices = []
    remap = []
    // Welded vertex j comes from old vertex first[j]; dropping degenerates may leave some unused.
    primitive.indices = kept
    kept = []
    primitive.selectVertices(first)
    primitive.dropUnusedVertices()
    return true
}

/// Vertices from which a primitive is welded in pools, on several workers.
let pooledWeldVertices = 1 << 17

/// meshoptimizer's vertex remap (`MeshoptOptimizer.generateVertexRemap`: identical vertices share one number,
/// numbers in order of first use in `indices`, `UInt32.max` for vertices no index uses), found on `threads` workers:
/// identical vertices hash alike, so each of 16 pools of vertices (by hash) finds its duplicates alone, and one pass
/// over the indices numbers the groups. Same table as meshoptimizer's, for any thread count.
func remapInPools(
    _ indices: [UInt32], vertexCount: Int, words: [UInt32], wordsPerVertex: Int, threads: Int
) -> (remap: [UInt32], unique: Int) {
    let pools = 16
    let stride = wordsPerVertex * 4
    // The pool of every vertex: a hash of its words (FNV-1a).
    var pool = [UInt8](repeating: 0, count: vertexCount)
    words.withUnsafeBufferPointer { words in
        pool.withUnsafeMutableBufferPointer { pool in
            nonisolated(unsafe) let (words, pool) = (words, pool)
            forChunks(of: vertexCount, threads: threads) { range in
                for v in range {
                    var hash: UInt32 = 2_166_136_261
                    for w in words[v * wordsPerVertex..<(v + 1) * wordsPerVertex] { hash = (hash ^ w) &* 16_777_619 }
                    pool[v] = UInt8(truncatingIfNeeded: (hash ^ hash >> 16) & UInt32(pools - 1))
                }
            }
        }
    }
    // Each pool's vertices in ascending order, then the first of each group of identical ones: `representative`.
    var members = [[UInt32]](repeating: [], count: pools)
    for v in 0..<vertexCount { members[Int(pool[v])].append(UInt32(v)) }
    pool = []
    var representative = [UInt32](repeating: 0, count: vertexCount)
    representative.withUnsafeMutableBufferPointer { representative in
        nonisolated(unsafe) let representative = representative
        parallelFor(pools, threads: threads) { p in
            let list = members[p]
            guard !list.isEmpty else { return }
            // The pool's records side by side, so meshoptimizer's tables are pool-sized.
            var records = [UInt32]()
            records.reserveCapacity(list.count * wordsPerVertex)
            for v in list { records += words[Int(v) * wordsPerVertex..<(Int(v) + 1) * wordsPerVertex] }
            let (group, _) = MeshoptOptimizer.generateVertexRemap(
                Array(0..<UInt32(list.count)), vertexCount: list.count, vertices: records, stride: stride)
            var first = [UInt32](repeating: .max, count: list.count)
            for (i, v) in list.enumerated() {
                let g = Int(group[i])
                if first[g] == .max { first[g] = v }
                representative[Int(v)] = first[g]
            }
        }
    }
    members = []
    // Groups numbered in order of first use, as meshoptimizer numbers them.
    var number = [UInt32](repeating: .max, count: vertexCount)
    var remap = [UInt32](repeating: .max, count: vertexCount)
    var unique: UInt32 = 0
    for index in indices where remap[Int(index)] == .max {
        let group = Int(representative[Int(index)])
        if number[group] == .max {
            number[group] = unique
            unique += 1
        }
        remap[Int(index)] = number[group]
    }
    return (remap, Int(unique))
}
