import Foundation
import Scene

/// What deforms one Geometry: skin clusters (`Deformer` Skin → `Deformer` Cluster ← bone Model) and blend shapes
/// (`Deformer` BlendShape → `Deformer` BlendShapeChannel → `Geometry` Shape), as connected in 7.x files.
struct FBXDeformers {
    struct Cluster {
        /// The bone's node.
        var bone: Int
        var points: [Int32]
        var weights: [Double]
        /// From the mesh (its geometric transform applied) into the bone's space at bind time: the file's `Transform`
        /// (geometry to bone, which already holds `TransformLink`⁻¹) after the geometric transform's inverse.
        var inverseBind: Matrix4
    }

    /// One blend shape channel: a morph target.
    struct Channel {
        var key: FBXKey
        var name: String
        /// `DeformPercent` / 100.
        var weight: Float
        var points: [Int32]
        /// x, y, z per entry of `points`, in the geometry's space.
        var offsets: [Double]
    }

    var clusters: [Cluster] = []
    var channels: [Channel] = []

    var isEmpty: Bool { clusters.isEmpty && channels.isEmpty }
}

extension FBXSceneBuilder {
    /// The deformers of `geometry`. A cluster whose bone is not in the scene is dropped with a warning, as are
    /// in-between shapes (only a channel's last, full shape is kept) and deformer kinds glTF has no counterpart for.
    mutating func deformers(of geometry: FBXKey, geometric: DMatrix, nodeOfModel: [FBXKey: Int]) throws
        -> FBXDeformers
    {
        var result = FBXDeformers()
        for (deformerKey, deformer, _) in children(of: geometry, kind: "Deformer") {
            switch deformer.subclass {
            case "Skin":
                for (key, cluster, _) in children(of: deformerKey, kind: "Deformer") where cluster.subclass == "Cluster"
                {
                    guard let bone = children(of: key, kind: "Model").first.flatMap({ nodeOfModel[$0.0] }) else {
                        warn("skin cluster '\(cluster.name)' has no bone in the scene; its weights were dropped")
                        continue
                    }
                    guard result.clusters.count < Int(UInt16.max) else {
                        warn("a skin has more than \(UInt16.max) bones; the rest were dropped")
                        break
                    }
                    let geometryToBone = try matrix(cluster.node, "Transform") ?? .identity
                    var inverseBind = (geometryToBone * (geometric.inverse ?? .identity)).matrix4
                    if !inverseBind.columnMajor.allSatisfy({ $0.isFinite }) {
                        warn("skin cluster '\(cluster.name)' has a bind matrix that is not finite; identity used")
                        inverseBind = .identity
                    }
                    result.clusters.append(
                        FBXDeformers.Cluster(
                            bone: bone, points: try array(cluster.node, "Indexes"),
                            weights: try array(cluster.node, "Weights"), inverseBind: inverseBind))
                }
            case "BlendShape":
                for (key, channel, _) in children(of: deformerKey, kind: "Deformer")
                where channel.subclass == "BlendShapeChannel" {
                    let shapes = children(of: key, kind: "Geometry").filter { $0.1.subclass == "Shape" }
                    guard let shape = shapes.last?.1 else { continue }
                    if shapes.count > 1 {
                        warn(
                            "blend shape channel '\(channel.name)' has in-between shapes; only its full shape was kept")
                    }
                    let percent = properties(channel).double("DeformPercent") ?? 0
                    result.channels.append(
                        FBXDeformers.Channel(
                            key: key, name: channel.name,
                            weight: percent.isFinite ? Float(min(max(percent, -1e4), 1e4) / 100) : 0,
                            points: try array(shape.node, "Indexes"), offsets: try array(shape.node, "Vertices")))
                }
            default:
                warn("FBX \(deformer.subclass) deformer '\(deformer.name)' is not converted; ignored")
            }
        }
        return result
    }

    private func array<T: FBXArrayElement>(_ object: Int, _ name: String) throws -> [T] {
        try doc.child(object, name).map { try doc.array($0) } ?? []
    }

    private func matrix(_ object: Int, _ name: String) throws -> DMatrix? {
        DMatrix(fbx: try array(object, name))
    }
}

/// A mesh's deformers per control point: its four strongest joints with weights summing to 1, and each morph
/// target's offset (through the geometric transform).
struct FBXPointDeformation {
    private var joints: [SIMD4<UInt16>] = []
    private var weights: [SIMD4<Float>] = []
    private var offsets: [(name: String, values: [SIMD3<Float>])] = []
    /// Some point has no weight: it is bound to the extra joint `clusters.count` (the mesh's own node).
    private(set) var unweighted = false

    init(_ deformers: FBXDeformers, points count: Int, geometric: DMatrix, _ b: inout FBXSceneBuilder) {
        var skipped = 0
        if !deformers.clusters.isEmpty {
            joints = [SIMD4<UInt16>](repeating: .zero, count: count)
            weights = [SIMD4<Float>](repeating: .zero, count: count)
            for (joint, cluster) in deformers.clusters.enumerated() {
                for (point, weight) in zip(cluster.points, cluster.weights) {
                    let w = Float(weight)
                    guard point >= 0, Int(point) < count, w > 0, w.isFinite else {
                        skipped += 1
                        continue
                    }
                    insert(UInt16(joint), w, into: Int(point))
                }
            }
            let fallback = UInt16(deformers.clusters.count)
            for p in 0..<count {
                let sum = weights[p].sum()
                if sum > 0 {
                    weights[p] /= sum
                } else {
                    (joints[p], weights[p]) = (SIMD4(fallback, 0, 0, 0), SIMD4(1, 0, 0, 0))
                    unweighted = true
                }
            }
        }
        for channel in deformers.channels {
            var values = [SIMD3<Float>](repeating: .zero, count: count)
            for (i, point) in channel.points.enumerated() {
                guard point >= 0, Int(point) < count, 3 * i + 2 < channel.offsets.count else {
                    skipped += 1
                    continue
                }
                let o = geometric.direction(SIMD3(channel.offsets[3 * i..<3 * i + 3]))
                guard o.x.isFinite, o.y.isFinite, o.z.isFinite else {
                    skipped += 1
                    continue
                }
                values[Int(point)] = SIMD3<Float>(o)
            }
            offsets.append((channel.name, values))
        }
        if skipped > 0 { b.warn("\(skipped) skin weight(s) or shape offset(s) out of range were dropped") }
    }

    /// Keeps a point's four largest weights, sorted by descending weight.
    private mutating func insert(_ joint: UInt16, _ weight: Float, into p: Int) {
        var slot = 4
        while slot > 0, weights[p][slot - 1] < weight { slot -= 1 }
        guard slot < 4 else { return }
        var k = 3
        while k > slot {
            (weights[p][k], joints[p][k]) = (weights[p][k - 1], joints[p][k - 1])
            k -= 1
        }
        (weights[p][slot], joints[p][slot]) = (weight, joint)
    }

    /// Sets the joints, weights and morph targets of `primitive`, whose vertices were made from `points`.
    func apply(to primitive: inout Primitive, points: [Int32]) {
        if !joints.isEmpty {
            primitive.vertices.joints = points.map { joints[Int($0)] }
            primitive.vertices.weights = points.map { weights[Int($0)] }
        }
        primitive.targets = offsets.map { offset in
            var target = MorphTarget(name: offset.name)
            target.positions = points.map { offset.values[Int($0)] }
            return target
        }
    }
}
