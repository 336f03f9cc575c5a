/// Splits polygons of any size into triangles, correctly for concave ones: ear clipping in the plane that fits
/// the polygon best (its Newell normal), so a non-planar or tilted polygon is handled like its projection.
///
/// Triangles keep the polygon's winding. Quads take the diagonal from corner 0 unless that folds the quad, and other
/// convex polygons, or polygons whose projection folds back on itself, the fan from corner 0 (as Assimp does). Ear tests only look at reflex corners near the candidate
/// (a uniform grid over them), so polygons with local concavities (a noisy circle of 200,000 corners) take about
/// linear time; a polygon whose tests exceed a fixed budget (a huge, very concave one) finishes by clipping convex
/// corners without the containment test, and a degenerate remainder (collinear or repeated corners) is clipped as it
/// comes: the work stays bounded and every corner ends up in a triangle.
///
/// Reuse one triangulator for many polygons: its scratch buffers are kept between calls.
public struct PolygonTriangulator {
    private var xs: [Double] = []
    private var ys: [Double] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var reflex: [Bool] = []
    private var removed: [Bool] = []
    private var reflexList: [Int32] = []
    private var points: [SIMD3<Double>] = []
    private var cellStart: [Int32] = []
    private var cellItems: [Int32] = []
    private var gridSize = 1
    private var gridLow = SIMD2<Double>.zero
    private var gridScale = SIMD2<Double>.zero

    /// Containment tests allowed per polygon before the remaining corners are clipped without them.
    private static let testBudget = 20_000_000

    public init() {}

    /// Triangulates the polygon whose `count` corners are `point(0)`, …, `point(count - 1)` and calls
    /// `emit(a, b, c)` with corner numbers (0..<count) for each triangle; count − 2 triangles for count ≥ 3.
    public mutating func triangulate(count n: Int, point: (Int) -> SIMD3<Float>, emit: (Int, Int, Int) -> Void) {
        guard n >= 3 else { return }
        if n == 3 {
            emit(0, 1, 2)
            return
        }
        project(count: n, point: point)
        let orientation = signedArea(n) >= 0 ? 1.0 : -1.0
        if n == 4 {
            let firstDiagonal = turn(0, 1, 2) * orientation > 0 && turn(0, 2, 3) * orientation > 0
            let secondDiagonal = turn(1, 2, 3) * orientation > 0 && turn(1, 3, 0) * orientation > 0
            if firstDiagonal || !secondDiagonal {
                emit(0, 1, 2)
                emit(0, 2, 3)
            } else {
                emit(1, 2, 3)
                emit(1, 3, 0)
            }
            return
        }
        if isConvex(n, orientation: orientation) || foldsBack(n) {
            // The fan from corner 0, as Assimp, Blender and gltfpack triangulate convex faces: the same surface
            // as theirs when the face is not planar. A projection that folds back on itself (a corner whose two
            // edges overlap) says nothing about the face's shape, so it gets the fan too, as trimesh, gltfpack and
            // `assimp export -tri` make it (Assimp's library, as our Assimp route calls it, fans it from its last
            // corner instead).
            for k in 1..<(n - 1) { emit(0, k, k + 1) }
            return
        }
        clipEars(n, orientation: orientation, emit: emit)
    }

    /// Whether the projected polygon is convex: no corner turns against its orientation (collinear corners
    /// allowed) and it winds once (its edges go up and down once: a star's corners all turn alike too).
    private func isConvex(_ n: Int, orientation: Double) -> Bool {
        var firstSign = 0.0
        var lastSign = 0.0
        var changes = 0
        for k in 0..<n {
            let a = k == 0 ? n - 1 : k - 1
            let c = k == n - 1 ? 0 : k + 1
            guard turn(a, k, c) * orientation >= 0 else { return false }
            let dy = ys[c] - ys[k]
            guard dy != 0 else { continue }
            let sign: Double = dy > 0 ? 1 : -1
            if lastSign != 0 && sign != lastSign { changes += 1 }
            if firstSign == 0 { firstSign = sign }
            lastSign = sign
        }
        if lastSign != firstSign { changes += 1 }
        return changes == 2
    }

