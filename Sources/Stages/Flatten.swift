import Scene

/// Bakes the meshes of static nodes into one mesh on one new root node, as gltfpack does by default (`--flatten`,
/// on in `--preset web`). Each such node's world transform is applied to its vertices (normals through the normal
/// matrix, tangents through the linear part, winding reversed under a mirror), the node lets go of its mesh, and
/// nodes this leaves with nothing to carry are removed. Primitive merging then joins what draws alike, so a scene
/// of many static parts becomes a few draws: less JSON, one quantization grid, better compression. What is drawn,
/// and where, does not change.
///
/// A mesh stays on its node when the node or an ancestor is animated; when the node is skinned, instanced, a joint
/// or skeleton root, or has extras; when the mesh has morph targets, material variants
/// or extras, or other nodes draw it and copies would add more than `maxCopiedVertices`; when the node is not
/// reachable from the scene's roots; or when its world transform is not finite or is singular. Nodes that were
/// empty before (locators) are kept.
public func flattenStaticNodes(_ scene: inout Scene) -> StageReport {
    runStage("flatten", &scene) { scene in
        // Nothing to bake together unless two nodes draw meshes: a single-mesh scene (the large scans) costs nothing.
        guard scene.nodes.count(where: { $0.mesh != nil }) >= 2 else { return (nil, []) }
        let world = scene.worldTransforms()
        let referenced = referencedNodes(scene)
        let movable = staticMeshNodes(scene, world: world, referenced: referenced)
        guard movable.count >= 2 else { return (nil, []) }

        var merged = Mesh()
        for node in movable {
            let matrix = world[node]
            for primitive in scene.meshes[scene.nodes[node].mesh!].primitives {
                merged.primitives.append(matrix == .identity ? primitive : primitive.baked(matrix))
            }
        }
        for node in movable { scene.nodes[node].mesh = nil }

        // Keep the meshes some node still draws, in order; the merged one last.
        let drawn = Set(scene.nodes.compactMap(\.mesh))
        var meshMap = [Int?](repeating: nil, count: scene.meshes.count)
        var meshes: [Mesh] = []
        for (m, mesh) in scene.meshes.enumerated() where drawn.contains(m) {
            meshMap[m] = meshes.count
            meshes.append(mesh)
        }
        scene.meshes = meshes + [merged]
        for n in scene.nodes.indices { scene.nodes[n].mesh = scene.nodes[n].mesh.map { meshMap[$0]! } }

        let removed = emptiedNodes(scene, moved: Set(movable), referenced: referenced)
        removeNodes(&scene, removed)
        var root = Node()
        root.mesh = scene.meshes.count - 1
        scene.nodes.append(root)
        scene.roots.append(scene.nodes.count - 1)
        return (
            nil,
            [
                "baked the meshes of \(movable.count) static nodes into one mesh on one node; removed \(removed.count) nodes left empty"
            ]
        )
    }
}

/// How many vertices baking may copy for a mesh several nodes draw ((nodes − 1) × its vertices): a small part
/// drawn a few times costs less as copies than as nodes, meshes and accessors; a large one stays shared.
let maxCopiedVertices = 1_024

private func vertexCount(_ mesh: Mesh) -> Int { mesh.primitives.reduce(0) { $0 + $1.vertexCount } }

/// The reachable nodes whose mesh can move to the root, in node order (see `flattenStaticNodes`).
private func staticMeshNodes(_ scene: Scene, world: [Matrix4], referenced: Set<Int>) -> [Int] {
    let count = scene.nodes.count
    var pinned = [Bool](repeating: false, count: count)  // animated, or below an animated node
    var reachable = [Bool](repeating: false, count: count)
    var animated = Set<Int>()
    for animation in scene.animations { animated.formUnion(animation.channels.map(\.node)) }
    var stack = scene.roots.map { ($0, false) }
    while let (node, parentPinned) = stack.popLast() {
        guard node >= 0, node < count, !reachable[node] else { continue }
        reachable[node] = true
        pinned[node] = parentPinned || animated.contains(node)
        for child in scene.nodes[node].children { stack.append((child, pinned[node])) }
    }
    var users = [Int](repeating: 0, count: scene.meshes.count)
    for node in scene.nodes { if let m = node.mesh, m >= 0, m < users.count { users[m] += 1 } }

    return scene.nodes.indices.filter { n in
        let node = scene.nodes[n]
        guard reachable[n], !pinned[n], !referenced.contains(n), let m = node.mesh, m >= 0, m < users.count,
            (users[m] - 1) * vertexCount(scene.meshes[m]) <= maxCopiedVertices, node.skin == nil,
            node.instances.isEmpty, node.extras == nil
        else { return false }
        let mesh = scene.meshes[m]
        guard mesh.extras == nil, mesh.weights.isEmpty,
            mesh.primitives.allSatisfy({ $0.targets.isEmpty && $0.variantMaterials.isEmpty })
        else { return false }
        let matrix = world[n]
        return matrix.columnMajor.allSatisfy(\.isFinite) && matrix.determinant3 != 0
    }
}

/// Nodes with nothing left to carry after their mesh moved (or all their children went), and nothing that refers to
/// them: no camera, light, skin, instances or extras, and not among `referenced` (animated, joints, skeleton roots).
private func emptiedNodes(_ scene: Scene, moved: Set<Int>, referenced: Set<Int>) -> Set<Int> {
    // Children before parents: the reverse of a depth-first preorder from the roots.
    var order: [Int] = []
    var seen = Set<Int>()
    var stack = scene.roots
    while let node = stack.popLast() {
        guard node >= 0, node < scene.nodes.count, seen.insert(node).inserted else { continue }
        order.append(node)
        stack += scene.nodes[node].children
    }
    var removed = Set<Int>()
    for n in order.reversed() {
        let node = scene.nodes[n]
        guard moved.contains(n) || !node.children.isEmpty, node.children.allSatisfy({ removed.contains($0) }),
            node.mesh == nil, node.camera == nil, node.light == nil, node.skin == nil, node.instances.isEmpty,
            node.extras == nil, !referenced.contains(n)
        else { continue }
        removed.insert(n)
    }
    return removed
}

extension Primitive {
    /// The primitive with `matrix` applied to its vertices: positions, normals (normal matrix, renormalized) and
    /// tangents (linear part, renormalized; handedness flipped under a mirror, as is the triangle winding).
    fileprivate func baked(_ matrix: Matrix4) -> Primitive {
        var out = self
        let normalMatrix = matrix.normalMatrix
        let linear = matrix.linearColumns
        let mirrored = matrix.determinant3 < 0
        out.vertices.positions = vertices.positions.map(matrix.transformPoint)
        out.vertices.normals = vertices.normals.map { n in
            normalize(normalMatrix.0 * n.x + normalMatrix.1 * n.y + normalMatrix.2 * n.z, fallback: n)
        }
        out.vertices.tangents = vertices.tangents.map { t in
            let xyz = normalize(linear.0 * t.x + linear.1 * t.y + linear.2 * t.z, fallback: SIMD3(t.x, t.y, t.z))
            return SIMD4(xyz, mirrored ? -t.w : t.w)
        }
        if mirrored, mode == .triangles {
            out.indices = effectiveIndices
            for corner in stride(from: 0, to: out.indices.count - 2, by: 3) {
                out.indices.swapAt(corner + 1, corner + 2)
            }
        }
        return out
    }
}
