/// Per-vertex skin influences as glTF keeps them: the four strongest joints of each vertex, sorted by descending
/// weight (a joint's weights added up when it is given more than once), normalized to sum 1 by `normalize()`.
/// Vertices given no positive weight keep all-zero weights.
public struct SkinInfluences {
    public private(set) var joints: [SIMD4<UInt16>]
    public private(set) var weights: [SIMD4<Float>]

    public init(vertices: Int) {
        joints = [SIMD4<UInt16>](repeating: .zero, count: vertices)
        weights = [SIMD4<Float>](repeating: .zero, count: vertices)
    }

    /// Adds `weight` (positive and finite; others are ignored) of `joint` to vertex `v`.
    public mutating func add(joint: UInt16, weight: Float, to v: Int) {
        guard weight > 0, weight.isFinite else { return }
        var (j, w) = (joints[v], weights[v])
        var weight = weight
        if let slot = (0..<4).first(where: { j[$0] == joint && w[$0] > 0 }) {
            weight = min(weight + w[slot], .greatestFiniteMagnitude)
            for k in slot..<3 { (j[k], w[k]) = (j[k + 1], w[k + 1]) }
            (j[3], w[3]) = (0, 0)
        }
        var slot = 4
        while slot > 0, w[slot - 1] < weight { slot -= 1 }
        guard slot < 4 else { return }
        var k = 3
        while k > slot {
            (w[k], j[k]) = (w[k - 1], j[k - 1])
            k -= 1
        }
        (w[slot], j[slot]) = (weight, joint)
        (joints[v], weights[v]) = (j, w)
    }

    /// Scales every weighted vertex's weights to sum 1 (in Double: four huge weights do not overflow).
    public mutating func normalize() {
        for v in weights.indices {
            let sum = SIMD4<Double>(weights[v]).sum()
            if sum > 0 { weights[v] = SIMD4<Float>(SIMD4<Double>(weights[v]) / sum) }
        }
    }
}
