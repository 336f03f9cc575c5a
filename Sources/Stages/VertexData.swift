import Scene

/// Checks that every primitive's streams match its vertex count and its indices are in range,
/// so the C library never reads out of bounds.
func validateGeometry(_ scene: Scene) throws {
    for (m, mesh) in scene.meshes.enumerated() {
        for (p, prim) in mesh.primitives.enumerated() {
            let n = prim.vertexCount
            func fail(_ problem: String) -> ProcessingError {
                ProcessingError(.badInput, "mesh \(m) '\(mesh.name)' primitive \(p): \(problem)")
            }
            let v = prim.vertices
            let counts =
                [v.normals.count, v.tangents.count, v.colors.count, v.joints.count, v.weights.count]
                + v.texcoords.map(\.count)
                + prim.targets.flatMap { [$0.positions.count, $0.normals.count, $0.tangents.count] }
            if counts.contains(where: { $0 != 0 && $0 != n }) {
                throw fail("a vertex stream's length differs from its \(n) positions")
            }
            if let bad = prim.indices.first(where: { Int($0) >= n }) {
                throw fail("index \(bad) out of range for \(n) vertices")
            }
            let perPrimitive = prim.mode == .triangles ? 3 : prim.mode == .lines ? 2 : 1
            if prim.indices.count % perPrimitive != 0 {
                throw fail("\(prim.indices.count) indices is not a multiple of \(perPrimitive)")
            }
        }
    }
}

/// Runs `transform` on every primitive of the scene in place, one primitive per work item on at most `threads`
/// workers (each primitive is moved out of the scene while it is worked on, so its buffers have one owner and
/// nothing old stays alive beside the new; the scene is the same for any thread count). A primitive for which
/// `transform` returns false must be left as it was; the (mesh, primitive) pairs of those are returned.
func transformPrimitives(
    _ scene: inout Scene, threads: Int,
    _ transform: @Sendable (inout Primitive) -> Bool
) -> [(mesh: Int, primitive: Int)] {
    let slots = scene.meshes.indices.flatMap { m in scene.meshes[m].primitives.indices.map { (mesh: m, primitive: $0) }
    }
    let work = Slots<Primitive>(slots.count)
    for (i, slot) in slots.enumerated() {
        var primitive = Primitive()
        swap(&primitive, &scene.meshes[slot.mesh].primitives[slot.primitive])
        work[i] = primitive
    }
    let changed = parallelMap(slots.count, threads: threads) { i in
        var primitive = work.take(i)!
        defer { work[i] = primitive }
        return transform(&primitive)
    }
    var unchanged: [(mesh: Int, primitive: Int)] = []
    for (i, slot) in slots.enumerated() {
        scene.meshes[slot.mesh].primitives[slot.primitive] = work.take(i)!
        if !changed[i] { unchanged.append(slot) }
    }
    return unchanged
}

extension Primitive {
    /// The index buffer, or 0..<vertexCount for an unindexed primitive.
    var effectiveIndices: [UInt32] {
        indices.isEmpty ? (0..<UInt32(vertexCount)).map { $0 } : indices
    }
}
