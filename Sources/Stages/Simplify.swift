import FoundationEssentials
import Meshopt
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Options of `simplify`. With neither `ratio` nor `triangleBudget`, meshes simplify as far as `targetError` allows.
public struct SimplifyOptions: Sendable, Equatable {
    /// Fraction of the triangles to keep, in (0, 1]: of each mesh alone, or, for a scene of several meshes (up to
    /// `errorMatchedTriangles` triangles in all), of the scene as drawn, split so the meshes deviate alike.
    public var ratio: Float?
    /// Triangles for the whole scene as drawn (a mesh drawn by 3 nodes counts 3×), split across meshes by their
    /// world-space surface area. When both are set, each mesh gets the smaller of the two targets.
    public var triangleBudget: Int?
    /// The largest deviation allowed, relative to each mesh's extent (0.01 = 1 %); when a ratio is split over several
    /// meshes by a common deviation, relative to the scene's extent as drawn (the extent of the meshes merged).
    public var targetError: Float
    /// Keep vertices on open borders in place (use for meshes that must stay attached to others).
    public var lockBorders: Bool
    /// When the simplifier stalls far from its target, fall back to meshopt's sloppy (clustering) simplifier,
    /// which ignores topology, seams and borders.
    public var aggressive: Bool

    public init(
        ratio: Float? = nil, triangleBudget: Int? = nil, targetError: Float = 0.01,
        lockBorders: Bool = false, aggressive: Bool = false
    ) {
        self.ratio = ratio
        self.triangleBudget = triangleBudget
        self.targetError = targetError
        self.lockBorders = lockBorders
        self.aggressive = aggressive
    }
}

/// What `simplify` did to one mesh.
public struct MeshSimplification: Sendable, Equatable, Codable {
    public var mesh: Int
    public var name: String
    /// Triangles before, in the mesh's triangle primitives.
    public var originalTriangles: Int
    /// nil when only the error limit applies (no ratio, no budget).
    public var requestedTriangles: Int?
    public var achievedTriangles: Int
    /// The deviation reached, relative to the mesh's extent.
    public var error: Float
    public var method: SimplifyMethod
    /// Why the target was missed by more than 2 %; nil when it was met (or there was none).
    public var reason: SimplifyMiss?
}

/// How `simplify` reduced a mesh (the report writes the raw value).
public enum SimplifyMethod: String, Sendable, Equatable, Codable {
    /// Edge collapse over all primitives at once, seams kept.
    case collapse
    /// Edge collapse of each primitive alone, its borders locked (a joint collapse would have joined materials).
    case collapsePerPrimitive = "collapse per primitive"
    /// `--aggressive`: edge collapse again with the larger error bound `aggressiveError`.
    case collapseLargerError = "collapse, larger error"
    /// `--aggressive`: meshopt's sloppy (clustering) simplifier, which ignores topology, seams and borders.
    case sloppy
}

/// Why a mesh kept more than 2 % above its target (the report writes the raw value).
public enum SimplifyMiss: String, Sendable, Equatable, Codable {
    /// Going further would deviate more than the error bound.
    case errorLimit = "error limit reached"
    /// `--lock-borders` kept vertices that would otherwise collapse.
    case borderLocked = "border locked"
    /// The simplifier found no more collapses (topology, seams), even without an error bound.
    case stalled = "simplifier stalled"
}

/// The error bound of the first `--aggressive` fallback: gltfpack's aggressive bound (-sa), 10 %.
let aggressiveError: Float = 0.1

/// A target is met when the result has at most 2 % more triangles than requested.
private func meets(_ achieved: Int, _ requested: Int) -> Bool { Double(achieved) <= Double(requested) * 1.02 }

