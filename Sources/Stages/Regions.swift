import Scene

// Large meshes in regions: the simplify and reorder stages cut an index buffer of over half a million triangles into
// regions of nearby vertices and work on each alone, side by side. The cut depends on the positions only, so the
// output is the same for any thread count.

/// Triangles per region: a buffer of at least twice this many is cut.
let partTriangles = 1 << 18

/// How many regions a buffer of `triangles` is cut into: a power of two with at least `partTriangles` each, at most
/// 16.
func partCount(triangles: Int) -> Int {
    var parts = 1
    while parts < 16 && triangles >= 2 * parts * partTriangles { parts *= 2 }
    return parts
}

/// Runs `body` on the triangles of each of `parts` regions (`regions`; a triangle goes with its first corner),
/// renumbered to the region's own vertices (`own`, in first-use order), at most `threads` regions at a time; the
/// regions' triangles as `body` leaves them, back in the mesh's numbering and in region order, replace `indices`.
/// Returns `body`'s results in region order. Each region holds only its own vertices while `body` runs, so per-vertex
/// tables (meshoptimizer's) are sized by the region, not the mesh.
func inRegions<R: Sendable>(
    _ indices: inout [UInt32], positions: [SIMD3<Float>], parts: Int, threads: Int,
    _ body: @Sendable (_ piece: inout [UInt32], _ own: [SIMD3<Float>]) -> R
) -> [R] {
    let pieces = Slots<[UInt32]>(parts)
    // Each region's triangles (a counting sort over chunks of triangles: each chunk writes its own stretch of every
    // region's run), copied into an array by the worker that takes the region. The input buffer is let go of first.
    nonisolated(unsafe) let runs = sortedByRegion(
        indices, region: regions(positions, parts: parts, threads: threads),
        parts: parts, threads: threads)
    indices = []
    let results = parallelMap(parts, threads: threads) { k -> R in
        var piece = Array(runs[k])
        runs[k].deallocate()
        defer { pieces[k] = piece }
        return withOwnVertices(&piece, positions: positions, body)
    }
    indices.reserveCapacity((0..<parts).reduce(0) { $0 + (pieces[$1]?.count ?? 0) })
    for k in 0..<parts { indices.append(contentsOf: pieces.take(k)!) }
    return results
}

/// The triangles of `indices` in one buffer per region (`region`: of each vertex; a triangle goes with its first
/// corner), in their order; the caller deallocates the buffers.
private func sortedByRegion(
    _ indices: [UInt32], region: [UInt8], parts: Int, threads: Int
) -> [UnsafeMutableBufferPointer<UInt32>] {
    let triangles = indices.count / 3
    let counts = mapChunks(of: triangles, threads: threads) { range -> [Int] in
        var count = [Int](repeating: 0, count: parts)
        for t in range { count[Int(region[Int(indices[3 * t])])] += 1 }
        return count
    }
    // Where each chunk writes its first triangle of each region, in the region's own run.
    let layout = countingSortLayout(counts, buckets: parts)
    nonisolated(unsafe) let runs = (0..<parts).map { k in
        UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 3 * (layout.buckets[k + 1] - layout.buckets[k]))
    }
    forChunks(of: triangles, threads: threads) { range in
        var next = (0..<parts).map { k in 3 * (layout.chunks[range.lowerBound / chunkSize][k] - layout.buckets[k]) }
        for t in range {
            let k = Int(region[Int(indices[3 * t])])
            runs[k][next[k]] = indices[3 * t]
            runs[k][next[k] + 1] = indices[3 * t + 1]
            runs[k][next[k] + 2] = indices[3 * t + 2]
            next[k] += 3
        }
    }
    return runs
}

/// Runs `body` on `piece` renumbered to the vertices it uses (in first-use order) and their positions; then maps
/// the indices `body` leaves back to the mesh's numbering.
func withOwnVertices<R>(
    _ piece: inout [UInt32], positions: [SIMD3<Float>], _ body: (inout [UInt32], [SIMD3<Float>]) -> R
) -> R {
    var globals: [UInt32] = []
    var own: [SIMD3<Float>] = []
    do {
        var local = [UInt32](repeating: .max, count: positions.count)
        for i in piece.indices {
            let g = Int(piece[i])
            if local[g] == .max {
                local[g] = UInt32(globals.count)
                globals.append(UInt32(g))
                own.append(positions[g])
            }
            piece[i] = local[g]
        }
    }
    let result = body(&piece, own)
    own = []
    for i in piece.indices { piece[i] = globals[Int(piece[i])] }
    return result
}

