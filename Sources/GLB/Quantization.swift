import Scene

/// Integer vertex storage (`KHR_mesh_quantization`); bit counts as gltfpack's -vp, -vt, -vn and -vc.
///
/// - Positions: UNSIGNED_SHORT on a uniform grid over each mesh's bounds (padded by its largest morph deltas); the grid's offset and scale are folded
///   into the referencing nodes (a node that also moves children, cameras, lights, joints or is animated gets
///   a new child node carrying the mesh), into each instance of an instanced node, and for skinned meshes into the
///   inverse bind matrices as well as the node (skinning ignores the node's transform; viewers bound and cull with it). Morph POSITION deltas use the same grid (SHORT, or float grid units when a delta
///   is too large).
/// - Texture coordinates: normalized UNSIGNED_SHORT over the bounds of each material's UV set, undone by a
///   `KHR_texture_transform` on the material's textures (declared required: without it UVs would be wrong).
///   Sets no texture of the material reads stay float.
/// - Normals and tangents: normalized BYTE (bits ≤ 8) or SHORT, padded to 4 or 8 bytes; with meshopt compression
///   they use the octahedral filter with `normalBits` precision.
/// - Colors: normalized UNSIGNED_BYTE (bits ≤ 8) or UNSIGNED_SHORT. Skin weights: normalized UNSIGNED_BYTE
///   summing exactly to 255.
public struct Quantization: Sendable, Equatable {
    public var positionBits: Int
    public var texcoordBits: Int
    public var normalBits: Int
    public var colorBits: Int

    public init(positionBits: Int = 14, texcoordBits: Int = 12, normalBits: Int = 8, colorBits: Int = 8) {
        self.positionBits = positionBits
        self.texcoordBits = texcoordBits
        self.normalBits = normalBits
        self.colorBits = colorBits
    }

    /// Allowed bit counts for positions, texture coordinates and colors.
    public static let bitRange = 1...16
    /// Allowed bit counts for normals and tangents (the octahedral filter needs at least 4).
    public static let normalBitRange = 4...16

    func check() throws {
        for (name, bits, range) in [
            ("position", positionBits, Self.bitRange), ("texcoord", texcoordBits, Self.bitRange),
            ("normal", normalBits, Self.normalBitRange), ("color", colorBits, Self.bitRange)
        ]
        where !range.contains(bits) {
            throw ProcessingError(
                .internal, "\(name) quantization uses \(bits) bits; allowed: \(range.lowerBound)...\(range.upperBound)")
        }
    }
}

/// Lossless-to-the-grid storage of mesh positions: `position ≈ offset + q · scale`, q in 0...2^bits − 1.
struct PositionGrid: Hashable {
    var offset: SIMD3<Float>
    var scale: Float
    var bits: Int

    init(bounds lo: SIMD3<Float>, _ hi: SIMD3<Float>, bits: Int) {
        let extent = (hi - lo).max()
        offset = lo
        scale = extent > 0 ? extent / Float((1 << bits) - 1) : 1
        self.bits = bits
    }

    func quantize(_ p: SIMD3<Float>) -> SIMD3<UInt16> {
        let limit = Float((1 << bits) - 1)
        let q = pointwiseMin(
            pointwiseMax(((p - offset) / scale).rounded(.toNearestOrEven), .zero), SIMD3(repeating: limit))
        return SIMD3(UInt16(q.x), UInt16(q.y), UInt16(q.z))  // per lane: the vector conversion is generic and slow
    }

    /// The dequantization as a node transform.
    var transform: Transform { .trs(translation: offset, rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(repeating: scale)) }
}

/// One UV set of one material: `uv = offset + (q / 65535) · textureScale`, the `KHR_texture_transform` values.
struct UVGrid: Equatable {
    var offset: SIMD2<Float>
    var range: SIMD2<Float>
    var bits: Int

