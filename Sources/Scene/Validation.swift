/// Checks what an importer returned before any stage sees it, so no later code traps on it: every index in range,
/// every vertex stream as long as the positions, index counts that fit the primitive mode, finite numbers, and a
/// node graph that is a forest (no cycles, no node with two parents). Linear in the scene's size, no recursion.
///
/// Throws `ProcessingError(.badInput, file: file, …)` naming the first problem. Non-finite transforms, and world
/// transforms that overflow `Float` along the hierarchy, are refused rather than written as zeros.
public func validateScene(_ scene: Scene, file: String) throws {
    func fail(_ problem: String) -> ProcessingError {
        ProcessingError(.badInput, file: file, "invalid scene: \(problem)")
    }
    func check(_ index: Int?, _ count: Int, _ what: @autoclosure () -> String) throws {
        if let index, index < 0 || index >= count { throw fail("\(what()) \(index) out of range (\(count))") }
    }

    try validateHierarchy(scene, fail: fail)
    for (n, node) in scene.nodes.enumerated() {
        try check(node.mesh, scene.meshes.count, "node \(n) mesh")
        try check(node.skin, scene.skins.count, "node \(n) skin")
        try check(node.camera, scene.cameras.count, "node \(n) camera")
        try check(node.light, scene.lights.count, "node \(n) light")
        switch node.transform {
        case .matrix(let m):
            guard m.columnMajor.allSatisfy(\.isFinite) else { throw fail("node \(n) has a non-finite matrix") }
        case let .trs(t, r, s):
            guard allFinite(t), allFinite(r), allFinite(s) else {
                throw fail("node \(n) has a non-finite translation, rotation or scale")
            }
        }
        for instance in node.instances
        where !(allFinite(instance.translation) && allFinite(instance.rotation) && allFinite(instance.scale)) {
            throw fail("node \(n) has a non-finite instance transform")
        }
    }
    for (n, world) in scene.worldTransforms().enumerated() where !world.columnMajor.allSatisfy(\.isFinite) {
        throw fail("node \(n)'s world transform overflows (scales multiplied along the hierarchy exceed Float's range)")
    }

    for (m, mesh) in scene.meshes.enumerated() {
        guard mesh.weights.allSatisfy(\.isFinite) else { throw fail("mesh \(m) has non-finite morph weights") }
        for (p, primitive) in mesh.primitives.enumerated() {
            try validatePrimitive(primitive, materials: scene.materials.count) {
                fail("mesh \(m) primitive \(p): \($0)")
            }
        }
    }
    for (i, material) in scene.materials.enumerated() {
        for ref in [
            material.baseColorTexture, material.metallicRoughnessTexture, material.normalTexture,
            material.occlusionTexture, material.emissiveTexture
        ] {
            try check(ref?.texture, scene.textures.count, "material \(i) texture")
            if let ref, ref.texCoord < 0 { throw fail("material \(i) uses TEXCOORD_\(ref.texCoord)") }
        }
        let factors = [
            material.metallicFactor, material.roughnessFactor, material.normalScale,
            material.occlusionStrength, material.alphaCutoff
        ]
        guard allFinite(material.baseColorFactor), allFinite(material.emissiveFactor), factors.allSatisfy(\.isFinite)
        else {
            throw fail("material \(i) has a non-finite factor")
        }
    }
    for (t, texture) in scene.textures.enumerated() {
        try check(texture.image, scene.images.count, "texture \(t) image")
        try check(texture.webpSource, scene.images.count, "texture \(t) WebP image")
        try check(texture.sampler, scene.samplers.count, "texture \(t) sampler")
    }
    for (s, skin) in scene.skins.enumerated() {
        for joint in skin.joints { try check(joint, scene.nodes.count, "skin \(s) joint") }
        try check(skin.skeleton, scene.nodes.count, "skin \(s) skeleton")
        guard skin.inverseBindMatrices.isEmpty || skin.inverseBindMatrices.count == skin.joints.count else {
            throw fail(
                "skin \(s) has \(skin.inverseBindMatrices.count) inverse bind matrices for \(skin.joints.count) joints")
        }
        guard skin.inverseBindMatrices.allSatisfy({ $0.columnMajor.allSatisfy(\.isFinite) }) else {
            throw fail("skin \(s) has a non-finite inverse bind matrix")
        }
    }
    for (n, node) in scene.nodes.enumerated() {
        guard let skin = node.skin, let mesh = node.mesh else { continue }
        let joints = scene.skins[skin].joints.count
        for primitive in scene.meshes[mesh].primitives
        where primitive.vertices.joints.contains(where: { Int(max($0.x, $0.y, $0.z, $0.w)) >= joints }) {
            throw fail("node \(n) draws a joint index beyond its skin's \(joints) joints")
        }
    }
    for (a, animation) in scene.animations.enumerated() {
        for (c, channel) in animation.channels.enumerated() {
            try check(channel.node, scene.nodes.count, "animation \(a) channel \(c) node")
            guard channel.times.allSatisfy(\.isFinite), channel.values.allSatisfy(\.isFinite) else {
                throw fail("animation \(a) channel \(c) has non-finite keys")
            }
        }
    }
}