/// Reduces the triangles of every mesh (points and lines are left alone), one mesh per work item.
///
/// All triangle primitives of a mesh are simplified together, so edges between materials stay connected, and
/// meshoptimizer welds vertices by position internally, so UV and normal seams stay closed. Output indices refer
/// to the original vertices (unused ones are then dropped): skinned and morphed meshes stay valid.
///
/// Each mesh is simplified in place: the stage takes it out of the scene, so when nothing else needs its index
/// buffer (one mesh to simplify, such as a large scan, without `--aggressive`) meshoptimizer reuses it and no second
/// copy exists. A mesh of over half a million triangles is cut into regions (up to 16, by its shape alone) that are
/// simplified side by side, their borders kept, each with only its own vertices: a 5.6 M-triangle scan simplifies
/// three times as fast in half the memory, at the same triangle count and within the same error bound.
public func simplify(
    _ scene: inout Scene, options: SimplifyOptions,
    threads: Int
) throws -> StageReport {
    try validateGeometry(scene)
    return runStage("simplify", &scene) { scene in
        let budget = options.triangleBudget ?? ratioBudget(scene, options.ratio)
        let plan =
            errorMatchedPlan(scene, options: options, threads: threads)
            ?? SimplifyPlan(
                targets: simplifyTargets(scene, options: options),
                errors: Array(repeating: nil, count: scene.meshes.count))
        var targets = plan.targets
        let meshOptions = plan.errors.map { error in
            var bounded = options
            bounded.targetError = error ?? options.targetError
            return bounded
        }
        // The budget rebalance simplifies meshes again from their originals; it can only do so when there is more
        // than one mesh, and only then are the originals kept (which makes the first pass work on copies).
        let originals = scene.meshes.filter { triangleCount($0) > 0 }.count > 1 ? scene.meshes : nil
        let meshes = Slots<Mesh>(scene.meshes.count)
        for m in scene.meshes.indices { meshes[m] = scene.meshes[m] }
        scene.meshes = []
        let frozenTargets = targets
        var results = parallelMap(meshes.count, threads: threads) { m in
            var mesh = meshes.take(m)!
            defer { meshes[m] = mesh }
            return simplifyMesh(&mesh, target: frozenTargets[m], options: meshOptions[m], threads: threads)
        }
        if let budget, let originals {
            // With a ratio alone, meshes that cannot go lower (small closed parts at the error bound) leave their
            // excess to the others, so the scene as drawn keeps the ratio, as a merged scene would in gltfpack.
            rebalance(
                originals, into: meshes, instances: scene.nodes, budget: budget, targets: &targets,
                results: &results, options: meshOptions, threads: threads)
        }
        scene.meshes = (0..<meshes.count).map { meshes.take($0)! }
        var reports: [MeshSimplification] = []
        for (m, result) in results.enumerated() {
            guard let result else { continue }
            reports.append(
                MeshSimplification(
                    mesh: m, name: scene.meshes[m].name, originalTriangles: result.original,
                    requestedTriangles: result.requested, achievedTriangles: result.achieved,
                    error: result.error, method: result.method, reason: result.reason))
        }
        return (reports, [])
    }
}

/// The triangle target of every mesh: from the ratio, the budget (split by world-space area, with
/// water-filling so meshes that need fewer than their share give the rest to others), or nil for error-only.
/// Meshes no node draws are not part of the budget.
func simplifyTargets(_ scene: Scene, options: SimplifyOptions) -> [Int?] {
    let triangles = scene.meshes.map(triangleCount)
    var targets = triangles.map { t in options.ratio.map { Int((Double(t) * Double($0)).rounded()) } ?? t }
    if options.ratio == nil && options.triangleBudget == nil { return triangles.map { _ in nil } }
    guard let budget = options.triangleBudget else { return targets }

    // Instances and world-space area of every mesh (area scales with |det|^(2/3) of the world matrix).
    var instances = [Int](repeating: 0, count: scene.meshes.count)
    var areaScale = [Double](repeating: 0, count: scene.meshes.count)
    for (m, w) in scene.meshPlacements() {
        instances[m] += 1
        areaScale[m] += pow(Double(abs(w.determinant3)), 2.0 / 3.0)
    }
    var weight = scene.meshes.indices.map { m in areaScale[m] * surfaceArea(scene.meshes[m]) }

    var active = scene.meshes.indices.filter { instances[$0] > 0 && triangles[$0] > 0 }
    if active.allSatisfy({ weight[$0] == 0 }) { for m in active { weight[m] = Double(triangles[m] * instances[m]) } }
    var remaining = Double(budget)
    var share = [Double](repeating: 0, count: scene.meshes.count)
    while !active.isEmpty {
        let total = active.reduce(0) { $0 + weight[$1] }
        for m in active { share[m] = total > 0 ? remaining * weight[m] / total / Double(instances[m]) : 0 }
        let full = active.filter { share[$0] >= Double(triangles[$0]) }
        if full.isEmpty { break }
        for m in full {
            remaining -= Double(triangles[m] * instances[m])
            share[m] = Double(triangles[m])
        }
        active.removeAll { full.contains($0) }
    }
    for m in scene.meshes.indices where instances[m] > 0 {
        targets[m] = min(targets[m], Int(share[m].rounded()))
    }
    return targets
}

