import Scene

/// Drops vertex data nothing reads (lossless: the picture stays the same), before welding and simplification so
/// seams that only such data made stop splitting vertices:
///
/// - TEXCOORD sets above the highest one the primitive's material reads (sets stay consecutive from 0);
/// - tangents unless the material has a normal map; normals and tangents of unlit materials;
/// - COLOR_0 when it is (1, 1, 1, 1) everywhere; one other constant color is folded into the base color factor
///   when every primitive using the material has that same color (the color multiplies the factor, so this is
///   exact), a primitive without material gets a new one;
/// - JOINTS_0/WEIGHTS_0 of meshes that no skinned node draws;
/// - morph-target streams that are zero everywhere (the target itself stays: weights and animations index it).
///
/// The notes say what was dropped, counted over primitives.
public func pruneAttributes(_ scene: inout Scene) -> StageReport {
    runStage("prune attributes", &scene) { scene in
        var dropped: [String: Int] = [:]
        func note(_ what: String) { dropped[what, default: 0] += 1 }

        var skinned = Set<Int>()
        for node in scene.nodes where node.skin != nil { if let m = node.mesh { skinned.insert(m) } }
        foldConstantColors(&scene, note: note)

        for m in scene.meshes.indices {
            for p in scene.meshes[m].primitives.indices {
                var prim = scene.meshes[m].primitives[p]
                let material = prim.material.flatMap {
                    $0 >= 0 && $0 < scene.materials.count ? scene.materials[$0] : nil
                }
                let keepSets = (material?.textureRefs.map(\.texCoord).max() ?? -1) + 1
                while prim.vertices.texcoords.count > keepSets {
                    note("TEXCOORD_\(prim.vertices.texcoords.count - 1) (no texture reads it)")
                    prim.vertices.texcoords.removeLast()
                }
                let unlit = material?.unlit ?? false
                if !prim.vertices.tangents.isEmpty && (material?.normalTexture == nil || unlit) {
                    note(unlit ? "TANGENT (unlit material)" : "TANGENT (no normal map)")
                    prim.vertices.tangents = []
                    for t in prim.targets.indices { prim.targets[t].tangents = [] }
                }
                if !prim.vertices.normals.isEmpty && unlit {
                    note("NORMAL (unlit material)")
                    prim.vertices.normals = []
                    for t in prim.targets.indices { prim.targets[t].normals = [] }
                }
                if !prim.vertices.joints.isEmpty && !skinned.contains(m) {
                    note("JOINTS_0/WEIGHTS_0 (no skin uses the mesh)")
                    prim.vertices.joints = []
                    prim.vertices.weights = []
                }
                for t in prim.targets.indices {
                    if !prim.targets[t].positions.isEmpty && prim.targets[t].positions.allSatisfy({ $0 == .zero }) {
                        note("morph POSITION (all zero)")
                        prim.targets[t].positions = []
                    }
                    if !prim.targets[t].normals.isEmpty && prim.targets[t].normals.allSatisfy({ $0 == .zero }) {
                        note("morph NORMAL (all zero)")
                        prim.targets[t].normals = []
                    }
                    if !prim.targets[t].tangents.isEmpty && prim.targets[t].tangents.allSatisfy({ $0 == .zero }) {
                        note("morph TANGENT (all zero)")
                        prim.targets[t].tangents = []
                    }
                }
                scene.meshes[m].primitives[p] = prim
            }
        }
        let notes = dropped.keys.sorted().map { "dropped \($0) from \(dropped[$0]!) primitive(s)" }
        return (nil, notes)
    }
}

/// COLOR_0 that is one value everywhere: white is dropped; another color goes into the base color factor when the
/// material's users all agree on it (primitives without material share a new material per color).
private func foldConstantColors(_ scene: inout Scene, note: (String) -> Void) {
    // The constant color of each primitive (nil: varying or absent), and per material whether its users agree.
    var constant: [[SIMD4<Float>?]] = []
    var agreed: [Int: SIMD4<Float>?] = [:]  // material → its users' color, or .some(nil) when they disagree
    for mesh in scene.meshes {
        var row: [SIMD4<Float>?] = []
        for prim in mesh.primitives {
            let colors = prim.vertices.colors
            let color: SIMD4<Float>? = colors.first.flatMap { first in
                first.x.isFinite && first.y.isFinite && first.z.isFinite && first.w.isFinite
                    && colors.allSatisfy({ $0 == first }) ? first : nil
            }
            row.append(color)
            if let m = prim.material {
                if let previous = agreed[m] {
                    if previous != color { agreed[m] = .some(nil) }
                } else {
                    agreed[m] = .some(color)
                }
            }
        }
        constant.append(row)
    }
    var newMaterial: [SIMD4<Float>: Int] = [:]
    for m in scene.meshes.indices {
        for p in scene.meshes[m].primitives.indices {
            guard let color = constant[m][p] else { continue }
            if color == .one {
                note("COLOR_0 (all white)")
                scene.meshes[m].primitives[p].vertices.colors = []
                continue
            }
            if let material = scene.meshes[m].primitives[p].material {
                guard case .some(.some(let shared)) = agreed[material], shared == color,
                    material >= 0, material < scene.materials.count
                else { continue }
            } else {
                if newMaterial[color] == nil {
                    var made = Material(name: "vertex color")
                    made.baseColorFactor = color
                    newMaterial[color] = scene.materials.count
                    scene.materials.append(made)
                }
                scene.meshes[m].primitives[p].material = newMaterial[color]
            }
            note("COLOR_0 (one color, folded into the material)")
            scene.meshes[m].primitives[p].vertices.colors = []
        }
    }
    for case let (material, .some(color)) in agreed
    where color != .one && material >= 0 && material < scene.materials.count {
        scene.materials[material].baseColorFactor *= color
    }
}