/// Roots and children in range, every node at most one parent (roots none), and no cycle: with single parents, a
/// node that no walk from a parentless node reaches sits on a cycle.
private func validateHierarchy(_ scene: Scene, fail: (String) -> ProcessingError) throws {
    let count = scene.nodes.count
    var parent = [Int](repeating: -1, count: count)
    var isRoot = [Bool](repeating: false, count: count)
    for root in scene.roots {
        guard root >= 0, root < count else { throw fail("root \(root) out of range (\(count) nodes)") }
        guard !isRoot[root] else { throw fail("node \(root) is listed twice as a root") }
        isRoot[root] = true
    }
    for (n, node) in scene.nodes.enumerated() {
        for child in node.children {
            guard child >= 0, child < count else {
                throw fail("node \(n) child \(child) out of range (\(count) nodes)")
            }
            guard parent[child] < 0, !isRoot[child] else { throw fail("node \(child) has more than one parent") }
            parent[child] = n
        }
    }
    var reached = [Bool](repeating: false, count: count)
    var stack = (0..<count).filter { parent[$0] < 0 }
    while let n = stack.popLast() {
        reached[n] = true
        stack += scene.nodes[n].children
    }
    if let n = reached.firstIndex(of: false) { throw fail("the node hierarchy has a cycle through node \(n)") }
}

private func validatePrimitive(_ p: Primitive, materials: Int, fail: (String) -> ProcessingError) throws {
    if let material = p.material, material < 0 || material >= materials {
        throw fail("material \(material) out of range (\(materials))")
    }
    let n = p.vertexCount
    let v = p.vertices
    let lengths =
        [v.normals.count, v.tangents.count, v.colors.count, v.joints.count, v.weights.count]
        + v.texcoords.map(\.count) + p.targets.flatMap { [$0.positions.count, $0.normals.count, $0.tangents.count] }
    if lengths.contains(where: { $0 != 0 && $0 != n }) {
        throw fail("a vertex stream's length differs from its \(n) positions")
    }
    if n > Int(UInt32.max) { throw fail("\(n) vertices exceed 32-bit indices") }
    if let bad = p.indices.first(where: { Int($0) >= n }) { throw fail("index \(bad) out of range (\(n) vertices)") }
    let perPrimitive = p.mode == .triangles ? 3 : p.mode == .lines ? 2 : 1
    if p.indices.count % perPrimitive != 0 {
        throw fail("\(p.indices.count) indices is not a multiple of \(perPrimitive)")
    }
    if p.indices.isEmpty && n % perPrimitive != 0 {
        throw fail("\(n) unindexed vertices is not a multiple of \(perPrimitive)")
    }
    guard v.positions.allSatisfy(allFinite), v.normals.allSatisfy(allFinite), v.tangents.allSatisfy(allFinite),
        v.colors.allSatisfy(allFinite), v.weights.allSatisfy(allFinite),
        v.texcoords.allSatisfy({ $0.allSatisfy(allFinite) }),
        p.targets.allSatisfy({
            $0.positions.allSatisfy(allFinite) && $0.normals.allSatisfy(allFinite) && $0.tangents.allSatisfy(allFinite)
        })
    else { throw fail("non-finite vertex data (NaN or infinity)") }
}

private func allFinite<V: SIMD>(_ v: V) -> Bool where V.Scalar: BinaryFloatingPoint {
    for i in v.indices where !v[i].isFinite { return false }
    return true
}