/// Scenes of up to this many triangles (in meshes drawn at least once) split a ratio by a common deviation.
public let errorMatchedTriangles = 1 << 18

/// What each mesh simplifies to: its target (nil: error-bound only) and the error bound relative to its own extent
/// (nil: `SimplifyOptions.targetError`).
struct SimplifyPlan {
    var targets: [Int?]
    var errors: [Float?]
}

/// The plan of a ratio over several drawn meshes, as simplifying them merged would split it: the smallest deviation,
/// in world units and the same for every mesh, at which the meshes, each simplified as far as that allows, draw at
/// most the ratio's triangles, found by regula falsi on logarithms; each mesh's target is what it reached there plus
/// its part of the rest of the budget. The deviation is at most `targetError` of the scene's extent as drawn, the
/// bound of the merged mesh (gltfpack merges such meshes); when even that leaves too many triangles, each mesh goes
/// toward its proportional share within it. nil (targets in proportion, each mesh within `targetError` of its own
/// extent) for a budget, a single mesh or a scene over `errorMatchedTriangles`.
func errorMatchedPlan(_ scene: Scene, options: SimplifyOptions, threads: Int) -> SimplifyPlan? {
    guard let ratio = options.ratio, options.triangleBudget == nil, ratio < 1 else { return nil }
    let placements = scene.meshPlacements()
    var instances = [Int](repeating: 0, count: scene.meshes.count)
    var scale = [Float](repeating: 0, count: scene.meshes.count)
    for (m, w) in placements {
        instances[m] += 1
        scale[m] = max(scale[m], cbrt(abs(w.determinant3)))
    }
    let triangles = scene.meshes.map(triangleCount)
    let drawn = scene.meshes.indices.filter { instances[$0] > 0 && triangles[$0] > 0 }
    guard drawn.count > 1, drawn.reduce(0, { $0 + triangles[$1] }) <= errorMatchedTriangles,
        let budget = ratioBudget(scene, ratio), let world = scene.worldBounds()
    else { return nil }
    // A mesh's world-space extent: meshoptimizer measures error relative to the extent of the vertices it gets.
    let reach = drawn.map { m in scale[m] * usedExtent(scene.meshes[m]) }
    let side = world.max - world.min
    let sceneExtent = max(side.x, side.y, side.z)
    guard reach.allSatisfy({ $0 > 0 && $0.isFinite }), sceneExtent.isFinite else { return nil }

    /// Triangles of each drawn mesh simplified within `deviation` (no target), and their total as drawn.
    func reached(_ deviation: Float) -> (counts: [Int], total: Int) {
        let counts = parallelMap(drawn.count, threads: threads) { k in
            var mesh = scene.meshes[drawn[k]]
            var bounded = options
            bounded.ratio = nil
            bounded.aggressive = false
            bounded.targetError = deviation / reach[k]
            return simplifyMesh(&mesh, target: nil, options: bounded, threads: 1)?.achieved ?? triangles[drawn[k]]
        }
        return (counts, drawn.indices.reduce(0) { $0 + instances[drawn[$1]] * counts[$1] })
    }
    /// Targets (proportional unless given per drawn mesh) and every drawn mesh's bound at `deviation`.
    func plan(deviation: Float, counts: [Int]? = nil) -> SimplifyPlan {
        var plan = SimplifyPlan(
            targets: simplifyTargets(scene, options: options), errors: Array(repeating: nil, count: scene.meshes.count))
        for (k, m) in drawn.enumerated() {
            plan.errors[m] = deviation / reach[k]
            if let counts { plan.targets[m] = counts[k] }
        }
        return plan
    }
    var high = options.targetError * sceneExtent
    var best = reached(high)
    // Even the merged mesh's bound leaves too many: each mesh goes toward its share as far as that bound allows.
    guard best.total <= budget else { return plan(deviation: high) }
    var low: Float = high * 1e-4
    var above = (counts: drawn.map { triangles[$0] }, total: drawn.reduce(0) { $0 + instances[$1] * triangles[$1] })
    // Regula falsi on log deviation against log triangles, each guess kept inside the middle 80 % of the bracket.
    for _ in 0..<12 where Double(best.total) < Double(budget) * 0.95 && high > low * 1.5 {
        let span = log(high / low)
        let toward = log(Double(above.total) / Double(budget)) / log(Double(above.total) / Double(max(1, best.total)))
        let middle = low * exp(span * Float(toward.isFinite ? min(0.9, max(0.1, toward)) : 0.5))
        let trial = reached(middle)
        if trial.total <= budget {
            (high, best) = (middle, trial)
        } else {
            (low, above) = (middle, trial)
        }
    }
    // Counts jump where many edges deviate alike (regular meshes): the meshes share what is left of the budget in
    // proportion to what they keep between the two deviations that bracket it.
    let gaps = drawn.indices.map { k in max(0, above.counts[k] - best.counts[k]) }
    let spread = drawn.indices.reduce(0) { $0 + instances[drawn[$1]] * gaps[$1] }
    let fraction = spread > 0 ? Double(budget - best.total) / Double(spread) : 0
    return plan(deviation: high, counts: drawn.indices.map { best.counts[$0] + Int(fraction * Double(gaps[$0])) })
}

