import Scene

/// Joins the primitives of each mesh that draw the same way (material, mode, the same vertex streams and morph
/// streams) into one, as long as the result stays within 16-bit indices (65,535 vertices). Lossless: the same
/// triangles, lines and points with the same data; fewer draw calls and accessors, and the simplifier then sees
/// one connected surface instead of pieces with locked borders. Runs after attribute pruning, so streams nothing
/// reads no longer keep primitives apart. With `weld` the primitives come welded (so the 65,535 count is of the
/// vertices that will be written) and a primitive that took in others is welded again, joining the vertices its
/// pieces share along their borders.
public func mergePrimitives(_ scene: inout Scene, weld: Bool = false, threads: Int = 1) -> StageReport {
    runStage("merge primitives", &scene) { scene in
        var merged = 0
        for m in scene.meshes.indices {
            var out: [Primitive] = []
            var grown = Set<Int>()  // indices in `out` that took in others
            var open: [PrimitiveLayout: Int] = [:]  // layout → index in `out` still accepting vertices
            for prim in scene.meshes[m].primitives {
                let layout = PrimitiveLayout(prim)
                if let k = open[layout], out[k].vertexCount + prim.vertexCount <= 65_535 {
                    out[k].append(prim)
                    grown.insert(k)
                    merged += 1
                } else {
                    if prim.vertexCount < 65_535 { open[layout] = out.count }
                    out.append(prim)
                }
            }
            if weld {
                for k in grown.sorted() { _ = Stages.weld(&out[k], threads: threads) }
            }
            scene.meshes[m].primitives = out
        }
        return (nil, merged > 0 ? ["merged \(merged) primitive(s) into others of the same mesh and material"] : [])
    }
}

/// What must match for two primitives to share one draw: material, mode and which streams exist.
private struct PrimitiveLayout: Hashable {
    var material: Int?
    var mode: Primitive.Mode
    var streams: [Bool]
    var texcoords: [Bool]
    var targets: [[Bool]]

    init(_ p: Primitive) {
        let v = p.vertices
        material = p.material
        mode = p.mode
        streams = [
            v.normals.isEmpty, v.tangents.isEmpty, v.colors.isEmpty, v.joints.isEmpty, v.weights.isEmpty,
            p.indices.isEmpty
        ]
        texcoords = v.texcoords.map(\.isEmpty)
        targets = p.targets.map { [$0.positions.isEmpty, $0.normals.isEmpty, $0.tangents.isEmpty] }
    }
}
