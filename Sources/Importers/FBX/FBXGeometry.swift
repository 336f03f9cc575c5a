import Foundation
import ImportSupport
import Scene

/// Builds the meshes of the Models: one Mesh per (geometry, geometric transform, material list), shared by every
/// node that uses the same combination.
struct FBXMeshes {
    private var cache: [MeshKey: Int] = [:]
    private var materials = FBXMaterials()
    private var triangulator = PolygonTriangulator()

    private struct MeshKey: Hashable {
        var geometry: FBXKey
        var geometric: [Double]
        var materials: [FBXKey]
    }

    mutating func build(_ b: inout FBXSceneBuilder, modelNodes: [(FBXKey, Int)]) throws {
        for (modelKey, nodeIndex) in modelNodes {
            guard let model = b.objects[modelKey] else { continue }
            let geometryKey: FBXKey
            let geometryNode: Int
            if let (key, object, _) = b.children(of: modelKey, kind: "Geometry").first(where: {
                $0.1.subclass == "Mesh" || $0.1.subclass.isEmpty
            }) {
                (geometryKey, geometryNode) = (key, object.node)
            } else if b.doc.child(model.node, "Vertices") != nil {
                (geometryKey, geometryNode) = (modelKey, model.node)  // FBX 6: the Model holds its geometry
            } else {
                continue
            }
            let materialKeys = b.children(of: modelKey, kind: "Material").map(\.0)
            let geometric = b.geometricTransform(model)
            let key = MeshKey(
                geometry: geometryKey,
                geometric: [geometric.c.0, geometric.c.1, geometric.c.2, geometric.c.3].flatMap {
                    [$0.x, $0.y, $0.z, $0.w]
                },
                materials: materialKeys)
            if let mesh = cache[key] {
                b.scene.nodes[nodeIndex].mesh = mesh
                continue
            }
            let slots = materialKeys.map { materials.material($0, &b) }
            let name = b.objects[geometryKey].map(\.name) ?? model.name
            var mesh = try readMesh(
                &b, geometry: geometryNode, name: name.isEmpty ? model.name : name,
                geometric: geometric, slots: slots)
            guard !mesh.primitives.isEmpty else { continue }
            for i in mesh.primitives.indices where mesh.primitives[i].material == nil {
                mesh.primitives[i].material = materials.defaultMaterial(&b)
            }
            mesh.name = name.isEmpty ? model.name : name
            b.scene.meshes.append(mesh)
            cache[key] = b.scene.meshes.count - 1
            b.scene.nodes[nodeIndex].mesh = b.scene.meshes.count - 1
        }
        b.scene.images = materials.table.images
        b.scene.samplers = materials.table.samplers
        b.scene.textures = materials.table.textures
    }

    // MARK: Layer elements

    private enum Mapping {
        case polygonVertex, vertex, polygon, allSame
    }

    /// One `LayerElement*` block: per-mapping values with an optional index array.
    private struct Element {
        var mapping: Mapping
        var values: [Double]
        var indices: [Int64]?
        var width: Int

        /// The values' start offset for corner `k` of polygon `p` at control point `v`; nil when out of range.
        @inline(__always)
        func offset(_ k: Int, _ v: Int, _ p: Int) -> Int? {
            var i: Int
            switch mapping {
            case .polygonVertex: i = k
            case .vertex: i = v
            case .polygon: i = p
            case .allSame: i = 0
            }
            if let indices {
                guard i < indices.count else { return nil }
                let j = indices[i]
                guard j >= 0, j < Int64(Int32.max) else { return nil }
                i = Int(j)
            }
            let start = i * width
            return start + width <= values.count ? start : nil
        }
    }