/// The largest side of the bounding box of the vertices a mesh's triangles use.
private func usedExtent(_ mesh: Mesh) -> Float {
    var lo = SIMD3<Float>(repeating: .infinity)
    var hi = SIMD3<Float>(repeating: -.infinity)
    for p in mesh.primitives where p.mode == .triangles {
        for i in p.indices {
            lo = pointwiseMin(lo, p.vertices.positions[Int(i)])
            hi = pointwiseMax(hi, p.vertices.positions[Int(i)])
        }
    }
    let side = hi - lo
    return max(side.x, side.y, side.z)
}

/// `ratio` of the triangles the scene draws (each mesh times the nodes and instances drawing it).
private func ratioBudget(_ scene: Scene, _ ratio: Float?) -> Int? {
    guard let ratio else { return nil }
    var drawn = 0
    for node in scene.nodes {
        guard let m = node.mesh, m >= 0, m < scene.meshes.count else { continue }
        drawn += max(node.instances.count, 1) * triangleCount(scene.meshes[m])
    }
    return Int((Double(drawn) * Double(ratio)).rounded())
}

/// Meets the budget when some meshes stalled above their targets: lowers the targets of the meshes that met
/// theirs by the excess, in proportion, and simplifies those again from `originals` (at most two rounds), each with
/// its own `options`.
private func rebalance(
    _ originals: [Mesh], into meshes: Slots<Mesh>, instances nodes: [Node], budget: Int, targets: inout [Int?],
    results: inout [MeshResult?], options: [SimplifyOptions], threads: Int
) {
    var instances = [Int](repeating: 0, count: originals.count)
    for node in nodes { if let m = node.mesh { instances[m] += max(node.instances.count, 1) } }
    let original = originals.map(triangleCount)
    for _ in 0..<2 {
        let achieved = originals.indices.map { results[$0]?.achieved ?? original[$0] }
        let drawn = originals.indices.reduce(0) { $0 + instances[$1] * achieved[$1] }
        guard !meets(drawn, budget) else { return }
        let flexible = originals.indices.filter { m in
            instances[m] > 0 && achieved[m] > 0 && meets(achieved[m], min(targets[m] ?? 0, original[m]))
        }
        let flexibleDrawn = flexible.reduce(0) { $0 + instances[$1] * achieved[$1] }
        guard flexibleDrawn > 0 else { return }
        let scale = Double(max(0, flexibleDrawn - (drawn - budget))) / Double(flexibleDrawn)
        for m in flexible { targets[m] = Int((Double(achieved[m]) * scale).rounded()) }
        let frozenTargets = targets
        let again = parallelMap(flexible.count, threads: threads) { k in
            var mesh = originals[flexible[k]]
            let result = simplifyMesh(
                &mesh, target: frozenTargets[flexible[k]], options: options[flexible[k]], threads: threads)
            return result.map { (mesh, $0) }
        }
        for (k, m) in flexible.enumerated() {
            results[m] = again[k]?.1
            meshes[m] = again[k]?.0 ?? originals[m]
        }
    }
}

