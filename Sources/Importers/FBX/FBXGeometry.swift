import Foundation
import ImportSupport
import Scene

/// Builds the meshes of the Models: one Mesh per (geometry, geometric transform, material list), shared by every
/// node that uses the same combination.
struct FBXMeshes {
    private var cache: [MeshKey: (mesh: Int, skin: Int?)] = [:]
    private var materials = FBXMaterials()

    private struct MeshKey: Hashable {
        var geometry: FBXKey
        var geometric: [Double]
        var materials: [FBXKey]
    }

    /// Blend shape channels read as morph targets: (mesh, target) by channel, for their weight animation (a
    /// geometry drawn with two material lists is two meshes).
    private(set) var morphChannels: [FBXKey: [(mesh: Int, target: Int)]] = [:]

    mutating func build(_ b: inout FBXSceneBuilder, modelNodes: [(FBXKey, Int)], nodeOfModel: [FBXKey: Int]) throws {
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
            } else if let (key, object, _) = b.children(of: modelKey, kind: "Geometry").first(where: {
                $0.1.subclass == "Line"
            }) {
                let geometric = b.geometricTransform(model)
                let cacheKey = MeshKey(geometry: key, geometric: geometric.values, materials: [])
                if cache[cacheKey] == nil,
                    let mesh = try readLines(b, geometry: object.node, name: object.name, geometric: geometric)
                {
                    b.scene.meshes.append(mesh)
                    cache[cacheKey] = (b.scene.meshes.count - 1, nil)
                }
                b.scene.nodes[nodeIndex].mesh = cache[cacheKey]?.mesh
                continue
            } else {
                continue
            }
            let materialKeys = b.children(of: modelKey, kind: "Material").map(\.0)
            let geometric = b.geometricTransform(model)
            let key = MeshKey(
                geometry: geometryKey,
                geometric: geometric.values, materials: materialKeys)
            if let cached = cache[key] {
                b.scene.nodes[nodeIndex].mesh = cached.mesh
                b.scene.nodes[nodeIndex].skin = cached.skin
                continue
            }
            let slots = materialKeys.map { materials.material($0, &b) }
            let name = b.objects[geometryKey].map(\.name) ?? model.name
            let deformers = try b.deformers(of: geometryKey, node: geometryNode, nodeOfModel: nodeOfModel)
            // Vertices no cluster weighs follow the mesh's own node (the Assimp route's rule too).
            let fallbackJoint = deformers.joints.firstIndex(of: nodeIndex) ?? deformers.joints.count
            let read = try readMesh(
                &b, geometry: geometryNode, name: name.isEmpty ? model.name : name,
                geometric: geometric, slots: slots, deformers: deformers, fallbackJoint: fallbackJoint)
            var mesh = read.mesh
            guard !mesh.primitives.isEmpty else { continue }
            for i in mesh.primitives.indices where mesh.primitives[i].material == nil {
                mesh.primitives[i].material = materials.defaultMaterial(&b)
            }
            mesh.name = name.isEmpty ? model.name : name
            mesh.weights = deformers.channels.map(\.weight)
            b.scene.meshes.append(mesh)
            let meshIndex = b.scene.meshes.count - 1
            for (target, channel) in deformers.channels.enumerated() {
                morphChannels[channel.key, default: []].append((meshIndex, target))
            }
            var skinIndex: Int?
            if !deformers.clusters.isEmpty {
                var skin = Skin(name: model.name)
                let addsNode = read.usedFallback && fallbackJoint == deformers.joints.count
                skin.joints = deformers.joints + (addsNode ? [nodeIndex] : [])
                skin.inverseBindMatrices = deformers.inverseBinds + (addsNode ? [.identity] : [])
                b.scene.skins.append(skin)
                skinIndex = b.scene.skins.count - 1
            }
            cache[key] = (meshIndex, skinIndex)
            b.scene.nodes[nodeIndex].mesh = meshIndex
            b.scene.nodes[nodeIndex].skin = skinIndex
        }
        b.scene.images = materials.table.images
        b.scene.samplers = materials.table.samplers
        b.scene.textures = materials.table.textures
    }

    /// A `Line` geometry: its `Points` as they are, one segment from each `PointsIndex` entry to the next (a
    /// negative entry, stored as its bitwise NOT, ends a line; the last one, if not negative, wraps to the first), as
    /// the Assimp route reads it. Nil when it has no segment.
    private func readLines(_ b: FBXSceneBuilder, geometry: Int, name: String, geometric: DMatrix) throws -> Mesh? {
        let doc = b.doc
        guard let pointNode = doc.child(geometry, "Points"), let indexNode = doc.child(geometry, "PointsIndex") else {
            return nil
        }
        let raw: [Double] = try doc.array(pointNode)
        let entries: [Int32] = try doc.array(indexNode)
        let count = raw.count / 3
        var primitive = Primitive(mode: .lines)
        for (i, entry) in entries.enumerated() where entry >= 0 {
            let next = controlPoint(entries[i + 1 == entries.count ? 0 : i + 1])
            guard Int(entry) < count, next < count else {
                throw doc.badInput("line '\(name)' has a point index beyond its \(count) points")
            }
            primitive.indices += [UInt32(entry), UInt32(next)]
        }
        guard !primitive.indices.isEmpty else { return nil }
        primitive.vertices.positions = try (0..<count).map { v in
            let p = SIMD3<Float>(geometric.point(SIMD3(raw[3 * v], raw[3 * v + 1], raw[3 * v + 2])))
            guard p.x.isFinite, p.y.isFinite, p.z.isFinite else {
                throw doc.badInput("line '\(name)' has points that are NaN, infinite or beyond Float's range")
            }
            return p
        }
        var mesh = Mesh(name: name)
        mesh.primitives = [primitive]
        return mesh
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

    private struct DecodedArrays {
        private var doubleArrays: [Int: [Double]] = [:]
        private var floatArrays: [Int: [Float]] = [:]
        private var integerArrays: [Int: [Int32]] = [:]

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
            // The arrays are allocated here, one after another, and filled by the workers: where they land in the
            // heap (and so the peak memory of the stages after the import) does not depend on which worker is faster.
            var doubles: [[Double]] = []
            var floats: [[Float]] = []
            var integers: [[Int32]] = []
            let slots = ordered.map { request -> Int in
                switch request {
                case .doubles(let n):
                    doubles.append([Double](repeating: 0, count: doc.arrayCount(of: n)))
                    return doubles.count - 1
                case .floats(let n):
                    floats.append([Float](repeating: 0, count: doc.arrayCount(of: n)))
                    return floats.count - 1
                case .integers(let n):
                    integers.append([Int32](repeating: 0, count: doc.arrayCount(of: n)))
                    return integers.count - 1
                }
            }
            let errors = Slots<any Error>(ordered.count)
            doubles.withUnsafeMutableBufferPointer { d in
                floats.withUnsafeMutableBufferPointer { f in
                    integers.withUnsafeMutableBufferPointer { i in
                        nonisolated(unsafe) let (d, f, i) = (d, f, i)  // each worker fills its own arrays
                        parallelFor(ordered.count, threads: threads) { k in
                            do {
                                switch ordered[k] {
                                case .doubles(let n):
                                    try d[slots[k]].withUnsafeMutableBufferPointer { try doc.fill(n, into: $0) }
                                case .floats(let n):
                                    try f[slots[k]].withUnsafeMutableBufferPointer { try doc.fill(n, into: $0) }
                                case .integers(let n):
                                    try i[slots[k]].withUnsafeMutableBufferPointer { try doc.fill(n, into: $0) }
                                }
                            } catch {
                                errors[k] = error
                            }
                        }
                    }
                }
            }
            for (k, request) in ordered.enumerated() {
                if let error = errors[k] { throw error }
                switch request {
                case .doubles(let n): doubleArrays[n] = doubles[slots[k]]
                case .floats(let n): floatArrays[n] = floats[slots[k]]
                case .integers(let n): integerArrays[n] = integers[slots[k]]
                }
            }
        }

        func doubles(_ node: Int) -> [Double] { doubleArrays[node] ?? [] }

        func floats(_ node: Int) -> [Float] { floatArrays[node] ?? [] }

        func integers(_ node: Int?) -> [Int32] { node.flatMap { integerArrays[$0] } ?? [] }
    }

    // MARK: Meshes

    /// One corner's vertex values (zero where the mesh has no such layer).
    fileprivate struct VertexKey {
        var position: SIMD3<Float> = .zero
        var normal: SIMD3<Float> = .zero
        var tangent: SIMD4<Float> = .zero
        var uv0: SIMD2<Float> = .zero
        var uv1: SIMD2<Float> = .zero
        var color: SIMD4<Float> = .zero
    }

    /// The mesh, and whether a vertex of a skinned mesh has no weights (it is bound to `fallbackJoint`).
    private mutating func readMesh(
        _ b: inout FBXSceneBuilder, geometry: Int, name: String, geometric: DMatrix,
        slots: [Int], deformers: FBXDeformers, fallbackJoint: Int
    ) throws -> (mesh: Mesh, usedFallback: Bool) {
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

        // One primitive per material slot, in order of first use. Corners are welded by value (one vertex per
        // distinct point/normal/tangent/UV/color and material) in `weldPartitions` pools split by control point, in
        // parallel (a vertex only ever equals vertices of its own point); a sequential pass then numbers each
        // primitive's vertices in order of first use, so the output is what one sequential weld would give, whatever
        // the thread count.
        let partitions = weldPartitions
        let pointsPerPool = (pointCount + partitions - 1) / partitions
        var pools = (0..<partitions).map { _ in
            WeldPool(
                points: pointsPerPool, expected: min(pointsPerPool, polygonIndex.count / partitions + 1),
                normals: normals != nil, tangents: hasTangents, texcoords: uvs.count, colors: colors != nil,
                recordPoints: !deformers.isEmpty)
        }
        var numbering = Numbering(partitions: partitions)
        var outOfRange = false

        // The values of corner `k` (point `v`, polygon `p`); sets `outOfRange` when a layer has no value for it.
        func vertex(_ k: Int, _ v: Int, _ p: Int, _ outOfRange: inout Bool) -> VertexKey {
            var key = VertexKey(position: point(v))
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

        // The material of polygon `p` starting at corner `k` (point `v`): an index into `slots`' values, or nil.
        func material(_ k: Int, _ v: Int, _ p: Int) -> Int? {
            var slot = 0
            if let materialLayer, let o = materialLayer.offset(k, v, p) { slot = Int(materialLayer.values[o]) }
            return slot >= 0 && slot < slots.count ? slots[slot] : nil
        }

        // Blocks of whole polygons: a sequential pass finds the polygons (and checks every index); then the pools
        // weld this block's corners while one more worker numbers the vertices of the previous block and emits its
        // triangles (in block order, so numbering stays sequential).
        var previous: Block?
        var current = Block()
        while current.start < polygonIndex.count {
            let start = current.start
            var end = min(start + 65_536, polygonIndex.count)
            while end < polygonIndex.count, polygonIndex[end - 1] >= 0 { end += 1 }
            current.polygons.removeAll(keepingCapacity: true)
            var polygonStart = start
            for k in start..<end {
                let raw = polygonIndex[k]
                let v = controlPoint(raw)
                guard v < pointCount else {
                    throw doc.badInput(
                        "mesh '\(name)' has a polygon vertex index \(v) beyond its \(pointCount) vertices")
                }
                guard raw < 0 || k == polygonIndex.count - 1 else { continue }
                let first = controlPoint(polygonIndex[polygonStart])
                current.polygons.append(
                    Polygon(
                        end: k + 1,
                        material: material(polygonStart, first, current.firstPolygon + current.polygons.count),
                        hasArea: k + 1 - polygonStart >= 3))
                polygonStart = k + 1
            }
            current.welded = [UInt32](repeating: 0, count: end - start)
            let block = current.polygons
            let firstPolygon = current.firstPolygon
            let outOfRangeIn = Slots<Bool>(partitions)
            current.welded.withUnsafeMutableBufferPointer { welded in
                pools.withUnsafeMutableBufferPointer { pools in
                    // Task 0 numbers the previous block; task 1 + p welds pool p's corners of this one (each worker
                    // changes only its own pool and the corners of its pool's points).
                    nonisolated(unsafe) let (welded, pools) = (welded, pools)
                    parallelFor(partitions + 1, threads: b.threads) { task in
                        guard task > 0 else {
                            if let previous { numbering.number(previous, polygonIndex, point: point) }
                            return
                        }
                        let part = task - 1
                        var flag = false
                        var cornerStart = start
                        for (i, polygon) in block.enumerated() {
                            defer { cornerStart = polygon.end }
                            guard polygon.hasArea else { continue }
                            for k in cornerStart..<polygon.end {
                                let raw = polygonIndex[k]
                                let v = controlPoint(raw)
                                guard v % partitions == part else { continue }
                                let key = vertex(k, v, firstPolygon + i, &flag)
                                welded[k - start] = pools[part].weld(
                                    key, point: v, slot: v / partitions, material: polygon.material)
                            }
                        }
                        outOfRangeIn[part] = flag
                    }
                }
            }
            outOfRange = outOfRange || (0..<partitions).contains { outOfRangeIn[$0] == true }
            numbering.reserve(vertices: pools.map(\.count).max() ?? 0)
            let next = Block(start: end, firstPolygon: firstPolygon + block.count, polygons: previous?.polygons ?? [])
            (previous, current) = (current, next)
        }
        if let previous { numbering.number(previous, polygonIndex, point: point) }
        let (materialOfPrimitive, dropped) = (numbering.materialOfPrimitive, numbering.dropped)
        var (indices, members) = (numbering.indices, numbering.members)
        numbering = Numbering(partitions: partitions)
        if dropped > 0 { b.warn("mesh '\(name)': \(dropped) point or line polygon(s) were dropped") }
        if outOfRange { b.warn("mesh '\(name)' has layer indices out of range; those values were zeroed") }
        var deformation =
            deformers.isEmpty
            ? nil
            : FBXPointDeformation(deformers, points: pointCount, geometric: geometric, fallbackJoint: fallbackJoint, &b)
        var mesh = Mesh(name: name)
        for target in materialOfPrimitive.indices where !indices[target].isEmpty {
            var primitive = Primitive()
            primitive.material = materialOfPrimitive[target]
            (primitive.indices, indices[target]) = (indices[target], [])
            let points: [Int32]
            (primitive.vertices, points) = gather(members[target], from: pools)
            members[target] = []
            deformation?.apply(to: &primitive, points: points)
            mesh.primitives.append(primitive)
        }
        return (mesh, deformation?.usedFallback ?? false)
    }
}