    var textureScale: SIMD2<Float> { range * (65535 / Float((1 << bits) - 1)) }

    func quantize(_ uv: SIMD2<Float>) -> SIMD2<UInt16> {
        let limit = Float((1 << bits) - 1)
        let q = pointwiseMin(
            pointwiseMax(((finite(uv) - offset) / range * limit).rounded(.toNearestOrEven), .zero),
            SIMD2(repeating: limit))
        return SIMD2(UInt16(q.x), UInt16(q.y))
    }
}

/// The grids of a quantized scene, made while rewriting its nodes and skins to undo the position grids.
struct QuantizationPlan {
    var settings: Quantization
    /// Position grid by mesh index.
    var positions: [Int: PositionGrid] = [:]
    /// UV grids by material index, then by TEXCOORD set.
    var texcoords: [Int: [Int: UVGrid]] = [:]

    /// Computes the grids and rewrites `scene` (nodes, skins, weight animations) so the dequantized result lands
    /// where the float data did.
    init(scene: inout Scene, settings: Quantization) throws {
        try settings.check()
        self.settings = settings
        for (m, mesh) in scene.meshes.enumerated() {
            var lo = SIMD3<Float>(repeating: .infinity)
            var hi = SIMD3<Float>(repeating: -.infinity)
            // The grid spans the base shape padded on each side by the largest morph delta per axis (gltfpack's rule),
            // so the same bits mean the same precision over the same extent.
            var pad = SIMD3<Float>(repeating: 0)
            for primitive in mesh.primitives {
                for p in primitive.vertices.positions {
                    lo = pointwiseMin(lo, p)
                    hi = pointwiseMax(hi, p)
                }
                for target in primitive.targets {
                    for delta in target.positions { pad = pointwiseMax(pad, pointwiseMax(delta, -delta)) }
                }
            }
            lo -= pad
            hi += pad
            // Empty or non-finite meshes keep float positions; the writer reports the latter.
            guard lo.x.isFinite, lo.y.isFinite, lo.z.isFinite, hi.x.isFinite, hi.y.isFinite, hi.z.isFinite else {
                continue
            }
            positions[m] = PositionGrid(bounds: lo, hi, bits: settings.positionBits)
        }
        texcoords = Self.uvGrids(scene, bits: settings.texcoordBits)
        rewriteNodes(&scene)
    }

    /// Bounds of each (material, set) pair that some texture of the material reads.
    static func uvGrids(_ scene: Scene, bits: Int) -> [Int: [Int: UVGrid]] {
        var bounds: [Int: [Int: (SIMD2<Float>, SIMD2<Float>)]] = [:]
        for mesh in scene.meshes {
            for primitive in mesh.primitives where !primitive.vertices.positions.isEmpty {
                guard let m = primitive.material, m >= 0, m < scene.materials.count else { continue }
                for set in scene.materials[m].texCoordSets where set < primitive.vertices.texcoords.count {
                    for uv in primitive.vertices.texcoords[set] {
                        let v = finite(uv)
                        let (lo, hi) = bounds[m]?[set] ?? (v, v)
                        bounds[m, default: [:]][set] = (pointwiseMin(lo, v), pointwiseMax(hi, v))
                    }
                }
            }
        }
        return bounds.mapValues { sets in
            sets.mapValues { lo, hi in
                let range = hi - lo
                return UVGrid(
                    offset: lo, range: SIMD2(range.x > 0 ? range.x : 1, range.y > 0 ? range.y : 1), bits: bits)
            }
        }
    }