    /// Whether some corner's outgoing edge runs back along its incoming one in the projection (a zero-width spike:
    /// the projected outline overlaps itself there).
    private func foldsBack(_ n: Int) -> Bool {
        for k in 0..<n {
            let a = k == 0 ? n - 1 : k - 1
            let c = k == n - 1 ? 0 : k + 1
            let incoming = SIMD2(xs[k] - xs[a], ys[k] - ys[a])
            let outgoing = SIMD2(xs[c] - xs[k], ys[c] - ys[k])
            let dot = (incoming * outgoing).sum()
            let cross = incoming.x * outgoing.y - incoming.y * outgoing.x
            let lengths = ((incoming * incoming).sum() * (outgoing * outgoing).sum()).squareRoot()
            if dot < 0 && abs(cross) <= 1e-9 * lengths { return true }
        }
        return false
    }

    /// Projects onto the axis plane most parallel to the polygon, relative to corner 0.
    private mutating func project(count n: Int, point: (Int) -> SIMD3<Float>) {
        let origin = SIMD3<Double>(point(0))
        var normal = SIMD3<Double>.zero
        var last = SIMD3<Double>(point(n - 1)) - origin
        xs.removeAll(keepingCapacity: true)
        ys.removeAll(keepingCapacity: true)
        points.removeAll(keepingCapacity: true)
        for k in 0..<n {
            var p = SIMD3<Double>(point(k)) - origin
            if !(p.x.isFinite && p.y.isFinite && p.z.isFinite) { p = .zero }
            let q = last
            normal += SIMD3((q.y - p.y) * (q.z + p.z), (q.z - p.z) * (q.x + p.x), (q.x - p.x) * (q.y + p.y))
            points.append(p)
            last = p
        }
        let a = SIMD3(abs(normal.x), abs(normal.y), abs(normal.z))
        for p in points {
            if a.z >= a.x && a.z >= a.y {
                xs.append(p.x)
                ys.append(normal.z >= 0 ? p.y : -p.y)
            } else if a.x >= a.y {
                xs.append(p.y)
                ys.append(normal.x >= 0 ? p.z : -p.z)
            } else {
                xs.append(p.z)
                ys.append(normal.y >= 0 ? p.x : -p.x)
            }
        }
    }

    private func signedArea(_ n: Int) -> Double {
        var area = 0.0
        var j = n - 1
        for i in 0..<n {
            area += (xs[j] - xs[i]) * (ys[j] + ys[i])
            j = i
        }
        return area
    }

    /// Twice the signed area of the triangle (a, b, c): positive when it turns left.
    @inline(__always) private func turn(_ a: Int, _ b: Int, _ c: Int) -> Double {
        (xs[b] - xs[a]) * (ys[c] - ys[a]) - (ys[b] - ys[a]) * (xs[c] - xs[a])
    }

    private mutating func clipEars(_ n: Int, orientation: Double, emit: (Int, Int, Int) -> Void) {
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        reflex.removeAll(keepingCapacity: true)
        removed.removeAll(keepingCapacity: true)
        reflexList.removeAll(keepingCapacity: true)
        for i in 0..<n {
            previous.append(Int32(i == 0 ? n - 1 : i - 1))
            next.append(Int32(i == n - 1 ? 0 : i + 1))
            removed.append(false)
        }
        for i in 0..<n {
            let isReflex = turn(Int(previous[i]), i, Int(next[i])) * orientation <= 0
            reflex.append(isReflex)
            if isReflex { reflexList.append(Int32(i)) }
        }
        var left = n
        var cursor = 0
        var misses = 0
        var tests = 0
        // 0: full ear test; 1: convex corners without the containment test; 2: clip whatever comes.
        var mode = 0
        buildGrid()
        while left > 3 {
            let p = Int(previous[cursor])
            let c = cursor
            let q = Int(next[cursor])
            var ear: Bool
            switch mode {
            case 0:
                ear = !reflex[c] && !blocked(p, c, q, orientation, tests: &tests)
                if tests > Self.testBudget { mode = 1 }
            case 1: ear = !reflex[c]
            default: ear = true
            }
            if !ear {
                cursor = q
                misses += 1
                if misses >= left {
                    mode += 1
                    misses = 0
                }
                continue
            }
            emit(p, c, q)
            removed[c] = true
            next[p] = Int32(q)
            previous[q] = Int32(p)
            left -= 1
            misses = 0
            for v in 0..<2 {
                let corner = v == 0 ? p : q
                if reflex[corner], turn(Int(previous[corner]), corner, Int(next[corner])) * orientation > 0 {
                    reflex[corner] = false
                }
            }
            cursor = q
        }
        emit(Int(previous[cursor]), cursor, Int(next[cursor]))
    }

