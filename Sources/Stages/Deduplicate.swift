import Scene

/// Merges identical images (by encoded bytes), samplers, textures, materials and meshes, keeping the first of
/// each group in its original order and remapping every reference. Names do not take part in the comparison
/// of materials and meshes: the first one's name is kept.
public func deduplicate(_ scene: inout Scene) throws -> StageReport {
    try validateGeometry(scene)
    return runStage("deduplicate", &scene) { scene in
        let images = uniqueItems(
            scene.images, ignoringName: \.name,
            hash: { h, image in
                // Size and ends only: equal images agree on them, and `==` compares the rest within a bucket.
                h.combine(image.mimeType)
                h.combine(image.data.count)
                h.combine(image.data.prefix(64))
                h.combine(image.data.suffix(64))
            })
        scene.images = images.kept

        let samplers = uniqueItems(scene.samplers, hash: { h, sampler in h.combine(sampler) })
        scene.samplers = samplers.kept

        let textures = uniqueItems(
            scene.textures.map { texture in
                var t = texture
                t.image = images.map[texture.image]
                t.webpSource = texture.webpSource.map { images.map[$0] }
                t.basisuSource = texture.basisuSource.map { images.map[$0] }
                t.sampler = texture.sampler.map { samplers.map[$0] }
                return t
            },
            hash: { h, texture in
                h.combine(texture.image)
                h.combine(texture.webpSource)
                h.combine(texture.basisuSource)
                h.combine(texture.sampler)
            })
        scene.textures = textures.kept

        let materials = uniqueItems(
            scene.materials.map { material in
                var m = material
                m.remapTextures { textures.map[$0] }
                return m
            }, ignoringName: \.name,
            hash: { h, m in
                h.combine(m.baseColorFactor)
                h.combine(m.baseColorTexture?.texture)
                h.combine(m.metallicFactor)
                h.combine(m.roughnessFactor)
            })
        scene.materials = materials.kept

        let meshes = uniqueItems(
            scene.meshes.map { mesh in
                var mesh = mesh
                for p in mesh.primitives.indices {
                    mesh.primitives[p].material = mesh.primitives[p].material.map { materials.map[$0] }
                    for v in mesh.primitives[p].variantMaterials.indices {
                        mesh.primitives[p].variantMaterials[v].material =
                            materials.map[mesh.primitives[p].variantMaterials[v].material]
                    }
                }
                return mesh
            }, ignoringName: \.name,
            hash: { h, mesh in
                // Shapes only (a large mesh is not hashed in full): `==` compares the data within a bucket.
                h.combine(mesh.primitives.count)
                for p in mesh.primitives {
                    h.combine(p.indices.count)
                    h.combine(p.vertexCount)
                    h.combine(p.material)
                }
            })
        scene.meshes = meshes.kept
        for n in scene.nodes.indices { scene.nodes[n].mesh = scene.nodes[n].mesh.map { meshes.map[$0] } }
        return (nil, [])
    }
}

/// The first of each group of equal items, in order, and for every input item the index of its kept equal.
///
/// `hash` must feed only data that `==` compares; `ignoringName` names a field left out of the comparison.
private func uniqueItems<T: Equatable>(
    _ items: [T], ignoringName name: WritableKeyPath<T, String>? = nil,
    hash: (inout Hasher, T) -> Void
) -> (kept: [T], map: [Int]) {
    var kept: [T] = []
    var comparable: [T] = []
    var buckets: [Int: [Int]] = [:]
    var map: [Int] = []
    map.reserveCapacity(items.count)
    for item in items {
        var key = item
        if let name { key[keyPath: name] = "" }
        var hasher = Hasher()
        hash(&hasher, key)
        let h = hasher.finalize()
        if let match = buckets[h, default: []].first(where: { comparable[$0] == key }) {
            map.append(match)
        } else {
            buckets[h, default: []].append(kept.count)
            map.append(kept.count)
            kept.append(item)
            comparable.append(key)
        }
    }
    return (kept, map)
}
