import Scene

/// Folds sibling nodes that draw the same mesh into one node with `EXT_mesh_gpu_instancing` instances.
///
/// A node takes part when it draws a mesh without morph targets, has a TRS transform, no children, skin, camera
/// or light, is no joint or skeleton root, no animation channel targets it and it is not instanced already.
/// Among the children of one parent (or among the roots), each mesh drawn by at least two such nodes is kept on
/// the first of them: its transform becomes the identity and its instances are the group's transforms in sibling
/// order; the other nodes are removed and every node index remapped. What is drawn does not change.
public func instanceMeshes(_ scene: inout Scene) -> StageReport {
    runStage("instance", &scene) { scene in
        let excluded = referencedNodes(scene)
        func candidate(_ index: Int) -> (mesh: Int, instance: InstanceTransform)? {
            guard index >= 0, index < scene.nodes.count, !excluded.contains(index) else { return nil }
            let node = scene.nodes[index]
            guard let mesh = node.mesh, mesh >= 0, mesh < scene.meshes.count, node.children.isEmpty, node.skin == nil,
                node.camera == nil, node.light == nil, node.instances.isEmpty,
                scene.meshes[mesh].primitives.allSatisfy(\.targets.isEmpty),
                case let .trs(translation, rotation, scale) = node.transform
            else { return nil }
            return (mesh, InstanceTransform(translation: translation, rotation: rotation, scale: scale))
        }

        var removed = Set<Int>()
        var folded = 0
        var instanced = 0
        for siblings in [scene.roots] + scene.nodes.map(\.children) {
            var groups: [Int: [(node: Int, instance: InstanceTransform)]] = [:]
            var order: [Int] = []
            for index in siblings where !removed.contains(index) {
                guard let (mesh, instance) = candidate(index) else { continue }
                if groups[mesh] == nil { order.append(mesh) }
                groups[mesh, default: []].append((index, instance))
            }
            for mesh in order {
                guard let group = groups[mesh], group.count >= 2 else { continue }
                let kept = group[0].node
                scene.nodes[kept].transform = .identity
                scene.nodes[kept].instances = group.map(\.instance)
                removed.formUnion(group.dropFirst().map(\.node))
                folded += group.count
                instanced += 1
            }
        }
        guard instanced > 0 else { return (nil, []) }
        removeNodes(&scene, removed)
        return (nil, ["folded \(folded) nodes into \(instanced) instanced node(s)"])
    }
}

/// The nodes something other than the hierarchy refers to: animation targets, skin joints and skeleton roots.
func referencedNodes(_ scene: Scene) -> Set<Int> {
    var referenced = Set<Int>()
    for animation in scene.animations { referenced.formUnion(animation.channels.map(\.node)) }
    for skin in scene.skins {
        referenced.formUnion(skin.joints)
        if let skeleton = skin.skeleton { referenced.insert(skeleton) }
    }
    return referenced
}

/// Deletes `removed` nodes and remaps every node index (children, roots, skins, animation channels).
///
/// The removed nodes must not be among `referencedNodes` (joints, skeleton roots, animation targets); references to
/// them from `children` and `roots` are dropped.
func removeNodes(_ scene: inout Scene, _ removed: Set<Int>) {
    var map = [Int?](repeating: nil, count: scene.nodes.count)
    var next = 0
    for index in scene.nodes.indices where !removed.contains(index) {
        map[index] = next
        next += 1
    }
    /// The new index; nil for a removed node. Out-of-range indices stay as they are for the writer to report.
    func lookup(_ index: Int) -> Int? { index >= 0 && index < map.count ? map[index] : index }
    func kept(_ index: Int, _ role: String) -> Int {
        guard let new = lookup(index) else { preconditionFailure("removeNodes: removed node \(index) is \(role)") }
        return new
    }
    scene.nodes = scene.nodes.indices.filter { !removed.contains($0) }.map { scene.nodes[$0] }
    for n in scene.nodes.indices { scene.nodes[n].children = scene.nodes[n].children.compactMap(lookup) }
    scene.roots = scene.roots.compactMap(lookup)
    for s in scene.skins.indices {
        scene.skins[s].joints = scene.skins[s].joints.map { kept($0, "a joint") }
        scene.skins[s].skeleton = scene.skins[s].skeleton.map { kept($0, "a skeleton root") }
    }
    for a in scene.animations.indices {
        for c in scene.animations[a].channels.indices {
            scene.animations[a].channels[c].node = kept(scene.animations[a].channels[c].node, "animated")
        }
    }
}