    /// Buckets the reflex corners into a uniform grid over the polygon's bounds, so an ear test only looks at the
    /// reflex corners near its triangle.
    private mutating func buildGrid() {
        cellStart.removeAll(keepingCapacity: true)
        cellItems.removeAll(keepingCapacity: true)
        guard !reflexList.isEmpty else { return }
        var low = SIMD2(xs[0], ys[0])
        var high = low
        for i in xs.indices {
            low = pointwiseMin(low, SIMD2(xs[i], ys[i]))
            high = pointwiseMax(high, SIMD2(xs[i], ys[i]))
        }
        gridSize = max(1, min(1024, Int(Double(reflexList.count).squareRoot())))
        gridLow = low
        let extent = high - low
        gridScale = SIMD2(
            extent.x > 0 ? Double(gridSize) / extent.x : 0, extent.y > 0 ? Double(gridSize) / extent.y : 0)
        cellStart = Array(repeating: 0, count: gridSize * gridSize + 1)
        for r in reflexList { cellStart[cell(Int(r)) + 1] += 1 }
        for i in 0..<(gridSize * gridSize) { cellStart[i + 1] += cellStart[i] }
        var fill = cellStart
        cellItems = Array(repeating: 0, count: reflexList.count)
        for r in reflexList {
            let k = cell(Int(r))
            cellItems[Int(fill[k])] = r
            fill[k] += 1
        }
    }

    @inline(__always) private func column(_ x: Double) -> Int {
        min(gridSize - 1, max(0, Int((x - gridLow.x) * gridScale.x)))
    }
    @inline(__always) private func row(_ y: Double) -> Int {
        min(gridSize - 1, max(0, Int((y - gridLow.y) * gridScale.y)))
    }
    @inline(__always) private func cell(_ v: Int) -> Int { row(ys[v]) * gridSize + column(xs[v]) }

    /// Whether a remaining reflex corner lies in the triangle (p, c, q), which then is no ear.
    private func blocked(_ p: Int, _ c: Int, _ q: Int, _ orientation: Double, tests: inout Int) -> Bool {
        guard !cellItems.isEmpty else { return false }
        let x0 = column(min(xs[p], xs[c], xs[q]))
        let x1 = column(max(xs[p], xs[c], xs[q]))
        let y0 = row(min(ys[p], ys[c], ys[q]))
        let y1 = row(max(ys[p], ys[c], ys[q]))
        for y in y0...y1 {
            for x in x0...x1 {
                let k = y * gridSize + x
                for item in Int(cellStart[k])..<Int(cellStart[k + 1]) {
                    let v = Int(cellItems[item])
                    tests += 1  // every visit counts toward the budget, skipped ones too
                    if removed[v] || !reflex[v] || v == p || v == q || v == c { continue }
                    if contains(p, c, q, v, orientation) { return true }
                }
            }
        }
        return false
    }

    /// Whether corner v lies inside or on the triangle (a, b, c) and is not one of its corners' positions.
    @inline(__always) private func contains(_ a: Int, _ b: Int, _ c: Int, _ v: Int, _ orientation: Double) -> Bool {
        let (x, y) = (xs[v], ys[v])
        if (x == xs[a] && y == ys[a]) || (x == xs[b] && y == ys[b]) || (x == xs[c] && y == ys[c]) { return false }
        let d1 = ((xs[b] - xs[a]) * (y - ys[a]) - (ys[b] - ys[a]) * (x - xs[a])) * orientation
        let d2 = ((xs[c] - xs[b]) * (y - ys[b]) - (ys[c] - ys[b]) * (x - xs[b])) * orientation
        let d3 = ((xs[a] - xs[c]) * (y - ys[c]) - (ys[a] - ys[c]) * (x - xs[c])) * orientation
        return d1 >= 0 && d2 >= 0 && d3 >= 0
    }
}
