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
    private struct Element<Value> {
        var mapping: Mapping
        var values: [Value]
        var indices: [Int32]?
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
                guard j >= 0 else { return nil }
                i = Int(j)
            }
            let start = i * width
            return start + width <= values.count ? start : nil
        }
    }

    /// A layer element before its arrays are decoded: the nodes holding its values and indices.
    private struct ElementSource {
        var mapping: Mapping
        var values: Int
        var indices: Int?
        var width: Int
    }

    /// The first `limit` `kind` layers of `geometry` whose mapping is known (others are dropped with a warning).
    private func elementSources(
        _ b: inout FBXSceneBuilder, _ geometry: Int, _ kind: String, data: String, index: String, width: Int,
        limit: Int = 1
    ) -> [ElementSource] {
        var result: [ElementSource] = []
        for node in b.doc.children(geometry, kind) where result.count < limit {
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
            guard let values = b.doc.child(node, data) else { continue }
            var stride = width
            // Tangents, binormals and normals may carry a w per value (`NormalsW`); colors are RGBA.
            if kind != "LayerElementMaterial", kind != "LayerElementColor", let w = b.doc.child(node, data + "W"),
                b.doc.arrayCount(of: w) * (width + 1) == b.doc.arrayCount(of: values)
            {
                stride = width + 1
            }
            let indices =
                reference == "IndexToDirect" || reference == "Index"
                ? b.doc.child(node, index).flatMap { b.doc.arrayCount(of: $0) > 0 ? $0 : nil } : nil
            result.append(ElementSource(mapping: mapping, values: values, indices: indices, width: stride))
        }
        return result
    }

    /// The arrays one mesh reads, decoded together on the builder's workers (inflating them is most of a large
    /// FBX's import): each request is a node and the type its values are read as.
    private enum ArrayRequest {
        case doubles(Int)
        case floats(Int)
        case integers(Int)
    }

    private enum DecodedArray: Sendable {
        case doubles([Double])
        case floats([Float])
        case integers([Int32])
    }

    private struct DecodedArrays {
        var arrays: [Int: DecodedArray] = [:]

        init(_ doc: FBXDocument, _ requests: [ArrayRequest], threads: Int) throws {
            func node(_ r: ArrayRequest) -> Int {
                switch r {
                case .doubles(let n), .floats(let n), .integers(let n): return n
                }
            }
            // Largest first, so one large array does not end up last on a busy worker.
            let ordered = requests.sorted {
                (doc.arrayCount(of: node($0)), node($1)) > (doc.arrayCount(of: node($1)), node($0))
            }
            let results = parallelMap(ordered.count, threads: threads) { i -> Result<DecodedArray, any Error> in
                Result {
                    switch ordered[i] {
                    case .doubles(let n): return .doubles(try doc.array(of: n))
                    case .floats(let n): return .floats(try doc.array(of: n))
                    case .integers(let n): return .integers(try doc.array(of: n))
                    }
                }
            }
            for (request, result) in zip(ordered, results) { arrays[node(request)] = try result.get() }
        }

        func doubles(_ node: Int) -> [Double] {
            if case .doubles(let a) = arrays[node] { return a }
            return []
        }

        func floats(_ node: Int) -> [Float] {
            if case .floats(let a) = arrays[node] { return a }
            return []
        }

        func integers(_ node: Int?) -> [Int32] {
            if let node, case .integers(let a) = arrays[node] { return a }
            return []
        }
    }

    // MARK: Meshes

    /// One corner's vertex values (zero where the mesh has no such layer).
    fileprivate struct VertexKey {
        var point: Int32 = 0
        var position: SIMD3<Float> = .zero
        var normal: SIMD3<Float> = .zero
        var tangent: SIMD4<Float> = .zero
        var uv0: SIMD2<Float> = .zero
        var uv1: SIMD2<Float> = .zero
        var color: SIMD4<Float> = .zero
    }

    private mutating func readMesh(
        _ b: inout FBXSceneBuilder, geometry: Int, name: String, geometric: DMatrix,
        slots: [Int]
    ) throws -> Mesh {
        let doc = b.doc
        func sources(_ kind: String, _ data: String, _ index: String, width: Int, limit: Int = 1) -> [ElementSource] {
            elementSources(&b, geometry, kind, data: data, index: index, width: width, limit: limit)
        }
        let normalSource = sources("LayerElementNormal", "Normals", "NormalsIndex", width: 3).first
        let tangentSource = sources("LayerElementTangent", "Tangents", "TangentsIndex", width: 3).first
        let binormalSource = sources("LayerElementBinormal", "Binormals", "BinormalsIndex", width: 3).first
        let uvSources = sources("LayerElementUV", "UV", "UVIndex", width: 2, limit: 2)
        let colorSource = sources("LayerElementColor", "Colors", "ColorIndex", width: 4).first
        let materialSource = sources("LayerElementMaterial", "Materials", "MaterialsIndex", width: 1).first

        let positionNode = doc.child(geometry, "Vertices")
        let polygonNode = doc.child(geometry, "PolygonVertexIndex")
        var requests: [ArrayRequest] = []
        if let positionNode { requests.append(.doubles(positionNode)) }
        if let polygonNode { requests.append(.integers(polygonNode)) }
        for source in [normalSource, tangentSource, binormalSource, colorSource].compactMap({ $0 }) + uvSources {
            requests.append(.floats(source.values))
            if let indices = source.indices { requests.append(.integers(indices)) }
        }
        if let materialSource {
            requests.append(.integers(materialSource.values))
            if let indices = materialSource.indices { requests.append(.integers(indices)) }
        }
        let decoded = try DecodedArrays(doc, requests, threads: b.threads)
        func element(_ source: ElementSource?) -> Element<Float>? {
            source.map {
                Element(
                    mapping: $0.mapping, values: decoded.floats($0.values), indices: $0.indices.map(decoded.integers),
                    width: $0.width)
            }
        }
        let rawPositions = positionNode.map(decoded.doubles) ?? []
        let polygonIndex = decoded.integers(polygonNode)
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

        let normals = element(normalSource)
        let tangents = element(tangentSource)
        let binormals = element(binormalSource)
        let uvs = uvSources.compactMap(element)
        let colors = element(colorSource)
        let materialLayer = materialSource.map {
            Element(
                mapping: $0.mapping, values: decoded.integers($0.values), indices: $0.indices.map(decoded.integers),
                width: 1)
        }
        let hasTangents = normals != nil && tangents != nil && binormals != nil

        // One primitive per material slot, in order of first use; corners welded by value in one `WeldPool`.
        var materialOfPrimitive: [Int?] = []
        var indices: [[UInt32]] = []
        var primitiveOfSlot: [Int: Int] = [:]
        var last: (material: Int?, target: Int)?
        var pool = WeldPool(
            points: pointCount, normals: normals != nil, tangents: hasTangents, texcoords: uvs.count,
            colors: colors != nil)
        var corners: [(k: Int, v: Int)] = []
        var local: [UInt32] = []
        var dropped = 0
        var outOfRange = false

        // The values of corner `k` (point `v`, polygon `p`); sets `outOfRange` when a layer has no value for it.
        func vertex(_ k: Int, _ v: Int, _ p: Int, _ outOfRange: inout Bool) -> VertexKey {
            var key = VertexKey(point: Int32(v), position: point(v))
            if let normals {
                if let o = normals.offset(k, v, p) {
                    var n = SIMD3<Double>(SIMD3(normals.values[o], normals.values[o + 1], normals.values[o + 2]))
                    if applyGeometric { n = normalMatrix.direction(n) }
                    key.normal = SIMD3<Float>(unitOrZ(n))
                } else {
                    outOfRange = true
                }
            }
            if hasTangents, let tangents, let binormals {
                if let o = tangents.offset(k, v, p), let ob = binormals.offset(k, v, p) {
                    var t = SIMD3<Double>(SIMD3(tangents.values[o], tangents.values[o + 1], tangents.values[o + 2]))
                    var bn = SIMD3<Double>(
                        SIMD3(binormals.values[ob], binormals.values[ob + 1], binormals.values[ob + 2]))
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
                    func channel(_ x: Float, _ linearize: Bool) -> Float {
                        let c = x.isFinite ? min(max(x, 0), 1) : 1
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

        // Polygon `p` (its corners' keys are in `keys`, from corner `keysStart` on) into its material's primitive.
        func emit(_ corners: [(k: Int, v: Int)], polygon p: Int, keys: [VertexKey], keysStart: Int) {
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
            if let last, last.material == material {
                target = last.target
            } else if let known = primitiveOfSlot[material ?? -1] {
                target = known
            } else {
                target = materialOfPrimitive.count
                primitiveOfSlot[material ?? -1] = target
                materialOfPrimitive.append(material)
                indices.append([])
                pool.addPrimitive()
            }
            last = (material, target)
            local.removeAll(keepingCapacity: true)
            for corner in corners { local.append(pool.weld(keys[corner.k - keysStart], into: target)) }
            if corners.count == 3 {  // most polygons: skip the triangulator call (5.6 M-tri import 5.1 → 3.5-3.9 s)
                indices[target].append(contentsOf: local)
                return
            }
            let cornerPoint: (Int) -> SIMD3<Float> = { point(corners[$0].v) }
            triangulator.triangulate(count: corners.count, point: cornerPoint) { a, b, c in
                indices[target].append(local[a])
                indices[target].append(local[b])
                indices[target].append(local[c])
            }
        }

        // Corners go through in blocks of whole polygons: the keys of the next block are computed on a second
        // worker while this one is welded (welding stays in corner order: the output does not depend on threads).
        struct Block {
            var corners: Range<Int>
            var firstPolygon: Int
            var polygons: Int
        }
        func block(from start: Int, firstPolygon: Int) -> Block {
            var end = min(start + 65_536, polygonIndex.count)
            while end < polygonIndex.count, polygonIndex[end - 1] >= 0 { end += 1 }
            // (Only a block ending the index list may end without a closing negative index.)
            return Block(
                corners: start..<end, firstPolygon: firstPolygon, polygons: polygonIndex[start..<end].count { $0 < 0 })
        }
        func computeKeys(_ block: Block, into keys: inout [VertexKey]) -> Bool {
            var outOfRange = false
            var p = block.firstPolygon
            keys.removeAll(keepingCapacity: true)
            for k in block.corners {
                let raw = polygonIndex[k]
                let v = raw < 0 ? Int(~raw) : Int(raw)
                // An index past the points is an error the welding pass reports; its key is never used.
                keys.append(v < pointCount ? vertex(k, v, p, &outOfRange) : VertexKey())
                if raw < 0 { p += 1 }
            }
            return outOfRange
        }
        func weldBlock(_ block: Block, _ keys: [VertexKey]) -> ProcessingError? {
            var polygon = block.firstPolygon
            for k in block.corners {
                let raw = polygonIndex[k]
                let v = raw < 0 ? Int(~raw) : Int(raw)
                guard v < pointCount else {
                    return doc.badInput(
                        "mesh '\(name)' has a polygon vertex index \(v) beyond its \(pointCount) vertices")
                }
                corners.append((k, v))
                if raw < 0 || k == polygonIndex.count - 1 {
                    emit(corners, polygon: polygon, keys: keys, keysStart: block.corners.lowerBound)
                    corners.removeAll(keepingCapacity: true)
                    polygon += 1
                }
            }
            return nil
        }
        var current = block(from: 0, firstPolygon: 0)
        var keys: [VertexKey] = []
        var aheadKeys: [VertexKey] = []
        var keysOutOfRange = computeKeys(current, into: &keys)
        while !current.corners.isEmpty {
            let ahead = block(from: current.corners.upperBound, firstPolygon: current.firstPolygon + current.polygons)
            var aheadOutOfRange = false
            var failure: ProcessingError?
            parallelFor(ahead.corners.isEmpty ? 1 : 2, threads: b.threads) { task in
                if task == 0 {
                    failure = weldBlock(current, keys)
                } else {
                    aheadOutOfRange = computeKeys(ahead, into: &aheadKeys)
                }
            }
            if let failure { throw failure }
            outOfRange = outOfRange || keysOutOfRange
            (keys, aheadKeys, keysOutOfRange, current) = (aheadKeys, keys, aheadOutOfRange, ahead)
        }
        if dropped > 0 { b.warn("mesh '\(name)': \(dropped) point or line polygon(s) were dropped") }
        if outOfRange { b.warn("mesh '\(name)' has layer indices out of range; those values were zeroed") }
        var mesh = Mesh(name: name)
        for target in materialOfPrimitive.indices where !indices[target].isEmpty {
            var primitive = Primitive()
            primitive.material = materialOfPrimitive[target]
            (primitive.indices, indices[target]) = (indices[target], [])
            primitive.vertices = materialOfPrimitive.count == 1 ? pool.takeAll() : pool.vertices(of: target)
            mesh.primitives.append(primitive)
        }
        return mesh
    }
}

/// The welded vertices of one mesh being read, for all its primitives: a corner becomes a vertex only if no vertex
/// of its primitive made from the same control point has the same values. The candidates are found through a chain
/// per point (every vertex made from point v, newest first) and compared with the stored streams: no hashing, no
/// copy of the keys, and plain arrays in the hot loop. Vertices are split per primitive at the end.
private struct WeldPool {
    private var streams = VertexStreams()
    private var uv0: [SIMD2<Float>] = []
    private var uv1: [SIMD2<Float>] = []
    private var head: [Int32]
    private var next: [Int32] = []
    private var primitiveOfVertex: [Int32] = []
    private var localIndex: [UInt32] = []
    private var countOfPrimitive: [UInt32] = []
    private let normals: Bool, tangents: Bool, texcoords: Int, colors: Bool

    init(points: Int, normals: Bool, tangents: Bool, texcoords: Int, colors: Bool) {
        head = [Int32](repeating: -1, count: points)
        (self.normals, self.tangents, self.texcoords, self.colors) = (normals, tangents, texcoords, colors)
    }

    mutating func addPrimitive() { countOfPrimitive.append(0) }

    /// The index in primitive `target` of the vertex with `key`'s values, added if new.
    mutating func weld(_ key: FBXMeshes.VertexKey, into target: Int) -> UInt32 {
        var g = Int(head[Int(key.point)])
        while g >= 0 {
            if primitiveOfVertex[g] == Int32(target), !normals || streams.normals[g] == key.normal,
                !tangents || streams.tangents[g] == key.tangent, texcoords < 1 || uv0[g] == key.uv0,
                texcoords < 2 || uv1[g] == key.uv1, !colors || streams.colors[g] == key.color
            {
                return localIndex[g]
            }
            g = Int(next[g])
        }
        let index = countOfPrimitive[target]
        countOfPrimitive[target] += 1
        streams.positions.append(key.position)
        if normals { streams.normals.append(key.normal) }
        if tangents { streams.tangents.append(key.tangent) }
        if texcoords > 0 { uv0.append(key.uv0) }
        if texcoords > 1 { uv1.append(key.uv1) }
        if colors { streams.colors.append(key.color) }
        next.append(head[Int(key.point)])
        head[Int(key.point)] = Int32(localIndex.count)
        primitiveOfVertex.append(Int32(target))
        localIndex.append(index)
        return index
    }

    /// Every vertex (the mesh has one primitive); the pool is empty afterwards.
    mutating func takeAll() -> VertexStreams {
        var result = VertexStreams()
        swap(&result, &streams)
        result.texcoords = [uv0, uv1].prefix(texcoords).map { $0 }
        self = WeldPool(points: 0, normals: normals, tangents: tangents, texcoords: texcoords, colors: colors)
        return result
    }

    /// The vertices of primitive `target`, in their index order.
    func vertices(of target: Int) -> VertexStreams {
        let members = primitiveOfVertex.indices.filter { primitiveOfVertex[$0] == Int32(target) }
        var result = VertexStreams()
        result.positions = members.map { streams.positions[$0] }
        if normals { result.normals = members.map { streams.normals[$0] } }
        if tangents { result.tangents = members.map { streams.tangents[$0] } }
        result.texcoords = [uv0, uv1].prefix(texcoords).map { set in members.map { set[$0] } }
        if colors { result.colors = members.map { streams.colors[$0] } }
        return result
    }
}

private func finite(_ x: Float) -> Float { x.isFinite ? x : 0 }

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