    private func elements(
        _ b: inout FBXSceneBuilder, _ geometry: Int, _ kind: String, data: String, index: String,
        width: Int
    ) -> [Element] {
        var result: [Element] = []
        for node in b.doc.children(geometry, kind) {
            let mappingText = b.doc.value(node, "MappingInformationType")?.text ?? "AllSame"
            let reference = b.doc.value(node, "ReferenceInformationType")?.text ?? "Direct"
            let mapping: Mapping
            switch mappingText {
            case "ByPolygonVertex": mapping = .polygonVertex
            case "ByVertice", "ByVertex", "ByControlPoint": mapping = .vertex
            case "ByPolygon": mapping = .polygon
            case "AllSame": mapping = .allSame
            default:
                b.warn("\(kind) mapping '\(mappingText)' is not supported; that layer was dropped")
                continue
            }
            var values = b.doc.numbers(node, data)
            var stride = width
            // Tangents, binormals and normals may carry a w per value (`NormalsW`); colors are RGBA.
            if kind != "LayerElementMaterial", kind != "LayerElementColor", let w = b.doc.child(node, data + "W"),
                b.doc.numbers(of: w).count * (width + 1) == values.count
            {
                stride = width + 1
            }
            if kind == "LayerElementMaterial" {
                values = b.doc.integers(node, data).map(Double.init)
            }
            let indices = reference == "IndexToDirect" || reference == "Index" ? b.doc.integers(node, index) : nil
            if kind == "LayerElementMaterial", reference == "IndexToDirect", indices?.isEmpty ?? true {
                result.append(Element(mapping: mapping, values: values, indices: nil, width: 1))
                continue
            }
            result.append(
                Element(
                    mapping: mapping, values: values, indices: indices.flatMap { $0.isEmpty ? nil : $0 },
                    width: stride))
        }
        return result
    }

    // MARK: Meshes

    /// One corner's vertex values (zero where the mesh has no such layer).
    private struct VertexKey {
        var point: Int32
        var normal: SIMD3<Float>
        var tangent: SIMD4<Float>
        var uv0: SIMD2<Float>
        var uv1: SIMD2<Float>
        var color: SIMD4<Float>
    }