/// A run of whole polygons of one mesh (`FBXMeshes.readMesh` reads corners in blocks).
private struct Polygon {
    var end: Int  // one past its last corner
    var material: Int?
    /// Three corners or more: welded and triangulated (points and lines are counted and dropped).
    var hasArea: Bool
}

private struct Block {
    var start = 0
    var firstPolygon = 0
    var polygons: [Polygon] = []
    var welded: [UInt32] = []  // per corner: its vertex in its point's pool
}

/// Numbers welded vertices per primitive in order of first use and emits the triangles, block after block.
private struct Numbering {
    let partitions: Int
    var materialOfPrimitive: [Int?] = []
    var indices: [[UInt32]] = []
    /// Per primitive, its vertices in index order as members (pool vertex × partitions + pool).
    var members: [[Int]] = []
    /// Per member: its index in its primitive, or `UInt32.max`.
    var numbered: [UInt32] = []
    var primitiveOfSlot: [Int: Int] = [:]
    var last: (material: Int?, target: Int)?
    var local: [UInt32] = []
    var triangulator = PolygonTriangulator()
    /// Point and line polygons skipped.
    var dropped = 0

    init(partitions: Int) { self.partitions = partitions }

    /// Makes room for the members of pools that hold up to `vertices` vertices each.
    mutating func reserve(vertices: Int) {
        let slots = vertices * partitions
        if numbered.count < slots {
            numbered.append(contentsOf: repeatElement(UInt32.max, count: slots - numbered.count))
        }
    }

