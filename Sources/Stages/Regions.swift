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
    do {
        let region = regions(positions, parts: parts)
        let whole = indices.count - indices.count % 3
        // Sized first, so the buckets never grow (a growing buffer leaves holes the size of its earlier copies).
        var sizes = [Int](repeating: 0, count: parts)
        for t in stride(from: 0, to: whole, by: 3) { sizes[Int(region[Int(indices[t])])] += 3 }
        var buckets = sizes.map { size in
            var bucket: [UInt32] = []
            bucket.reserveCapacity(size)
            return bucket
        }
        for t in stride(from: 0, to: whole, by: 3) {
            buckets[Int(region[Int(indices[t])])].append(contentsOf: indices[t..<t + 3])
        }
        indices = []
        for (k, bucket) in buckets.enumerated() { pieces[k] = bucket }
    }
    let results = parallelMap(parts, threads: threads) { k -> R in
        var piece = pieces.take(k)!
        defer { pieces[k] = piece }
        return withOwnVertices(&piece, positions: positions, body)
    }
    indices.reserveCapacity((0..<parts).reduce(0) { $0 + (pieces[$1]?.count ?? 0) })
    for k in 0..<parts { indices.append(contentsOf: pieces.take(k)!) }
    return results
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
/// halves are equal to within a bin; vertices with a non-finite coordinate go with the lower half.
func regions(_ positions: [SIMD3<Float>], parts: Int) -> [UInt8] {
    var region = [UInt8](repeating: 0, count: positions.count)
    let bins = 1024
    func finite(_ p: SIMD3<Float>) -> Bool { p.x.isFinite && p.y.isFinite && p.z.isFinite }
    var lo = [SIMD3<Float>(repeating: .infinity)]
    var hi = [SIMD3<Float>(repeating: -.infinity)]
    for p in positions where finite(p) {
        lo[0] = pointwiseMin(lo[0], p)
        hi[0] = pointwiseMax(hi[0], p)
    }
    positions.withUnsafeBufferPointer { position in
        region.withUnsafeMutableBufferPointer { region in
            var count = 1
            while count < parts {
                // Each region's longest side, and where along it a coordinate falls in the histogram.
                var axis: [Int] = []
                var origin: [Float] = []
                var scale: [Float] = []
                for r in 0..<count {
                    let side = hi[r] - lo[r]
                    let a = side.x >= side.y && side.x >= side.z ? 0 : (side.y >= side.z ? 1 : 2)
                    axis.append(a)
                    origin.append(lo[r][a])
                    scale.append(side[a] > 0 ? Float(bins) / side[a] : 0)
                }
                var histogram = [Int](repeating: 0, count: count * bins)
                histogram.withUnsafeMutableBufferPointer { histogram in
                    for v in 0..<position.count {
                        let r = Int(region[v])
                        let x = position[v][axis[r]]
                        let b = x.isFinite ? min(bins - 1, max(0, Int((x - origin[r]) * scale[r]))) : 0
                        histogram[r * bins + b] += 1
                    }
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
                lo = [SIMD3<Float>](repeating: SIMD3(repeating: .infinity), count: 2 * count)
                hi = [SIMD3<Float>](repeating: SIMD3(repeating: -.infinity), count: 2 * count)
                lo.withUnsafeMutableBufferPointer { lo in
                    hi.withUnsafeMutableBufferPointer { hi in
                        for v in 0..<position.count {
                            let r = Int(region[v])
                            let p = position[v]
                            let next = p[axis[r]] >= threshold[r] ? r + count : r
                            region[v] = UInt8(next)
                            if finite(p) {
                                lo[next] = pointwiseMin(lo[next], p)
                                hi[next] = pointwiseMax(hi[next], p)
                            }
                        }
                    }
                }
                count *= 2
            }
        }
    }
    return region
}