    private mutating func readMesh(
        _ b: inout FBXSceneBuilder, geometry: Int, name: String, geometric: DMatrix,
        slots: [Int]
    ) throws -> Mesh {
        let doc = b.doc
        let rawPositions = doc.numbers(geometry, "Vertices")
        let polygonIndex = doc.integers(geometry, "PolygonVertexIndex")
        let pointCount = rawPositions.count / 3
        let applyGeometric = geometric != .identity
        let normalMatrix = applyGeometric ? (geometric.inverse.map(transposed) ?? .identity) : .identity
        for value in rawPositions.prefix(pointCount * 3) where !value.isFinite {
            throw doc.badInput("mesh '\(name)' has vertex positions that are NaN or infinite")
        }
        // Control point `v` in the mesh's space (read from the document's array: no second copy of the points).
        func point(_ v: Int) -> SIMD3<Float> {
            let p = SIMD3(rawPositions[3 * v], rawPositions[3 * v + 1], rawPositions[3 * v + 2])
            return SIMD3<Float>(applyGeometric ? geometric.point(p) : p)
        }

        let normals = elements(&b, geometry, "LayerElementNormal", data: "Normals", index: "NormalsIndex", width: 3)
            .first
        let tangents = elements(&b, geometry, "LayerElementTangent", data: "Tangents", index: "TangentsIndex", width: 3)
            .first
        let binormals = elements(
            &b, geometry, "LayerElementBinormal", data: "Binormals", index: "BinormalsIndex", width: 3
        ).first
        let uvs = Array(elements(&b, geometry, "LayerElementUV", data: "UV", index: "UVIndex", width: 2).prefix(2))
        let colors = elements(&b, geometry, "LayerElementColor", data: "Colors", index: "ColorIndex", width: 4).first
        let materialLayer = elements(
            &b, geometry, "LayerElementMaterial", data: "Materials", index: "MaterialsIndex", width: 1
        ).first
        let hasTangents = normals != nil && tangents != nil && binormals != nil

        // One primitive per material slot, in order of first use. Corners are welded by value (one vertex per
        // distinct point/normal/tangent/UV/color), found through a chain per point: every vertex made from point v,
        // newest first, compared with the stored streams (no hashing, no copy of the keys).
        var primitives: [Primitive] = []
        var primitiveOfSlot: [Int: Int] = [:]
        var head = [Int32](repeating: -1, count: pointCount)
        var next: [Int32] = []
        var vertexPrimitive: [Int32] = []
        var vertexLocal: [UInt32] = []
        var corners: [(k: Int, v: Int)] = []
        var local: [UInt32] = []
        var polygon = 0
        var dropped = 0
        var outOfRange = false

        func vertex(_ k: Int, _ v: Int, _ p: Int) -> VertexKey {
            var key = VertexKey(point: Int32(v), normal: .zero, tangent: .zero, uv0: .zero, uv1: .zero, color: .zero)
            if let normals {
                if let o = normals.offset(k, v, p) {
                    var n = SIMD3(normals.values[o], normals.values[o + 1], normals.values[o + 2])
                    if applyGeometric { n = normalMatrix.direction(n) }
                    key.normal = SIMD3<Float>(unitOrZ(n))
                } else {
                    outOfRange = true
                }
            }
            if hasTangents, let tangents, let binormals {
                if let o = tangents.offset(k, v, p), let ob = binormals.offset(k, v, p) {
                    var t = SIMD3(tangents.values[o], tangents.values[o + 1], tangents.values[o + 2])
                    var bn = SIMD3(binormals.values[ob], binormals.values[ob + 1], binormals.values[ob + 2])
                    if applyGeometric { (t, bn) = (geometric.direction(t), geometric.direction(bn)) }
                    let tf = SIMD3<Float>(unitOrZ(t))
                    let handed: Float =
                        (SIMD3<Double>(cross(SIMD3<Double>(key.normal), SIMD3<Double>(tf))) * bn).sum() < 0 ? -1 : 1
                    key.tangent = SIMD4(tf, handed)
                } else {
                    outOfRange = true
                }
            }
            for (set, uv) in uvs.enumerated() {
                guard let o = uv.offset(k, v, p) else {
                    outOfRange = true
                    continue
                }
                let value = SIMD2<Float>(finite(uv.values[o]), 1 - finite(uv.values[o + 1]))
                if set == 0 { key.uv0 = value } else { key.uv1 = value }
            }
            if let colors {
                if let o = colors.offset(k, v, p) {
                    func channel(_ x: Double, _ linearize: Bool) -> Float {
                        let c = Float(x.isFinite ? min(max(x, 0), 1) : 1)
                        return linearize ? srgbToLinear(c) : c
                    }
                    key.color = SIMD4(
                        channel(colors.values[o], true), channel(colors.values[o + 1], true),
                        channel(colors.values[o + 2], true), channel(colors.values[o + 3], false))
                } else {
                    outOfRange = true
                }
            }
            return key
        }

        func same(_ key: VertexKey, _ streams: VertexStreams, _ i: Int) -> Bool {
            (normals == nil || streams.normals[i] == key.normal) && (!hasTangents || streams.tangents[i] == key.tangent)
                && (uvs.isEmpty || streams.texcoords[0][i] == key.uv0)
                && (uvs.count < 2 || streams.texcoords[1][i] == key.uv1)
                && (colors == nil || streams.colors[i] == key.color)
        }

        func weld(_ key: VertexKey, into target: Int) -> UInt32 {
            var g = head[Int(key.point)]
            while g >= 0 {
                if vertexPrimitive[Int(g)] == Int32(target),
                    same(key, primitives[target].vertices, Int(vertexLocal[Int(g)]))
                {
                    return vertexLocal[Int(g)]
                }
                g = next[Int(g)]
            }
            let index = UInt32(primitives[target].vertices.positions.count)
            append(key, position: point(Int(key.point)), to: &primitives[target].vertices)
            next.append(head[Int(key.point)])
            head[Int(key.point)] = Int32(vertexLocal.count)
            vertexPrimitive.append(Int32(target))
            vertexLocal.append(index)
            return index
        }

        func emit(_ corners: [(k: Int, v: Int)], polygon p: Int) {
            guard corners.count >= 3 else {
                dropped += 1
                return
            }
            var slot = 0
            if let materialLayer, let o = materialLayer.offset(corners[0].k, corners[0].v, p) {
                slot = Int(materialLayer.values[o])
            }
            let material = slot >= 0 && slot < slots.count ? slots[slot] : nil
            let target: Int
            if let known = primitiveOfSlot[material ?? -1] {
                target = known
            } else {
                target = primitives.count
                primitiveOfSlot[material ?? -1] = target
                var primitive = Primitive()
                primitive.material = material
                primitives.append(primitive)
            }
            local.removeAll(keepingCapacity: true)
            for corner in corners { local.append(weld(vertex(corner.k, corner.v, p), into: target)) }
            if corners.count == 3 {  // most polygons: skip the triangulator call (5.6 M-tri import 5.1 → 3.5-3.9 s)
                primitives[target].indices.append(contentsOf: local)
                return
            }
            let cornerPoint: (Int) -> SIMD3<Float> = { point(corners[$0].v) }
            triangulator.triangulate(count: corners.count, point: cornerPoint) { a, b, c in
                primitives[target].indices.append(local[a])
                primitives[target].indices.append(local[b])
                primitives[target].indices.append(local[c])
            }
        }

        func append(_ key: VertexKey, position: SIMD3<Float>, to streams: inout VertexStreams) {
            streams.positions.append(position)
            if normals != nil { streams.normals.append(key.normal) }
            if hasTangents { streams.tangents.append(key.tangent) }
            if !uvs.isEmpty {
                if streams.texcoords.isEmpty { streams.texcoords = Array(repeating: [], count: uvs.count) }
                streams.texcoords[0].append(key.uv0)
                if uvs.count > 1 { streams.texcoords[1].append(key.uv1) }
            }
            if colors != nil { streams.colors.append(key.color) }
        }

        for k in polygonIndex.indices {
            let raw = polygonIndex[k]
            let v = raw < 0 ? Int(~raw) : Int(raw)
            guard v < pointCount else {
                throw doc.badInput("mesh '\(name)' has a polygon vertex index \(v) beyond its \(pointCount) vertices")
            }
            corners.append((k, v))
            if raw < 0 || k == polygonIndex.count - 1 {
                emit(corners, polygon: polygon)
                corners.removeAll(keepingCapacity: true)
                polygon += 1
            }
        }
        if dropped > 0 { b.warn("mesh '\(name)': \(dropped) point or line polygon(s) were dropped") }
        if outOfRange { b.warn("mesh '\(name)' has layer indices out of range; those values were zeroed") }
        var mesh = Mesh(name: name)
        mesh.primitives = primitives.filter { !$0.indices.isEmpty }
        return mesh
    }
}

private func finite(_ x: Double) -> Float { x.isFinite ? Float(x) : 0 }

private func unitOrZ(_ v: SIMD3<Double>) -> SIMD3<Double> {
    let l = length(v)
    return l > 0 && l.isFinite ? v / l : SIMD3(0, 0, 1)
}

private func transposed(_ m: DMatrix) -> DMatrix {
    DMatrix(
        c: (
            SIMD4(m.c.0.x, m.c.1.x, m.c.2.x, 0), SIMD4(m.c.0.y, m.c.1.y, m.c.2.y, 0),
            SIMD4(m.c.0.z, m.c.1.z, m.c.2.z, 0), SIMD4(0, 0, 0, 1)
        ))
}