    mutating func number(_ block: Block, _ polygonIndex: [Int32], point: (Int) -> SIMD3<Float>) {
        var cornerStart = block.start
        for polygon in block.polygons {
            defer { cornerStart = polygon.end }
            let n = polygon.end - cornerStart
            guard polygon.hasArea else {
                dropped += 1
                continue
            }
            let target: Int
            if let last, last.material == polygon.material {
                target = last.target
            } else if let known = primitiveOfSlot[polygon.material ?? -1] {
                target = known
            } else {
                target = materialOfPrimitive.count
                primitiveOfSlot[polygon.material ?? -1] = target
                materialOfPrimitive.append(polygon.material)
                indices.append([])
                members.append([])
            }
            last = (polygon.material, target)
            local.removeAll(keepingCapacity: true)
            for k in cornerStart..<polygon.end {
                let raw = polygonIndex[k]
                let member =
                    Int(block.welded[k - block.start]) * partitions + (controlPoint(raw)) % partitions
                if numbered[member] == UInt32.max {
                    numbered[member] = UInt32(members[target].count)
                    members[target].append(member)
                }
                local.append(numbered[member])
            }
            if n == 3 {  // most polygons: skip the triangulator call
                indices[target].append(contentsOf: local)
                continue
            }
            let first = cornerStart
            let cornerPoint: (Int) -> SIMD3<Float> = {
                let raw = polygonIndex[first + $0]
                return point(controlPoint(raw))
            }
            triangulator.triangulate(count: n, point: cornerPoint) { a, b, c in
                indices[target].append(local[a])
                indices[target].append(local[b])
                indices[target].append(local[c])
            }
        }
    }
}