/// Triangles in a mesh's triangle primitives.
private func triangleCount(_ mesh: Mesh) -> Int { mesh.primitives.reduce(0) { $0 + $1.triangleCount } }

/// The total area of a mesh's triangles, in its own space.
private func surfaceArea(_ mesh: Mesh) -> Double {
    var area = 0.0
    for p in mesh.primitives where p.mode == .triangles {
        let v = p.vertices.positions
        for t in stride(from: 0, to: p.indices.count, by: 3) {
            let a = v[Int(p.indices[t])]
            let b = v[Int(p.indices[t + 1])]
            let c = v[Int(p.indices[t + 2])]
            area += Double(length(cross(b - a, c - a))) / 2
        }
    }
    return area
}

private struct MeshResult {
    var original: Int
    var requested: Int?
    var achieved: Int
    var error: Float
    var method: SimplifyMethod
    var reason: SimplifyMiss?
}

/// Simplifies `mesh` in place toward `requested` triangles (as far as the error allows when nil); nil when it has
/// nothing to simplify or already meets the target.
private func simplifyMesh(
    _ mesh: inout Mesh, target requested: Int?, options: SimplifyOptions, threads: Int
) -> MeshResult? {
    let target = requested ?? 0
    let triangleSlots = mesh.primitives.indices.filter {
        mesh.primitives[$0].mode == .triangles && !mesh.primitives[$0].indices.isEmpty
    }
    let original = triangleSlots.reduce(0) { $0 + mesh.primitives[$1].triangleCount }
    guard original > 0, target < original else { return nil }
    // Moved out of the mesh, so each index buffer has one owner and is simplified in place. Unused vertices would
    // count as extra wedges at their position and lock it in the simplifier.
    var prims = triangleSlots.map { slot in
        var p = Primitive()
        swap(&p, &mesh.primitives[slot])
        p.dropUnusedVertices()
        return p
    }
    // The --aggressive fallbacks start over from the input, so it is kept (and the first pass works on a copy).
    let input = options.aggressive ? prims : []

    var method = SimplifyMethod.collapse
    var error: Float
    if let e = collapseJoint(
        &prims, target: target, error: options.targetError, lock: options.lockBorders, threads: threads)
    {
        error = e
    } else {
        method = .collapsePerPrimitive
        error = collapseSeparately(&prims, target: target, error: options.targetError, threads: threads)
    }
    let joint = method == .collapse
    var achieved = triangles(prims)
    var reason: SimplifyMiss?
    if requested != nil && !meets(achieved, target) {
        reason = missReason(
            prims, target: target, achieved: achieved, options: options, joint: joint, threads: threads)
        // --aggressive: a larger error bound first (topology and seams kept), then the sloppy simplifier.
        if options.aggressive && reason == .errorLimit && options.targetError < aggressiveError {
            var larger = input
            let largerError =
                joint
                ? collapseJoint(
                    &larger, target: target, error: aggressiveError, lock: options.lockBorders, threads: threads)
                : collapseSeparately(&larger, target: target, error: aggressiveError, threads: threads)
            let count = triangles(larger)
            if let largerError, count > 0 && count < achieved {
                (prims, error, achieved, method) = (larger, largerError, count, .collapseLargerError)
                reason =
                    meets(achieved, target)
                    ? nil
                    : missReason(
                        prims, target: target, achieved: achieved, options: options, joint: joint, threads: threads)
            }
        }
        if options.aggressive && reason != nil && Double(achieved) > Double(target) * 1.25 {
            var sloppy = input
            let sloppyError = sloppySeparately(
                &sloppy, target: target, error: max(options.targetError, aggressiveError))
            let count = triangles(sloppy)
            if count > 0 && count < achieved {
                (prims, error, achieved, method) = (sloppy, sloppyError, count, .sloppy)
                reason = meets(achieved, target) ? nil : .stalled
            }
        }
    }

    for (k, slot) in triangleSlots.enumerated() {
        prims[k].dropUnusedVertices()
        swap(&mesh.primitives[slot], &prims[k])
    }
    // A material may have lost all its triangles; drop such primitives rather than keep empty ones.
    let emptied = Set(triangleSlots.filter { mesh.primitives[$0].indices.isEmpty })
    mesh.primitives = mesh.primitives.enumerated().filter { !emptied.contains($0.offset) }.map(\.element)
    return MeshResult(
        original: original, requested: requested, achieved: achieved, error: error, method: method, reason: reason)
}

