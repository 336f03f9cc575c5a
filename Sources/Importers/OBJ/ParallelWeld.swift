import ImportSupport
import Scene

/// Elements from which a primitive's corners are welded on several workers (`weldInParallel`).
let parallelWeldElements = 1 << 15

/// `CornerWelder`'s result for one large primitive, found on `threads` workers.
///
/// Each worker owns a range of the position indices the primitive uses and walks all its corners in order, welding
/// those whose position it owns; as every corner of a vertex has the vertex's position, each worker sees all corners
/// of its vertices. It numbers them in order of first use among its corners and writes those local numbers into the
/// index buffer. A vertex's number in the primitive is its rank by first use among all workers' vertices: the number
/// the serial welder gives it, so the result is the same for any thread count.
///
/// The local numbers go to the tail of the index buffer (no element has more corners than it makes indices), and the
/// primitive's indices overwrite them from the front: in parallel where every element's indices are its corners
/// (triangles, two-corner lines, points), in element order where polygons are triangulated or lines chained.
func weldInParallel(
    _ key: PrimitiveKey, segments: [Segment], pieces: [ParsedPiece],
    positions: PackedVectors, threads: Int
) -> WeldedCorners {
    // Each segment's corners, indices and position range; where its corners start in the primitive.
    let extents = Slots<SegmentExtent>(segments.count)
    parallelFor(segments.count, threads: threads) { s in
        extents[s] = SegmentExtent(segments[s], piece: pieces[segments[s].piece], mode: key.mode)
    }
    let extent = (0..<segments.count).map { extents[$0]! }
    var cornerStarts: [Int] = []
    var corners = 0
    var indexCount = 0
    for e in extent {
        cornerStarts.append(corners)
        corners += e.corners
        indexCount += e.indices
    }
    let low = extent.map(\.low).min() ?? 0
    let high = extent.map(\.high).max() ?? 0
    guard corners > 0, corners < Int(UInt32.max), low <= high else {
        var welder = CornerWelder(positions: positions)
        return welder.weld(key, segments: segments, pieces: pieces)
    }
    let hasTexcoords = segments.contains { pieces[$0.piece].cornerTexcoords.isPresent }
    let hasNormals = segments.contains { pieces[$0.piece].cornerNormals.isPresent }
    let owners = PositionOwners(low: low, high: high, workers: threads)
    let tail = indexCount - corners

    var parts: [WeldedVertices] = []
    let indices = [UInt32](unsafeUninitializedCapacity: indexCount) { buffer, initialized in
        nonisolated(unsafe) let out = buffer
        // Each worker's vertices, their local numbers written to the tail.
        let found = Slots<LocalVertices>(owners.workers)
        parallelFor(owners.workers, threads: owners.workers) { worker in
            var local = LocalVertices(range: owners.range(worker), hasTexcoords: hasTexcoords, hasNormals: hasNormals)
            for (s, segment) in segments.enumerated() {
                let piece = pieces[segment.piece]
                let base = tail + cornerStarts[s] - segment.firstCorner
                piece.cornerPositions.withUnsafeBufferPointer { cornerPositions in
                    for corner in segment.firstCorner..<segment.firstCorner + extent[s].corners {
                        let position = cornerPositions[corner]
                        guard owners.owner(position) == worker else { continue }
                        out[base + corner] = local.vertex(
                            position, texcoord: piece.cornerTexcoords[corner, position: position],
                            normal: piece.cornerNormals[corner, position: position],
                            firstUse: UInt32(cornerStarts[s] + corner - segment.firstCorner))
                    }
                }
            }
            local.finish()
            found[worker] = local
        }
        var locals = (0..<owners.workers).map { found.take($0)! }
        // Numbers in the primitive: a vertex's local number plus the vertices of other workers used before it.
        let numbers = locals.map { NumberTable(count: $0.firstUse.count) }
        parallelFor(owners.workers, threads: owners.workers) { worker in
            let table = numbers[worker].numbers
            for i in table.indices { table[i] = UInt32(i) }
            locals[worker].firstUse.withUnsafeBufferPointer { mine in
                for other in locals.indices where other != worker {
                    locals[other].firstUse.withUnsafeBufferPointer { theirs in
                        var earlier = 0
                        for i in mine.indices {
                            while earlier < theirs.count, theirs[earlier] < mine[i] { earlier += 1 }
                            table[i] += UInt32(earlier)
                        }
                    }
                }
            }
        }
        let keepTexcoords = hasTexcoords && locals.contains { $0.texcoords.contains { $0 != absent } }
        let keepNormals = hasNormals && !locals.contains { $0.normals.contains(absent) }
        parts = locals.indices.map { worker in
            WeldedVertices(
                positions: locals[worker].positions, texcoords: keepTexcoords ? locals[worker].texcoords : nil,
                normals: keepNormals ? locals[worker].normals : nil, numbers: numbers[worker])
        }
        locals = []
        let tables = numbers.map(\.numbers)
        if tail == 0 {
            // Each corner is an index: its local number becomes its number in the primitive, in place.
            var ranges: [(segment: Int, corners: Range<Int>)] = []
            for (s, segment) in segments.enumerated() {
                let end = segment.firstCorner + extent[s].corners
                for start in stride(from: segment.firstCorner, to: end, by: chunkSize) {
                    ranges.append((s, start..<min(end, start + chunkSize)))
                }
            }
            parallelFor(ranges.count, threads: threads) { r in
                let (s, range) = ranges[r]
                let base = cornerStarts[s] - segments[s].firstCorner
                pieces[segments[s].piece].cornerPositions.withUnsafeBufferPointer { cornerPositions in
                    for corner in range {
                        let table = tables[owners.owner(cornerPositions[corner])]
                        out[base + corner] = table[Int(out[base + corner])]
                    }
                }
            }
        } else {
            // Elements in order: each one's corners are read from the tail before its indices are written.
            var write = 0
            var polygon: [UInt32] = []
            var triangulator = PolygonTriangulator()
            for (s, segment) in segments.enumerated() {
                let piece = pieces[segment.piece]
                let cornerPositions = piece.cornerPositions
                var corner = segment.firstCorner
                let base = tail + cornerStarts[s] - segment.firstCorner
                for element in segment.elements {
                    let count = Int(piece.elements[element] & 0x3FFF_FFFF)
                    polygon.removeAll(keepingCapacity: true)
                    for k in corner..<corner + count {
                        polygon.append(tables[owners.owner(cornerPositions[k])][Int(out[base + k])])
                    }
                    switch key.mode {
                    case .triangles where count == 3, .points:
                        for v in polygon {
                            out[write] = v
                            write += 1
                        }
                    case .triangles:
                        let first = corner
                        let welded = polygon
                        triangulator.triangulate(count: count, point: { positions[Int(cornerPositions[first + $0])] }) {
                            out[write] = welded[$0]
                            out[write + 1] = welded[$1]
                            out[write + 2] = welded[$2]
                            write += 3
                        }
                    case .lines:
                        for k in 1..<max(count, 1) {
                            out[write] = polygon[k - 1]
                            out[write + 1] = polygon[k]
                            write += 2
                        }
                    }
                    corner += count
                }
            }
            precondition(write == indexCount, "welded indices miscounted")
        }
        initialized = indexCount
    }
    return WeldedCorners(key: key, indices: indices, parts: parts)
}

