/// Splits polygons of any size into triangles, correctly for concave ones: ear clipping in the plane that fits
/// the polygon best (its Newell normal), so a non-planar or tilted polygon is handled like its projection.
///
/// Triangles keep the polygon's winding. Quads take the diagonal from corner 0 unless that folds the quad (as
/// Assimp does). Ear tests only look at reflex corners, so convex polygons of any size take linear time; a
/// polygon whose tests exceed a fixed budget (a huge, very concave one) finishes by clipping convex corners without
/// the containment test, and a degenerate remainder (collinear or repeated corners) is clipped as it comes:
/// the work stays bounded and every corner ends up in a triangle.
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

    /// Containment tests allowed per polygon before the remaining corners are clipped without them.
    private static let testBudget = 50_000_000

    public init() {}

    /// Triangulates the polygon whose `count` corners are `point(0)`, …, `point(count - 1)` and calls
    /// `emit(a, b, c)` with corner numbers (0..<count) for each triangle; count − 2 triangles for count ≥ 3.
    public mutating func triangulate(count n: Int, point: (Int) -> SIMD3<Float>, emit: (Int, Int, Int) -> Void) {
        guard n >= 3 else { return }
        if n == 3 { emit(0, 1, 2); return }
        project(count: n, point: point)
        let orientation = signedArea(n) >= 0 ? 1.0 : -1.0
        if n == 4 {
            let firstDiagonal = turn(0, 1, 2) * orientation > 0 && turn(0, 2, 3) * orientation > 0
            let secondDiagonal = turn(1, 2, 3) * orientation > 0 && turn(1, 3, 0) * orientation > 0
            if firstDiagonal || !secondDiagonal {
                emit(0, 1, 2); emit(0, 2, 3)
            } else {
                emit(1, 2, 3); emit(1, 3, 0)
            }
            return
        }
        clipEars(n, orientation: orientation, emit: emit)
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
                xs.append(p.x); ys.append(normal.z >= 0 ? p.y : -p.y)
            } else if a.x >= a.y {
                xs.append(p.y); ys.append(normal.x >= 0 ? p.z : -p.z)
            } else {
                xs.append(p.z); ys.append(normal.y >= 0 ? p.x : -p.x)
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
        var staleReflex = 0
        while left > 3 {
            let p = Int(previous[cursor]), c = cursor, q = Int(next[cursor])
            var ear: Bool
            switch mode {
            case 0:
                ear = !reflex[c]
                if ear {
                    for r in reflexList {
                        let v = Int(r)
                        if removed[v] || !reflex[v] || v == p || v == q { continue }
                        tests += 1
                        if contains(p, c, q, v, orientation) { ear = false; break }
                    }
                    if tests > Self.testBudget { mode = 1 }
                }
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
                    staleReflex += 1
                }
            }
            if reflex[c] { staleReflex += 1 }
            if staleReflex > 64, staleReflex * 2 > reflexList.count {
                reflexList.removeAll { removed[Int($0)] || !reflex[Int($0)] }
                staleReflex = 0
            }
            cursor = q
        }
        emit(Int(previous[cursor]), cursor, Int(next[cursor]))
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