/// Triangles in `prims`.
private func triangles(_ prims: [Primitive]) -> Int { prims.reduce(0) { $0 + $1.triangleCount } }

/// Why a collapse run stopped short, found by collapsing its result further without the error limit and, if
/// borders are locked, without the lock.
private func missReason(
    _ prims: [Primitive], target: Int, achieved: Int, options: SimplifyOptions, joint: Bool, threads: Int
) -> SimplifyMiss {
    func count(lock: Bool) -> Int {
        var trial = prims
        let ran =
            joint
            ? collapseJoint(&trial, target: target, error: .greatestFiniteMagnitude, lock: lock, threads: threads)
                != nil
            : {
                collapseSeparately(&trial, target: target, error: .greatestFiniteMagnitude, threads: threads)
                return true
            }()
        return ran ? triangles(trial) : 0
    }
    let unlimited = count(lock: options.lockBorders)
    if unlimited < achieved && (meets(unlimited, target) || Double(unlimited) < Double(achieved) * 0.98) {
        return .errorLimit
    }
    if options.lockBorders && joint {
        let unlocked = count(lock: false)
        if Double(unlocked) < Double(achieved) * 0.98 { return .borderLocked }
    }
    return .stalled
}

/// Edge-collapse on all primitives at once (vertex buffers concatenated by position), replacing each primitive's
/// indices; returns the relative error, or nil (and leaves `prims` as they were) when a collapse joined vertices
/// of different primitives into one triangle.
private func collapseJoint(_ prims: inout [Primitive], target: Int, error: Float, lock: Bool, threads: Int) -> Float? {
    if prims.count == 1 {
        return collapse(
            &prims[0].indices, positions: prims[0].vertices.positions, target: target, error: error, lock: lock,
            threads: threads)
    }
    var positions: [SIMD3<Float>] = []
    var indices: [UInt32] = []
    var offsets: [Int] = []
    for p in prims {
        offsets.append(positions.count)
        let base = UInt32(positions.count)
        positions.append(contentsOf: p.vertices.positions)
        indices.append(contentsOf: p.indices.map { $0 + base })
    }
    offsets.append(positions.count)
    let resultError = collapse(
        &indices, positions: positions, target: target, error: error, lock: lock, threads: threads)

    func owner(_ v: UInt32) -> Int {
        var lo = 0
        var hi = prims.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= Int(v) { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
    var split = [[UInt32]](repeating: [], count: prims.count)
    for t in stride(from: 0, to: indices.count, by: 3) {
        let k = owner(indices[t])
        guard owner(indices[t + 1]) == k, owner(indices[t + 2]) == k else { return nil }
        let base = UInt32(offsets[k])
        split[k].append(contentsOf: [indices[t] - base, indices[t + 1] - base, indices[t + 2] - base])
    }
    for k in prims.indices { prims[k].indices = split[k] }
    return resultError
}

/// Edge-collapse on each primitive alone with its borders locked (so material edges cannot open), targets split
/// by triangle count; returns the largest of the primitives' errors.
@discardableResult
private func collapseSeparately(_ prims: inout [Primitive], target: Int, error: Float, threads: Int) -> Float {
    let total = triangles(prims)
    var worst: Float = 0
    for k in prims.indices {
        let share = share(of: target, prims[k].triangleCount, total)
        let positions = prims[k].vertices.positions
        worst = max(
            worst,
            collapse(
                &prims[k].indices, positions: positions, target: share, error: error, lock: true, threads: threads))
    }
    return worst
}

/// meshopt_simplify on one index buffer, in place. A large buffer is cut into regions (`simplifyParts`) that are
/// simplified side by side.
private func collapse(
    _ indices: inout [UInt32], positions: [SIMD3<Float>], target: Int, error: Float, lock: Bool, threads: Int
) -> Float {
    let parts = partCount(triangles: indices.count / 3)
    guard parts > 1 else {
        return MeshoptOptimizer.simplify(
            &indices, positions: positions, targetIndexCount: target * 3, targetError: error, lockBorder: lock)
    }
    let meshExtent = extent(positions)
    var reached = simplifyParts(
        &indices, positions: positions, extent: meshExtent, parts: parts, target: target, error: error, threads)
    // The parts kept their borders (the cut, and any open border of the mesh) in place; where that left the mesh
    // above its target, finish it whole within what is left of the error bound (deviations add up at most).
    if !meets(indices.count / 3, target) && reached < error {
        let remaining = error - reached
        reached += withOwnVertices(&indices, positions: positions) { indices, own in
            simplifyOwn(&indices, positions: own, extent: meshExtent, target: target, error: remaining, lock: lock)
        }
    }
    return reached
}

/// Simplifies each of `parts` regions (`inRegions`) alone towards its share of `target`, its borders locked (so the
/// cut stays closed) and with the whole mesh's absolute error bound; returns the largest error relative to
/// `meshExtent`.
private func simplifyParts(
    _ indices: inout [UInt32], positions: [SIMD3<Float>], extent meshExtent: Float, parts: Int, target: Int,
    error: Float, _ threads: Int
) -> Float {
    let total = indices.count / 3
    let errors = inRegions(&indices, positions: positions, parts: parts, threads: threads) { piece, own in
        let share = share(of: target, piece.count / 3, total)
        return simplifyOwn(&piece, positions: own, extent: meshExtent, target: share, error: error, lock: true)
    }
    return errors.max() ?? 0
}

/// meshopt_simplify on `piece` towards `target` triangles, with the error bound and the result taken relative to
/// `meshExtent` (meshoptimizer measures error relative to the extent of the vertices it is given).
private func simplifyOwn(
    _ piece: inout [UInt32], positions: [SIMD3<Float>], extent meshExtent: Float, target: Int, error: Float,
    lock: Bool
) -> Float {
    let pieceExtent = extent(positions)
    let scale = pieceExtent > 0 && meshExtent > 0 ? meshExtent / pieceExtent : 1
    let reached = MeshoptOptimizer.simplify(
        &piece, positions: positions, targetIndexCount: target * 3, targetError: error * scale, lockBorder: lock)
    return reached / scale
}

/// The part of `target` that falls to `count` of `total` triangles, rounded.
private func share(of target: Int, _ count: Int, _ total: Int) -> Int {
    Int((Double(target) * Double(count) / Double(total)).rounded())
}

/// meshopt_simplifySloppy on each primitive alone, targets split by triangle count; returns the largest error.
private func sloppySeparately(_ prims: inout [Primitive], target: Int, error: Float) -> Float {
    let total = triangles(prims)
    var worst: Float = 0
    for k in prims.indices {
        let share = share(of: target, prims[k].triangleCount, total)
        let (kept, resultError) = MeshoptOptimizer.simplifySloppy(
            prims[k].indices, positions: prims[k].vertices.positions,
            targetIndexCount: share * 3, targetError: error)
        prims[k].indices = kept
        worst = max(worst, resultError)
    }
    return worst
}
