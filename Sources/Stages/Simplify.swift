import Foundation
import Meshopt
import Scene

/// Options of `simplify`. With neither `ratio` nor `triangleBudget`, meshes simplify as far as `targetError` allows.
public struct SimplifyOptions: Sendable, Equatable {
    /// Fraction of each mesh's triangles to keep, in (0, 1].
    public var ratio: Float?
    /// Triangles for the whole scene as drawn (a mesh drawn by 3 nodes counts 3×), split across meshes by their
    /// world-space surface area. When both are set, each mesh gets the smaller of the two targets.
    public var triangleBudget: Int?
    /// The largest deviation allowed, relative to each mesh's extent (0.01 = 1 %).
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
public func simplify(
    _ scene: inout Scene, options: SimplifyOptions,
    threads: Int
) throws -> StageReport {
    try validateGeometry(scene)
    return runStage("simplify", &scene) { scene in
        var targets = simplifyTargets(scene, options: options)
        let input = scene
        let frozenTargets = targets
        var results = parallelMap(input.meshes.count, threads: threads) { m in
            simplifyMesh(input.meshes[m], target: frozenTargets[m], options: options)
        }
        if let budget = options.triangleBudget ?? ratioBudget(input, options.ratio) {
            // With a ratio alone, meshes that cannot go lower (small closed parts at the error bound) leave their
            // excess to the others, so the scene as drawn keeps the ratio, as a merged scene would in gltfpack.
            rebalance(input, budget: budget, targets: &targets, results: &results, options: options, threads: threads)
        }
        var reports: [MeshSimplification] = []
        for (m, result) in results.enumerated() {
            guard let (mesh, report) = result else { continue }
            scene.meshes[m] = mesh
            reports.append(
                MeshSimplification(
                    mesh: m, name: mesh.name, originalTriangles: report.original,
                    requestedTriangles: report.requested, achievedTriangles: report.achieved,
                    error: report.error, method: report.method, reason: report.reason))
        }
        return (reports, [])
    }
}

/// The triangle target of every mesh: from the ratio, the budget (split by world-space area, with
/// water-filling so meshes that need fewer than their share give the rest to others), or nil for error-only.
/// Meshes no node draws are not part of the budget.
func simplifyTargets(_ scene: Scene, options: SimplifyOptions) -> [Int?] {
    let triangles = scene.meshes.map { $0.primitives.reduce(0) { $0 + $1.triangleCount } }
    var targets = triangles.map { t in options.ratio.map { Int((Double(t) * Double($0)).rounded()) } ?? t }
    if options.ratio == nil && options.triangleBudget == nil { return triangles.map { _ in nil } }
    guard let budget = options.triangleBudget else { return targets }

    // Instances and world-space area of every mesh (area scales with |det|^(2/3) of the world matrix).
    let world = scene.worldTransforms()
    var instances = [Int](repeating: 0, count: scene.meshes.count)
    var areaScale = [Double](repeating: 0, count: scene.meshes.count)
    for (n, node) in scene.nodes.enumerated() {
        guard let m = node.mesh else { continue }
        for w in node.instances.isEmpty ? [world[n]] : node.instances.map({ world[n] * $0.matrix }) {
            instances[m] += 1
            let det =
                w[0, 0] * (w[1, 1] * w[2, 2] - w[2, 1] * w[1, 2]) - w[0, 1] * (w[1, 0] * w[2, 2] - w[2, 0] * w[1, 2])
                + w[0, 2] * (w[1, 0] * w[2, 1] - w[2, 0] * w[1, 1])
            areaScale[m] += pow(Double(abs(det)), 2.0 / 3.0)
        }
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

/// `ratio` of the triangles the scene draws (each mesh times the nodes and instances drawing it).
private func ratioBudget(_ scene: Scene, _ ratio: Float?) -> Int? {
    guard let ratio else { return nil }
    var drawn = 0
    for node in scene.nodes {
        guard let m = node.mesh, m >= 0, m < scene.meshes.count else { continue }
        drawn += max(node.instances.count, 1) * scene.meshes[m].primitives.reduce(0) { $0 + $1.triangleCount }
    }
    return Int((Double(drawn) * Double(ratio)).rounded())
}

/// Meets the budget when some meshes stalled above their targets: lowers the targets of the meshes that met
/// theirs by the excess, in proportion, and simplifies those again from the input (at most two rounds).
private func rebalance(
    _ input: Scene, budget: Int, targets: inout [Int?], results: inout [(Mesh, MeshResult)?],
    options: SimplifyOptions, threads: Int
) {
    var instances = [Int](repeating: 0, count: input.meshes.count)
    for node in input.nodes { if let m = node.mesh { instances[m] += max(node.instances.count, 1) } }
    let original = input.meshes.map { $0.primitives.reduce(0) { $0 + $1.triangleCount } }
    for _ in 0..<2 {
        let achieved = input.meshes.indices.map { results[$0]?.1.achieved ?? original[$0] }
        let drawn = input.meshes.indices.reduce(0) { $0 + instances[$1] * achieved[$1] }
        guard !meets(drawn, budget) else { return }
        let flexible = input.meshes.indices.filter { m in
            instances[m] > 0 && achieved[m] > 0 && meets(achieved[m], min(targets[m] ?? 0, original[m]))
        }
        let flexibleDrawn = flexible.reduce(0) { $0 + instances[$1] * achieved[$1] }
        guard flexibleDrawn > 0 else { return }
        let scale = Double(max(0, flexibleDrawn - (drawn - budget))) / Double(flexibleDrawn)
        for m in flexible { targets[m] = Int((Double(achieved[m]) * scale).rounded()) }
        let frozenTargets = targets
        let again = parallelMap(flexible.count, threads: threads) { k in
            simplifyMesh(input.meshes[flexible[k]], target: frozenTargets[flexible[k]], options: options)
        }
        for (k, m) in flexible.enumerated() { results[m] = again[k] }
    }
}

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

/// Simplifies one mesh toward `requested` triangles (as far as the error allows when nil); nil when it has
/// nothing to simplify or already meets the target.
private func simplifyMesh(_ mesh: Mesh, target requested: Int?, options: SimplifyOptions) -> (Mesh, MeshResult)? {
    let target = requested ?? 0
    let triangleSlots = mesh.primitives.indices.filter {
        mesh.primitives[$0].mode == .triangles && !mesh.primitives[$0].indices.isEmpty
    }
    let original = triangleSlots.reduce(0) { $0 + mesh.primitives[$1].triangleCount }
    guard original > 0, target < original else { return nil }
    // Unused vertices would count as extra wedges at their position and lock it in the simplifier.
    let prims = triangleSlots.map { mesh.primitives[$0].droppingUnusedVertices(mesh.primitives[$0].indices) }

    var method = SimplifyMethod.collapse
    var run = collapseJoint(prims, target: target, error: options.targetError, lock: options.lockBorders)
    if run == nil {
        method = .collapsePerPrimitive
        run = collapseSeparately(prims, target: target, error: options.targetError)
    }
    var (indices, error) = run!
    var achieved = indices.reduce(0) { $0 + $1.count / 3 }
    var reason: SimplifyMiss?
    if requested != nil && !meets(achieved, target) {
        reason = missReason(
            prims, target: target, achieved: achieved, options: options, jointSucceeded: method == .collapse)
        // --aggressive: a larger error bound first (topology and seams kept), then the sloppy simplifier.
        if options.aggressive && reason == .errorLimit && options.targetError < aggressiveError {
            let joint = method == .collapse
            if let larger = joint
                ? collapseJoint(prims, target: target, error: aggressiveError, lock: options.lockBorders)
                : collapseSeparately(prims, target: target, error: aggressiveError)
            {
                let count = larger.indices.reduce(0) { $0 + $1.count / 3 }
                if count > 0 && count < achieved {
                    (indices, error, achieved, method) = (larger.indices, larger.error, count, .collapseLargerError)
                    reason =
                        meets(achieved, target)
                        ? nil
                        : missReason(
                            prims, target: target, achieved: achieved,
                            options: options, jointSucceeded: joint)
                }
            }
        }
        if options.aggressive && reason != nil && Double(achieved) > Double(target) * 1.25 {
            let sloppy = sloppySeparately(prims, target: target, error: max(options.targetError, aggressiveError))
            let sloppyCount = sloppy.indices.reduce(0) { $0 + $1.count / 3 }
            if sloppyCount > 0 && sloppyCount < achieved {
                (indices, error, achieved, method) = (sloppy.indices, sloppy.error, sloppyCount, .sloppy)
                reason = meets(achieved, target) ? nil : .stalled
            }
        }
    }

    var out = mesh
    for (k, slot) in triangleSlots.enumerated() {
        out.primitives[slot] = prims[k].droppingUnusedVertices(indices[k])
    }
    // A material may have lost all its triangles; drop such primitives rather than keep empty ones.
    let emptied = Set(triangleSlots.filter { out.primitives[$0].indices.isEmpty })
    out.primitives = out.primitives.enumerated().filter { !emptied.contains($0.offset) }.map(\.element)
    return (
        out,
        MeshResult(
            original: original, requested: requested, achieved: achieved, error: error,
            method: method, reason: reason)
    )
}

/// Why a collapse run stopped short, found by re-running without the error limit and, if borders are locked,
/// without the lock.
private func missReason(
    _ prims: [Primitive], target: Int, achieved: Int, options: SimplifyOptions,
    jointSucceeded: Bool
) -> SimplifyMiss {
    func count(error: Float, lock: Bool) -> Int {
        let run =
            jointSucceeded
            ? collapseJoint(prims, target: target, error: error, lock: lock)
            : collapseSeparately(prims, target: target, error: error)
        return (run?.indices ?? []).reduce(0) { $0 + $1.count / 3 }
    }
    let unlimited = count(error: .greatestFiniteMagnitude, lock: options.lockBorders)
    if unlimited < achieved && (meets(unlimited, target) || Double(unlimited) < Double(achieved) * 0.98) {
        return .errorLimit
    }
    if options.lockBorders && jointSucceeded {
        let unlocked = count(error: .greatestFiniteMagnitude, lock: false)
        if Double(unlocked) < Double(achieved) * 0.98 { return .borderLocked }
    }
    return .stalled
}

/// Edge-collapse on all primitives at once (vertex buffers concatenated by position). Returns each primitive's new
/// indices and the relative error, or nil when a collapse joined vertices of different primitives into one triangle.
private func collapseJoint(_ prims: [Primitive], target: Int, error: Float, lock: Bool) -> (
    indices: [[UInt32]], error: Float
)? {
    if prims.count == 1 {
        let (result, resultError) = collapse(prims[0], targetTriangles: target, error: error, lock: lock)
        return ([result], resultError)
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
    var joint = Primitive()
    joint.vertices.positions = positions
    joint.indices = indices
    let (result, resultError) = collapse(joint, targetTriangles: target, error: error, lock: lock)

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
    for t in stride(from: 0, to: result.count, by: 3) {
        let k = owner(result[t])
        guard owner(result[t + 1]) == k, owner(result[t + 2]) == k else { return nil }
        let base = UInt32(offsets[k])
        split[k].append(contentsOf: [result[t] - base, result[t + 1] - base, result[t + 2] - base])
    }
    return (split, resultError)
}

/// Edge-collapse on each primitive alone with its borders locked (so material edges cannot open), targets split
/// by triangle count; the error is the largest of the primitives'.
private func collapseSeparately(_ prims: [Primitive], target: Int, error: Float) -> (indices: [[UInt32]], error: Float)
{
    let total = prims.reduce(0) { $0 + $1.triangleCount }
    var worst: Float = 0
    let indices = prims.map { p in
        let share = Int((Double(target) * Double(p.triangleCount) / Double(total)).rounded())
        let (result, e) = collapse(p, targetTriangles: share, error: error, lock: true)
        worst = max(worst, e)
        return result
    }
    return (indices, worst)
}

/// meshopt_simplify on one index buffer.
private func collapse(_ p: Primitive, targetTriangles: Int, error: Float, lock: Bool) -> ([UInt32], Float) {
    MeshoptOptimizer.simplify(
        p.indices, positions: p.vertices.positions, targetIndexCount: targetTriangles * 3,
        targetError: error, lockBorder: lock)
}

/// meshopt_simplifySloppy on each primitive alone, targets split by triangle count.
private func sloppySeparately(_ prims: [Primitive], target: Int, error: Float) -> (indices: [[UInt32]], error: Float) {
    let total = prims.reduce(0) { $0 + $1.triangleCount }
    var worst: Float = 0
    let indices = prims.map { p in
        let share = Int((Double(target) * Double(p.triangleCount) / Double(total)).rounded())
        let (kept, resultError) = MeshoptOptimizer.simplifySloppy(
            p.indices, positions: p.vertices.positions,
            targetIndexCount: share * 3, targetError: error)
        worst = max(worst, resultError)
        return kept
    }
    return (indices, worst)
}
