import Scene

/// Removes what nothing uses: meshes no node draws, materials no primitive uses, then textures, images and
/// samplers that no kept material reaches. Kept items stay in their original order; every reference is remapped.
/// Nodes are kept (the hierarchy, cameras, lights and joints live there).
public func prune(_ scene: inout Scene) -> StageReport {
    runStage("prune", &scene) { scene in
        let meshes = keep(scene.meshes.count, used: scene.nodes.compactMap(\.mesh))
        scene.meshes = meshes.kept.map { scene.meshes[$0] }
        for n in scene.nodes.indices { scene.nodes[n].mesh = scene.nodes[n].mesh.map { meshes.map[$0]! } }

        let materials = keep(
            scene.materials.count,
            used: scene.meshes.flatMap {
                $0.primitives.flatMap { [$0.material].compactMap { $0 } + $0.variantMaterials.map(\.material) }
            })
        scene.materials = materials.kept.map { scene.materials[$0] }
        for m in scene.meshes.indices {
            for p in scene.meshes[m].primitives.indices {
                scene.meshes[m].primitives[p].material = scene.meshes[m].primitives[p].material.map {
                    materials.map[$0]!
                }
                for v in scene.meshes[m].primitives[p].variantMaterials.indices {
                    scene.meshes[m].primitives[p].variantMaterials[v].material = materials.map[
                        scene.meshes[m].primitives[p].variantMaterials[v].material]!
                }
            }
        }

        let textures = keep(scene.textures.count, used: scene.materials.flatMap { $0.textureRefs.map(\.texture) })
        scene.textures = textures.kept.map { scene.textures[$0] }
        for m in scene.materials.indices {
            scene.materials[m].remapTextures { textures.map[$0]! }
        }

        let images = keep(
            scene.images.count,
            used: scene.textures.flatMap { [$0.image] + [$0.webpSource, $0.basisuSource].compactMap { $0 } })
        let samplers = keep(scene.samplers.count, used: scene.textures.compactMap(\.sampler))
        scene.images = images.kept.map { scene.images[$0] }
        scene.samplers = samplers.kept.map { scene.samplers[$0] }
        for t in scene.textures.indices {
            scene.textures[t].image = images.map[scene.textures[t].image]!
            scene.textures[t].webpSource = scene.textures[t].webpSource.map { images.map[$0]! }
            scene.textures[t].basisuSource = scene.textures[t].basisuSource.map { images.map[$0]! }
            scene.textures[t].sampler = scene.textures[t].sampler.map { samplers.map[$0]! }
        }
        return (nil, [])
    }
}

/// The used indices in ascending order, and old index → new index for each of them.
private func keep(_ count: Int, used: [Int]) -> (kept: [Int], map: [Int: Int]) {
    let kept = Set(used).filter { $0 >= 0 && $0 < count }.sorted()
    return (kept, Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, $0) }))
}

extension Material {
    /// Every texture reference of the material.
    var textureRefs: [TextureRef] {
        [baseColorTexture, metallicRoughnessTexture, normalTexture, occlusionTexture, emissiveTexture].compactMap { $0 }
            + extensionTextures.map(\.ref)
    }

    /// Rewrites the texture index of every texture reference.
    mutating func remapTextures(_ transform: (Int) -> Int) {
        func remap(_ ref: inout TextureRef?) {
            if let old = ref { ref?.texture = transform(old.texture) }
        }
        updateExtensionTextures { ref, _ in
            var ref = ref
            ref.texture = transform(ref.texture)
            return ref
        }
        remap(&baseColorTexture)
        remap(&metallicRoughnessTexture)
        remap(&normalTexture)
        remap(&occlusionTexture)
        remap(&emissiveTexture)
    }
}
