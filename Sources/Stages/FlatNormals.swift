import Scene

/// Drops NORMAL where it only repeats what a viewer computes itself: glTF viewers draw a triangle primitive without
/// normals with flat normals (each triangle's own, glTF 2.0 § 3.7.2.1), so where every vertex normal is the face
/// normal of each triangle using the vertex, the picture stays the same without them; with `weld`, the primitive is
/// then welded, sharing the vertices the normals split (a cube's 24 become 8).
///
/// It runs after simplification: the split vertices are seams the simplifier keeps, as gltfpack's (which keeps the
/// normals) does; welded first, a thin box could fold flat at a small error by the simplifier's measure.
///
/// A primitive qualifies when every non-degenerate triangle's corner normals lie within `flatNormalTolerance` (1°) of
/// its face normal, and, when positions will be stored on a grid of `positionBits` over the mesh's bounds
/// (quantization, Draco), the grid provably cannot tilt any triangle by more than another 1° (a primitive with small
/// or thin triangles off the grid's axes keeps its normals). Meshes with morph targets, and primitives whose material
/// or a variant's has a normal map or other extensions (which read the normals' tangent frame), keep theirs. A skinned
/// mesh then shades each deformed triangle flat, as its normals did at rest.
public func dropFlatNormals(_ scene: inout Scene, positionBits: Int?, weld: Bool, threads: Int) -> StageReport {
    runStage("drop flat normals", &scene) { scene in
        var dropped = 0
        for m in scene.meshes.indices {
            let mesh = scene.meshes[m]
            guard !mesh.primitives.contains(where: { !$0.targets.isEmpty }) else { continue }
            let step = positionBits.map { gridStep(mesh, bits: $0) } ?? 0
            for p in mesh.primitives.indices {
                let primitive = mesh.primitives[p]
                guard primitive.mode == .triangles, !primitive.vertices.normals.isEmpty else { continue }
                // Its material and every KHR_materials_variants alternative.
                let materials = ([primitive.material] + primitive.variantMaterials.map(\.material)).compactMap { $0 }
                guard
                    !materials.contains(where: { m in
                        m >= 0 && m < scene.materials.count
                            && (scene.materials[m].normalTexture != nil || !scene.materials[m].extensions.isEmpty)
                    })
                else { continue }
                guard hasFlatNormals(primitive, gridStep: step) else { continue }
                scene.meshes[m].primitives[p].vertices.normals = []
                if weld { _ = Stages.weld(&scene.meshes[m].primitives[p], threads: threads) }
                dropped += 1
            }
        }
        return (nil, dropped > 0 ? ["dropped NORMAL (flat: viewers compute it) from \(dropped) primitive(s)"] : [])
    }
}

/// The largest angle between a normal dropped and its triangle's exact face normal (and, on a grid, the most the grid
/// may tilt the triangle): 1°, as its cosine and sine.
let flatNormalTolerance = (cosine: 0.999_847_695_156_391_2, sine: 0.017_452_406_437_283_51)

/// The step of the position grid the encoder puts `mesh` on: its bounds' longest side over 2^bits − 1.
private func gridStep(_ mesh: Mesh, bits: Int) -> Double {
    var lo = SIMD3<Float>(repeating: .infinity)
    var hi = SIMD3<Float>(repeating: -.infinity)
    for primitive in mesh.primitives {
        for p in primitive.vertices.positions {
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
    }
    let side = hi - lo
    return Double(max(side.x, side.y, side.z)) / Double((1 << bits) - 1)
}

/// Whether every corner normal is its triangle's face normal (see `dropFlatNormals`); stops at the first that is
/// not, so smooth meshes cost one triangle.
///
/// On a grid of step h each coordinate moves by at most h/2, and two coordinates that are equal move alike. Only
/// moves across a triangle's plane tilt it: relative to corner a, corner v moves across by at most
/// D_v = h · Σ |n_k| over the axes k where v's coordinate differs from a's, so the plane tilts by at most
/// (D_b·|e2| + D_c·|e1|) / |e1 × e2| (e1 = b − a, e2 = c − a; a is the corner opposite the longest edge); that
/// tilt, plus 10 % for the second-order terms, must stay within the tolerance.
private func hasFlatNormals(_ primitive: Primitive, gridStep h: Double) -> Bool {
    let positions = primitive.vertices.positions
    let normals = primitive.vertices.normals
    let indices = primitive.effectiveIndices
    let (cosine, sine) = flatNormalTolerance
    var faces = 0
    for t in stride(from: 0, to: indices.count - indices.count % 3, by: 3) {
        let corners = (Int(indices[t]), Int(indices[t + 1]), Int(indices[t + 2]))
        let p = (positions[corners.0], positions[corners.1], positions[corners.2])
        let q = (SIMD3<Double>(p.0), SIMD3<Double>(p.1), SIMD3<Double>(p.2))
        let face = cross(q.1 - q.0, q.2 - q.0)
        let area2 = length(face)
        guard area2.isFinite else { return false }
        if area2 == 0 { continue }  // draws nothing
        let unit = face / area2
        func agrees(_ v: Int) -> Bool {
            let n = SIMD3<Double>(normals[v])
            let size = length(n)
            return size > 0 && size.isFinite && dot(unit, n) >= cosine * size
        }
        guard agrees(corners.0), agrees(corners.1), agrees(corners.2) else { return false }
        if h > 0 {
            // Corner a opposite the longest edge (edge k joins corners k + 1 and k + 2), then the tilt bound.
            let edges = SIMD3(length(q.2 - q.1), length(q.0 - q.2), length(q.1 - q.0))
            let a = edges[0] >= edges[1] && edges[0] >= edges[2] ? 0 : edges[1] >= edges[2] ? 1 : 2
            let (pa, pb, pc) = a == 0 ? (p.0, p.1, p.2) : a == 1 ? (p.1, p.2, p.0) : (p.2, p.0, p.1)
            func across(_ v: SIMD3<Float>) -> Double {
                var d = 0.0
                for k in 0..<3 where v[k] != pa[k] { d += abs(unit[k]) }
                return h * d
            }
            // e1 = b − a and e2 = c − a: the edges opposite c and b.
            let (e1, e2) = (edges[(a + 2) % 3], edges[(a + 1) % 3])
            guard 1.1 * (across(pb) * e2 + across(pc) * e1) <= area2 * sine else { return false }
        }
        faces += 1
    }
    return faces > 0
}