    /// Folds each mesh's grid into the nodes that draw it (or into inverse bind matrices when skinned).
    func rewriteNodes(_ scene: inout Scene) {
        var animated: Set<Int> = []
        for animation in scene.animations {
            for channel in animation.channels where channel.path != .weights { animated.insert(channel.node) }
        }
        var joints: Set<Int> = []
        for skin in scene.skins {
            joints.formUnion(skin.joints)
            if let skeleton = skin.skeleton { joints.insert(skeleton) }
        }
        struct SkinKey: Hashable { var skin: Int, grid: PositionGrid }
        var skinFor: [SkinKey: Int] = [:]
        var skinUsed: Set<Int> = []
        var moved: [Int: Int] = [:]  // node → new child carrying its mesh
        let originalSkins = scene.skins

        for i in scene.nodes.indices {
            guard let m = scene.nodes[i].mesh, let grid = positions[m] else { continue }
            if let s = scene.nodes[i].skin, s >= 0, s < originalSkins.count {
                let key = SkinKey(skin: s, grid: grid)
                if let existing = skinFor[key] {
                    scene.nodes[i].skin = existing
                } else {
                    var skin = originalSkins[s]
                    let base =
                        skin.inverseBindMatrices.isEmpty
                        ? [Matrix4](repeating: .identity, count: skin.joints.count) : skin.inverseBindMatrices
                    skin.inverseBindMatrices = base.map { $0 * grid.transform.matrix }
                    let index: Int
                    if skinUsed.insert(s).inserted {
                        index = s
                        scene.skins[s] = skin
                    } else {
                        index = scene.skins.count
                        scene.skins.append(skin)
                    }
                    skinFor[key] = index
                    scene.nodes[i].skin = index
                }
                // Skinning ignores the node's transform, but viewers bound, frame and cull the mesh with it (as
                // gltfpack does): the grid goes on the node too, below, as for a rigid mesh.
            }
            let node = scene.nodes[i]
            if !node.instances.isEmpty {
                // Instance transforms apply to the mesh before the node's: the grid goes into each of them.
                scene.nodes[i].instances = node.instances.map { instance in
                    guard
                        case let .trs(t, r, s) = Self.fold(
                            .trs(
                                translation: instance.translation, rotation: instance.rotation,
                                scale: instance.scale), grid)
                    else { return instance }
                    return InstanceTransform(translation: t, rotation: r, scale: s)
                }
                continue
            }
            let foldable =
                node.children.isEmpty && node.camera == nil && node.light == nil
                && !joints.contains(i) && !animated.contains(i)
            if foldable {
                scene.nodes[i].transform = Self.fold(node.transform, grid)
            } else {
                var child = Node(name: node.name)
                child.mesh = m
                child.skin = scene.nodes[i].skin
                child.transform = grid.transform
                scene.nodes[i].mesh = nil
                scene.nodes[i].skin = nil
                scene.nodes[i].children.append(scene.nodes.count)
                moved[i] = scene.nodes.count
                scene.nodes.append(child)
            }
        }
        for a in scene.animations.indices {
            for c in scene.animations[a].channels.indices where scene.animations[a].channels[c].path == .weights {
                if let child = moved[scene.animations[a].channels[c].node] {
                    scene.animations[a].channels[c].node = child
                }
            }
        }
    }

    /// `transform · grid`, kept decomposed when it was (the grid's scale is uniform, so TRS stays TRS).
    static func fold(_ transform: Transform, _ grid: PositionGrid) -> Transform {
        switch transform {
        case .matrix(let m):
            return .matrix(m * grid.transform.matrix)
        case let .trs(t, r, s):
            let rotated = Matrix4(translation: .zero, rotation: r, scale: .one).transformPoint(s * grid.offset)
            return .trs(translation: t + rotated, rotation: r, scale: s * grid.scale)
        }
    }
}

extension Material {
    /// The TEXCOORD sets this material's textures read.
    var texCoordSets: Set<Int> {
        Set(
            ([baseColorTexture, metallicRoughnessTexture, normalTexture, occlusionTexture, emissiveTexture].compactMap {
                $0
            }
                + extensionTextures.map(\.ref)).map { $0.transform?.texCoord ?? $0.texCoord }.filter { $0 >= 0 })
    }
}