/// How many pools the FBX reader welds in (by control point, point % pools): fixed, so the output never depends on
/// the thread count; more pools than workers cost one extra scan of each block per pool.
private let weldPartitions = 5

/// The welded vertices made from one partition of a mesh's control points: a corner becomes a vertex only if no
/// vertex of the same point and material has the same values. Candidates are found through a chain per point (every
/// vertex made from that point, newest first) and compared with the stored streams: no hashing, no copy of the keys,
/// plain arrays in the hot loop.
private struct WeldPool {
    fileprivate var streams = VertexStreams()
    fileprivate var uv0: [SIMD2<Float>] = []
    fileprivate var uv1: [SIMD2<Float>] = []
    private var head: [Int32]
    private var next: [Int32] = []
    private var material: [Int32] = []
    /// Each vertex's control point, kept for meshes with deformers (their weights and offsets are per point).
    fileprivate var points: [Int32] = []
    private let normals: Bool, tangents: Bool, texcoords: Int, colors: Bool, recordsPoints: Bool

    /// `points`: how many control points this pool's chains are for (their slots); `recordPoints`: keep each
    /// vertex's control point. Room for `expected` vertices is made up front (one per point for most meshes), so a
    /// pool grows while welding only past that (UV or normal seams), and the heap's layout mostly does not depend on
    /// the order in which the workers run.
    init(
        points: Int, expected: Int, normals: Bool, tangents: Bool, texcoords: Int, colors: Bool, recordPoints: Bool
    ) {
        head = [Int32](repeating: -1, count: points)
        (self.normals, self.tangents, self.texcoords, self.colors) = (normals, tangents, texcoords, colors)
        recordsPoints = recordPoints
        if recordPoints { self.points.reserveCapacity(expected) }
        next.reserveCapacity(expected)
        material.reserveCapacity(expected)
        streams.positions.reserveCapacity(expected)
        if normals { streams.normals.reserveCapacity(expected) }
        if tangents { streams.tangents.reserveCapacity(expected) }
        if texcoords > 0 { uv0.reserveCapacity(expected) }
        if texcoords > 1 { uv1.reserveCapacity(expected) }
        if colors { streams.colors.reserveCapacity(expected) }
    }