/// The largest side of the positions' bounding box (meshoptimizer's scale for errors).
func extent(_ positions: [SIMD3<Float>]) -> Float {
    guard var lo = positions.first else { return 0 }
    var hi = lo
    for p in positions {
        lo = pointwiseMin(lo, p)
        hi = pointwiseMax(hi, p)
    }
    let side = hi - lo
    return max(side.x, side.y, side.z)
}

/// The region (0..<parts) of every vertex: the positions are halved at the median of the longest side of each
/// region's bounding box until there are `parts` (a power of two) regions. Medians come from a histogram, so the
/// halves are equal to within a bin; vertices with a non-finite coordinate go with the lower half. Each pass runs
/// over chunks of vertices on `threads` workers; counts and bounds are merged exactly, so the regions do not depend
/// on `threads`.
func regions(_ positions: [SIMD3<Float>], parts: Int, threads: Int) -> [UInt8] {
    let bins = 1024
    @Sendable func finite(_ p: SIMD3<Float>) -> Bool { p.x.isFinite && p.y.isFinite && p.z.isFinite }
    /// Bounds merged from per-chunk bounds, region by region.
    func merged(_ boxes: [[(lo: SIMD3<Float>, hi: SIMD3<Float>)]], count: Int) -> [(lo: SIMD3<Float>, hi: SIMD3<Float>)]
    {
        var result = [(lo: SIMD3<Float>, hi: SIMD3<Float>)](
            repeating: (SIMD3(repeating: .infinity), SIMD3(repeating: -.infinity)), count: count)
        for box in boxes {
            for r in 0..<count {
                result[r].lo = pointwiseMin(result[r].lo, box[r].lo)
                result[r].hi = pointwiseMax(result[r].hi, box[r].hi)
            }
        }
        return result
    }
    var region = [UInt8](repeating: 0, count: positions.count)
    region.withUnsafeMutableBufferPointer { region in
        nonisolated(unsafe) let region = region
        var bounds = merged(
            mapChunks(of: positions.count, threads: threads) { range in
                var box = (lo: SIMD3<Float>(repeating: .infinity), hi: SIMD3<Float>(repeating: -.infinity))
                for v in range where finite(positions[v]) {
                    box.lo = pointwiseMin(box.lo, positions[v])
                    box.hi = pointwiseMax(box.hi, positions[v])
                }
                return [box]
            }, count: 1)
        var count = 1
        while count < parts {
            // Each region's longest side, and where along it a coordinate falls in the histogram.
            var axis: [Int] = []
            var origin: [Float] = []
            var scale: [Float] = []
            for r in 0..<count {
                let side = bounds[r].hi - bounds[r].lo
                let a = side.x >= side.y && side.x >= side.z ? 0 : (side.y >= side.z ? 1 : 2)
                axis.append(a)
                origin.append(bounds[r].lo[a])
                scale.append(side[a] > 0 ? Float(bins) / side[a] : 0)
            }
            let (regions, axes, origins, scales) = (count, axis, origin, scale)
            var histogram = [Int](repeating: 0, count: count * bins)
            for partial in mapChunks(
                of: positions.count, threads: threads,
                { range -> [Int] in
                    var histogram = [Int](repeating: 0, count: regions * bins)
                    for v in range {
                        let r = Int(region[v])
                        let x = positions[v][axes[r]]
                        let b = x.isFinite ? min(bins - 1, max(0, Int((x - origins[r]) * scales[r]))) : 0
                        histogram[r * bins + b] += 1
                    }
                    return histogram
                })
            {
                for i in histogram.indices { histogram[i] += partial[i] }
            }
            // The upper half starts at the first bin where the running count passes half the region.
            let threshold = (0..<count).map { r -> Float in
                let row = histogram[r * bins..<(r + 1) * bins]
                let half = (row.reduce(0, +) + 1) / 2
                var running = 0
                for (b, n) in row.enumerated() {
                    running += n
                    if running >= half { return scale[r] > 0 ? origin[r] + Float(b + 1) / scale[r] : .infinity }
                }
                return .infinity
            }
            // Halve, and bound the new regions for the next level.
            bounds = merged(
                mapChunks(of: positions.count, threads: threads) { range in
                    var boxes = [(lo: SIMD3<Float>, hi: SIMD3<Float>)](
                        repeating: (SIMD3(repeating: .infinity), SIMD3(repeating: -.infinity)), count: 2 * regions)
                    for v in range {
                        let r = Int(region[v])
                        let p = positions[v]
                        let next = p[axes[r]] >= threshold[r] ? r + regions : r
                        region[v] = UInt8(next)
                        if finite(p) {
                            boxes[next].lo = pointwiseMin(boxes[next].lo, p)
                            boxes[next].hi = pointwiseMax(boxes[next].hi, p)
                        }
                    }
                    return boxes
                }, count: 2 * count)
            count *= 2
        }
    }
    return region
}
