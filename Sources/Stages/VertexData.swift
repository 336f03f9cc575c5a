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

/// Replaces every primitive of the scene by `transform` of it, one primitive per work item on at most `threads`
/// workers (results are placed by index, so the scene is the same for any thread count). A primitive for which
/// `transform` returns nil stays as it was; the (mesh, primitive) pairs of those are returned.
func transformPrimitives(
    _ scene: inout Scene, threads: Int,
    _ transform: @Sendable (Primitive) -> Primitive?
) -> [(mesh: Int, primitive: Int)] {
    let slots = scene.meshes.indices.flatMap { m in scene.meshes[m].primitives.indices.map { (mesh: m, primitive: $0) }
    }
    let input = scene.meshes
    let results = parallelMap(slots.count, threads: threads) { i in
        transform(input[slots[i].mesh].primitives[slots[i].primitive])
    }
    var unchanged: [(mesh: Int, primitive: Int)] = []
    for (i, slot) in slots.enumerated() {
        if let result = results[i] {
            scene.meshes[slot.mesh].primitives[slot.primitive] = result
        } else {
            unchanged.append(slot)
        }
    }
    return unchanged
}

extension Primitive {
    /// The index buffer, or 0..<vertexCount for an unindexed primitive.
    var effectiveIndices: [UInt32] {
        indices.isEmpty ? (0..<UInt32(vertexCount)).map { $0 } : indices
    }

    /// A copy holding only the vertices `sources` (old indices, in new order) with `newIndices` referring to them.
    func selectingVertices(_ sources: [Int], newIndices: [UInt32]) -> Primitive {
        func pick<T>(_ stream: [T]) -> [T] {
            guard !stream.isEmpty else { return [] }
            return stream.withUnsafeBufferPointer { from in
                sources.withUnsafeBufferPointer { sources in
                    [T](unsafeUninitializedCapacity: sources.count) { to, count in
                        for (k, v) in sources.enumerated() { (to.baseAddress! + k).initialize(to: from[v]) }
                        count = sources.count
                    }
                }
            }
        }
        var out = self
        out.indices = newIndices
        out.vertices.positions = pick(vertices.positions)
        out.vertices.normals = pick(vertices.normals)
        out.vertices.tangents = pick(vertices.tangents)
        out.vertices.texcoords = vertices.texcoords.map(pick)
        out.vertices.colors = pick(vertices.colors)
        out.vertices.joints = pick(vertices.joints)
        out.vertices.weights = pick(vertices.weights)
        out.targets = targets.map { t in
            var t = t
            t.positions = pick(t.positions)
            t.normals = pick(t.normals)
            t.tangents = pick(t.tangents)
            return t
        }
        return out
    }

    /// Keeps only the vertices `indices` use, in ascending original order (so the result is a subset of the input).
    func droppingUnusedVertices(_ indices: [UInt32]) -> Primitive {
        let vertexCount = vertexCount
        var used = [Bool](repeating: false, count: vertexCount)
        let usedCount = used.withUnsafeMutableBufferPointer { used in
            indices.withUnsafeBufferPointer { indices in
                var count = 0
                for i in indices where !used[Int(i)] {
                    used[Int(i)] = true
                    count += 1
                }
                return count
            }
        }
        if usedCount == vertexCount {  // every vertex stays where it is: no copy of the streams
            var out = self
            out.indices = indices
            return out
        }
        var newIndex = [UInt32](repeating: 0, count: vertexCount)
        var sources: [Int] = []
        sources.reserveCapacity(usedCount)
        for v in 0..<vertexCount where used[v] {
            newIndex[v] = UInt32(sources.count)
            sources.append(v)
        }
        return selectingVertices(sources, newIndices: indices.map { newIndex[Int($0)] })
    }
}
