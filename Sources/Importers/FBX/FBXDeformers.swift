import FoundationEssentials
import ImportSupport
import Scene

/// What deforms one Geometry: skin clusters (`Deformer` Skin → `Deformer` Cluster ← bone Model) and blend shapes
/// (`Deformer` BlendShape → `Deformer` BlendShapeChannel → `Geometry` Shape), as connected in 7.x files.
struct FBXDeformers {
    /// One cluster: the weights of some control points for one joint.
    struct Cluster {
        /// Index into `joints`.
        var joint: Int
        var points: [Int32]
        var weights: [Double]
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

    /// The skin's joints (bone nodes, each once) and their inverse bind matrices: each bone's cluster `Transform`,
    /// from the mesh's node (its geometric transform is in the vertices already) into the bone's space at bind time.
    var joints: [Int] = []
    var inverseBinds: [Matrix4] = []
    var clusters: [Cluster] = []
    var channels: [Channel] = []

    var isEmpty: Bool { clusters.isEmpty && channels.isEmpty }
}

extension FBXSceneBuilder {
    /// The deformers of `geometry` (document node `node`). A cluster whose bone is not in the scene is dropped with a
    /// warning, as are in-between shapes (only a channel's full shape is kept) and deformer kinds glTF has no
    /// counterpart for. FBX 6.x blend shapes are `Shape` children of the geometry itself (at weight 0); FBX 5 skins
    /// (`Link` children, whose bones keep their transforms in the animation takes) are dropped with a warning.
    mutating func deformers(of geometry: FBXKey, node: Int, nodeOfModel: [FBXKey: Int]) throws -> FBXDeformers {
        var result = FBXDeformers()
        var jointOfBone: [Int: Int] = [:]
        for (deformerKey, deformer, _) in children(of: geometry, kind: "Deformer") {
            switch deformer.subclass {
            case "Skin":
                for (key, cluster, _) in children(of: deformerKey, kind: "Deformer") where cluster.subclass == "Cluster"
                {
                    guard let bone = children(of: key, kind: "Model").first.flatMap({ nodeOfModel[$0.0] }) else {
                        warn("skin cluster '\(cluster.name)' has no bone in the scene; its weights were dropped")
                        continue
                    }
                    let joint: Int
                    if let known = jointOfBone[bone] {
                        joint = known
                    } else {
                        guard result.joints.count < Int(UInt16.max) - 1 else {
                            warn("a skin has more than \(UInt16.max - 1) bones; the rest were dropped")
                            break
                        }
                        var inverseBind = try matrix(cluster.node, "Transform")?.matrix4 ?? .identity
                        if !inverseBind.columnMajor.allSatisfy({ $0.isFinite }) {
                            warn("skin cluster '\(cluster.name)' has a bind matrix that is not finite; identity used")
                            inverseBind = .identity
                        }
                        joint = result.joints.count
                        jointOfBone[bone] = joint
                        result.joints.append(bone)
                        result.inverseBinds.append(inverseBind)
                    }
                    result.clusters.append(
                        FBXDeformers.Cluster(
                            joint: joint, points: try array(cluster.node, "Indexes"),
                            weights: try array(cluster.node, "Weights")))
                }
            case "BlendShape":
                for (key, channel, _) in children(of: deformerKey, kind: "Deformer")
                where channel.subclass == "BlendShapeChannel" {
                    let shapes = children(of: key, kind: "Geometry").filter { $0.1.subclass == "Shape" }
                    // The full shape: the one at the largest `FullWeights` entry (in-betweens come before it).
                    let full: [Double] = try array(channel.node, "FullWeights")
                    let pick =
                        full.count == shapes.count ? full.indices.max { (full[$0], $0) < (full[$1], $1) } : nil
                    guard let shape = (pick.map { shapes[$0] } ?? shapes.last)?.1 else { continue }
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
        guard isLegacy else { return result }
        for shape in doc.children(node, "Shape") {
            let name = doc[shape].values.first?.text ?? ""
            result.channels.append(
                FBXDeformers.Channel(
                    key: .name("Shape::" + name), name: name, weight: 0, points: try array(shape, "Indexes"),
                    offsets: try array(shape, "Vertices")))
        }
        if doc.child(node, "Link") != nil { warn("FBX \(doc.version) skin (Link) is not converted; dropped") }
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
    /// Empty unless the mesh has clusters.
    private var influences = SkinInfluences(vertices: 0)
    private var offsets: [(name: String, values: [SIMD3<Float>])] = []
    /// The joint of vertices whose point no cluster weighs (the mesh's own node).
    private let fallbackJoint: UInt16
    /// Some vertex was bound to `fallbackJoint`.
    private(set) var usedFallback = false

    init(
        _ deformers: FBXDeformers, points count: Int, geometric: DMatrix, fallbackJoint: Int,
        _ b: inout FBXSceneBuilder
    ) {
        self.fallbackJoint = UInt16(clamping: fallbackJoint)
        var skipped = 0
        if !deformers.clusters.isEmpty {
            influences = SkinInfluences(vertices: count)
            for cluster in deformers.clusters {
                for (point, weight) in zip(cluster.points, cluster.weights) {
                    let w = Float(weight)
                    guard point >= 0, Int(point) < count, w.isFinite else {
                        skipped += 1
                        continue
                    }
                    influences.add(joint: UInt16(cluster.joint), weight: w, to: Int(point))
                }
            }
            influences.normalize()
        }
        for channel in deformers.channels {
            var values = [SIMD3<Float>](repeating: .zero, count: count)
            for (i, point) in channel.points.enumerated() {
                guard point >= 0, Int(point) < count, 3 * i + 2 < channel.offsets.count else {
                    skipped += 1
                    continue
                }
                let o = SIMD3<Float>(geometric.direction(SIMD3(channel.offsets[3 * i..<3 * i + 3])))
                guard o.x.isFinite, o.y.isFinite, o.z.isFinite else {
                    skipped += 1
                    continue
                }
                values[Int(point)] = o
            }
            offsets.append((channel.name, values))
        }
        if skipped > 0 { b.warn("\(skipped) skin weight(s) or shape offset(s) out of range were dropped") }
    }

    /// Sets the joints, weights and morph targets of `primitive`, whose vertices were made from `points`.
    mutating func apply(to primitive: inout Primitive, points: [Int32]) {
        if !influences.weights.isEmpty {
            let (joints, weights) = (influences.joints, influences.weights)  // per point
            primitive.vertices.joints = points.map { joints[Int($0)] }
            primitive.vertices.weights = points.map { weights[Int($0)] }
            for v in primitive.vertices.weights.indices where primitive.vertices.weights[v] == .zero {
                (primitive.vertices.joints[v], primitive.vertices.weights[v]) = (
                    SIMD4(fallbackJoint, 0, 0, 0), SIMD4(1, 0, 0, 0)
                )
                usedFallback = true
            }
        }
        primitive.targets = offsets.map { offset in
            var target = MorphTarget(name: offset.name)
            target.positions = points.map { offset.values[Int($0)] }
            return target
        }
    }
}