/// A segment's corners, the indices its elements make, and the range of position indices its corners use.
private struct SegmentExtent {
    var corners = 0
    var indices = 0
    var low = UInt32.max
    var high: UInt32 = 0

    init(_ segment: Segment, piece: ParsedPiece, mode: Primitive.Mode) {
        for element in segment.elements {
            let count = Int(piece.elements[element] & 0x3FFF_FFFF)
            corners += count
            indices += indexCount(corners: count, mode: mode)
        }
        for position in piece.cornerPositions[segment.firstCorner..<segment.firstCorner + corners] {
            low = min(low, position)
            high = max(high, position)
        }
    }
}

/// Which worker owns a position index: `workers` consecutive ranges of about equal size over `low...high`.
private struct PositionOwners {
    let low: UInt32
    let span: UInt64
    let workers: Int
    /// 2³² × workers / span: the owner is (position − low) × scale / 2³², without a division per corner.
    private let scale: UInt64

    init(low: UInt32, high: UInt32, workers: Int) {
        self.low = low
        span = UInt64(high - low) + 1
        self.workers = max(1, min(workers, Int(span)))
        scale = (UInt64(self.workers) << 32) / span
    }

    @inline(__always)
    func owner(_ position: UInt32) -> Int { Int((UInt64(position &- low) &* scale) >> 32) }

    /// The positions `worker` owns.
    func range(_ worker: Int) -> Range<UInt32> {
        // The first offset each worker owns, by bisection (the owner grows with the position).
        func start(_ worker: Int) -> UInt64 {
            var (lower, upper) = (UInt64(0), span)
            while lower < upper {
                let middle = (lower + upper) / 2
                if owner(low &+ UInt32(middle)) >= worker { upper = middle } else { lower = middle + 1 }
            }
            return lower
        }
        return low + UInt32(start(worker))..<UInt32(UInt64(low) + start(worker + 1))
    }
}

/// One worker's vertices: distinct index triples among the corners whose positions it owns, in order of first use,
/// found through a chain per position index.
private struct LocalVertices {
    let range: Range<UInt32>
    let hasTexcoords: Bool
    let hasNormals: Bool
    /// First vertex per owned position index (-1: none yet).
    private var head: [Int32]
    private var chain: [Int32] = []
    var positions: [UInt32] = []
    var texcoords: [UInt32] = []
    var normals: [UInt32] = []
    /// Where in the primitive's corners each vertex is first used.
    var firstUse: [UInt32] = []

    init(range: Range<UInt32>, hasTexcoords: Bool, hasNormals: Bool) {
        self.range = range
        self.hasTexcoords = hasTexcoords
        self.hasNormals = hasNormals
        head = Array(repeating: -1, count: range.count)
        let expected = range.count
        positions.reserveCapacity(expected)
        chain.reserveCapacity(expected)
        firstUse.reserveCapacity(expected)
        if hasTexcoords { texcoords.reserveCapacity(expected) }
        if hasNormals { normals.reserveCapacity(expected) }
    }

    /// The local number of the corner's vertex.
    @inline(__always)
    mutating func vertex(_ position: UInt32, texcoord: UInt32, normal: UInt32, firstUse use: UInt32) -> UInt32 {
        let slot = Int(position - range.lowerBound)
        var candidate = head[slot]
        while candidate >= 0 {
            let c = Int(candidate)
            if (!hasTexcoords || texcoords[c] == texcoord) && (!hasNormals || normals[c] == normal) {
                return UInt32(c)
            }
            candidate = chain[c]
        }
        let index = positions.count
        positions.append(position)
        if hasTexcoords { texcoords.append(texcoord) }
        if hasNormals { normals.append(normal) }
        firstUse.append(use)
        chain.append(head[slot])
        head[slot] = Int32(index)
        return UInt32(index)
    }

    /// Lets go of the lookup tables.
    mutating func finish() {
        head = []
        chain = []
    }
}