    var count: Int { next.count }

    /// The vertex with `key`'s values and `material` made from `point` (in chain `slot`), added if new.
    mutating func weld(_ key: FBXMeshes.VertexKey, point: Int, slot: Int, material m: Int?) -> UInt32 {
        let m = Int32(clamping: m ?? -1)
        var g = Int(head[slot])
        while g >= 0 {
            if material[g] == m, !normals || streams.normals[g] == key.normal,
                !tangents || streams.tangents[g] == key.tangent, texcoords < 1 || uv0[g] == key.uv0,
                texcoords < 2 || uv1[g] == key.uv1, !colors || streams.colors[g] == key.color
            {
                return UInt32(g)
            }
            g = Int(next[g])
        }
        streams.positions.append(key.position)
        if normals { streams.normals.append(key.normal) }
        if tangents { streams.tangents.append(key.tangent) }
        if texcoords > 0 { uv0.append(key.uv0) }
        if texcoords > 1 { uv1.append(key.uv1) }
        if colors { streams.colors.append(key.color) }
        if recordsPoints { points.append(Int32(point)) }
        next.append(head[slot])
        head[slot] = Int32(next.count - 1)
        material.append(m)
        return UInt32(next.count - 1)
    }
}

/// The vertices `members` (pool vertex × pools + pool) of `pools`, in that order, and their control points (empty
/// unless the pools record them).
private func gather(_ members: [Int], from pools: [WeldPool]) -> (VertexStreams, [Int32]) {
    let n = pools.count
    func each<T>(_ stream: (WeldPool) -> [T]) -> [T] {
        let sources = pools.map(stream)
        guard !sources.allSatisfy(\.isEmpty) else { return [] }
        return members.map { sources[$0 % n][$0 / n] }
    }
    var result = VertexStreams()
    result.positions = each(\.streams.positions)
    result.normals = each(\.streams.normals)
    result.tangents = each(\.streams.tangents)
    result.colors = each(\.streams.colors)
    result.texcoords = [each(\.uv0), each(\.uv1)].filter { !$0.isEmpty }
    return (result, each(\.points))
}

/// The control point of a `PolygonVertexIndex` entry (a polygon's last corner is stored as its bitwise NOT).
@inline(__always) private func controlPoint(_ raw: Int32) -> Int { Int(raw < 0 ? ~raw : raw) }

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
