import FoundationEssentials
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
        /// The corner the per-corner array starts at (a layer read block by block holds one block's part).
        var first = 0

        /// The values' start offset for corner `k` of polygon `p` at control point `v`; nil when out of range.
        @inline(__always)
        func offset(_ k: Int, _ v: Int, _ p: Int) -> Int? {
            var i: Int
            switch mapping {
            case .polygonVertex: i = k - first
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

        /// Hands over (and forgets) the Double array of `node`.
        mutating func take(_ node: Int) -> [Double] { doubleArrays.removeValue(forKey: node) ?? [] }

        func floats(_ node: Int) -> [Float] { floatArrays[node] ?? [] }

        func integers(_ node: Int?) -> [Int32] { node.flatMap { integerArrays[$0] } ?? [] }
    }

    // MARK: Meshes

    /// A mesh's float layers (nil where it has none).
    private struct CornerLayers {
        var normals, tangents, binormals, uv0, uv1, colors: Element<Float>?
    }

    /// A layer's per-corner array decoded block by block: which of `CornerLayers` it fills, from which node,
    /// whether it holds the layer's indices (else its values) and how many elements each corner has in it.
    private struct LayerStream {
        var path: WritableKeyPath<CornerLayers, Element<Float>?>
        var node: Int
        var indices: Bool
        var width: Int
        var reader: FBXArrayReader
    }

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
        let floatSources: [(WritableKeyPath<CornerLayers, Element<Float>?>, ElementSource?)] = [
            (\.normals, normalSource), (\.tangents, tangentSource), (\.binormals, binormalSource),
            (\.uv0, uvSources.first), (\.uv1, uvSources.dropFirst().first), (\.colors, colorSource)
        ]
        // Per-corner arrays of layers mapped `ByPolygonVertex` (their values, or their indices when they have them)
        // that are stored in a binary file are decoded block by block alongside the weld, not whole before it
        // (inflating them was a third of a large mesh's import).
        var streams: [LayerStream] = []
        // Positions are read as Float, or as Double and then moved in Double by the geometric transform.
        let applyGeometric = geometric != .identity
        var requests: [ArrayRequest] = []
        if let positionNode { requests.append(applyGeometric ? .doubles(positionNode) : .floats(positionNode)) }
        // The polygons are read block by block too when the file is binary (the weld checks every index anyway).
        let polygonReader = try polygonNode.flatMap(doc.arrayReader)
        if let polygonNode, polygonReader == nil { requests.append(.integers(polygonNode)) }
        for case (let path, let source?) in floatSources {
            let perCorner = source.indices ?? source.values
            if source.mapping == .polygonVertex, let reader = try doc.arrayReader(perCorner) {
                let indexed = source.indices != nil
                streams.append(
                    LayerStream(
                        path: path, node: perCorner, indices: indexed, width: indexed ? 1 : source.width, reader: reader
                    ))
                if indexed { requests.append(.floats(source.values)) }
                continue
            }
            requests.append(.floats(source.values))
            if let indices = source.indices { requests.append(.integers(indices)) }
        }
        if let materialSource {
            requests.append(.integers(materialSource.values))
            if let indices = materialSource.indices { requests.append(.integers(indices)) }
        }
        var decoded = try DecodedArrays(doc, requests, threads: b.threads)
        let positions =
            positionNode.map { applyGeometric ? transformed(decoded.take($0), by: geometric) : decoded.floats($0) }
            ?? []
        var polygonIndex = PolygonIndex(
            reader: polygonReader, node: polygonNode ?? 0,
            decoded: polygonReader == nil ? decoded.integers(polygonNode) : [])
        let cornerCount = polygonIndex.count
        let pointCount = positions.count / 3
        let normalMatrix = applyGeometric ? (geometric.inverse.map(transposed) ?? .identity) : nil
        for value in positions.prefix(pointCount * 3) where !value.isFinite {
            throw doc.badInput("mesh '\(name)' has vertex positions that are NaN, infinite or beyond Float's range")
        }
        // Control point `v` in the mesh's space.
        func point(_ v: Int) -> SIMD3<Float> { SIMD3(positions[3 * v], positions[3 * v + 1], positions[3 * v + 2]) }

        var layers = CornerLayers()
        for case (let path, let source?) in floatSources {
            let streamed = streams.first { $0.path == path }.map(\.indices)
            layers[keyPath: path] = Element(
                mapping: source.mapping, values: streamed == false ? [] : decoded.floats(source.values),
                indices: streamed == true ? [] : source.indices.map(decoded.integers), width: source.width)
        }
        if var normals = layers.normals, !normals.values.isEmpty {
            layers.normals = nil  // so the values are changed in place
            unitNormals(&normals.values, width: normals.width, matrix: normalMatrix, threads: b.threads)
            layers.normals = normals
        }
        let materialLayer = materialSource.map {
            Element(
                mapping: $0.mapping, values: decoded.integers($0.values), indices: $0.indices.map(decoded.integers),
                width: 1)
        }
        let hasTangents = layers.normals != nil && layers.tangents != nil && layers.binormals != nil

        // One primitive per material slot, in order of first use. Corners are welded by value (one vertex per
        // distinct point/normal/tangent/UV/color and material) in pools of consecutive control points, in
        // parallel (a vertex only ever equals vertices of its own point); a sequential pass then numbers each
        // primitive's vertices in order of first use, so the output is what one sequential weld would give, whatever
        // the thread count.
        let slotBits = PoolLayout.slotBits(points: pointCount)
        let partitions = max(1, (pointCount + (1 << slotBits) - 1) >> slotBits)
        var pools = (0..<partitions).map { _ in
            WeldPool(
                points: 1 << slotBits, expected: min(1 << slotBits, cornerCount / partitions + 1),
                normals: layers.normals != nil, tangents: hasTangents,
                texcoords: layers.uv1 != nil ? 2 : layers.uv0 != nil ? 1 : 0, colors: layers.colors != nil,
                recordPoints: !deformers.isEmpty)
        }
        var numbering = Numbering(slotBits: slotBits)
        var outOfRange = false

        // The values of corner `k` (point `v`, polygon `p`); sets `outOfRange` when a layer has no value for it.
        func vertex(_ layers: CornerLayers, _ k: Int, _ v: Int, _ p: Int, _ outOfRange: inout Bool) -> VertexKey {
            var key = VertexKey(position: point(v))
            if let normals = layers.normals {
                if let o = normals.offset(k, v, p) {
                    key.normal = SIMD3(normals.values[o], normals.values[o + 1], normals.values[o + 2])
                } else {
                    outOfRange = true
                }
            }
            if hasTangents, let tangents = layers.tangents, let binormals = layers.binormals {
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
            func texcoord(_ uv: Element<Float>?) -> SIMD2<Float> {
                guard let uv else { return .zero }
                guard let o = uv.offset(k, v, p) else {
                    outOfRange = true
                    return .zero
                }
                return SIMD2<Float>(finite(uv.values[o]), 1 - finite(uv.values[o + 1]))
            }
            (key.uv0, key.uv1) = (texcoord(layers.uv0), texcoord(layers.uv1))
            if let colors = layers.colors {
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

        // The next block of whole polygons, from corner `start` (about 64 K corners; every index is checked), into
        // the storage of `polygons`, with the values of its corners in each streamed layer.
        func block(from start: Int, firstPolygon: Int, reusing polygons: [Polygon]) throws -> Block {
            let corners = try polygonIndex.next(65_536, doc)
            var block = Block(start: start, end: start + corners.count, firstPolygon: firstPolygon, corners: corners)
            block.polygons = polygons
            block.polygons.removeAll(keepingCapacity: true)
            var polygonStart = start
            for k in start..<block.end {
                let raw = corners[k - start]
                let v = controlPoint(raw)
                guard v < pointCount else {
                    throw doc.badInput(
                        "mesh '\(name)' has a polygon vertex index \(v) beyond its \(pointCount) vertices")
                }
                guard raw < 0 || k == cornerCount - 1 else { continue }
                let first = controlPoint(corners[polygonStart - start])
                block.polygons.append(
                    Polygon(
                        end: k + 1, material: material(polygonStart, first, firstPolygon + block.polygons.count),
                        hasArea: k + 1 - polygonStart >= 3))
                polygonStart = k + 1
            }
            block.chunks = try streams.map { stream in
                // The stream's elements for these corners (as many as it has).
                func read<T: FBXArrayElement>() throws -> [T] {
                    let width = stream.width
                    let count = max(0, min(block.end * width, stream.reader.count) - start * width)
                    guard let chunk: [T] = stream.reader.next(count) else { throw doc.corruptArray(stream.node) }
                    return chunk
                }
                if stream.indices { return .indices(try read()) }
                var values: [Float] = try read()
                if stream.path == \CornerLayers.normals {
                    unitNormals(&values, width: stream.width, matrix: normalMatrix, threads: 1)
                }
                return .values(values)
            }
            return block
        }

        // Block after block: the pools weld this block's corners while one more worker numbers the vertices of the
        // previous block and emits its triangles (in block order, so numbering stays sequential) and another reads
        // the next block.
        var previous: Block?
        var current = try block(from: 0, firstPolygon: 0, reusing: [])
        var spare: [Polygon] = []
        while current.start < cornerCount {
            for (stream, chunk) in zip(streams, current.chunks) {
                switch chunk {
                case .values(let values): layers[keyPath: stream.path]?.values = values
                case .indices(let indices): layers[keyPath: stream.path]?.indices = indices
                }
                layers[keyPath: stream.path]?.first = current.start
            }
            current.chunks = []
            current.welded = [UInt32](repeating: 0, count: current.end - current.start)
            let (start, polygons, firstPolygon, corners) =
                (current.start, current.polygons, current.firstPolygon, current.corners)
            let blockLayers = layers
            let outOfRangeIn = Slots<Bool>(partitions)
            let end = current.end
            var upcoming: Result<Block, any Error> = .success(Block())
            current.welded.withUnsafeMutableBufferPointer { welded in
                pools.withUnsafeMutableBufferPointer { pools in
                    // Task 0 reads the next block, task 1 numbers the previous one; task 2 + p welds pool p's corners
                    // of this one (each worker changes only its own pool and the corners of its pool's points).
                    nonisolated(unsafe) let (welded, pools) = (welded, pools)
                    parallelFor(partitions + 2, threads: b.threads) { task in
                        switch task {
                        case 0:
                            var storage: [Polygon] = []
                            swap(&storage, &spare)
                            upcoming = Result {
                                try block(
                                    from: end, firstPolygon: firstPolygon + polygons.count, reusing: storage)
                            }
                        case 1:
                            if let previous { numbering.number(previous, point: point) }
                        default:
                            let part = task - 2
                            var flag = false
                            var cornerStart = start
                            for (i, polygon) in polygons.enumerated() {
                                defer { cornerStart = polygon.end }
                                guard polygon.hasArea else { continue }
                                for k in cornerStart..<polygon.end {
                                    let v = controlPoint(corners[k - start])
                                    guard v >> slotBits == part else { continue }
                                    let key = vertex(blockLayers, k, v, firstPolygon + i, &flag)
                                    welded[k - start] = pools[part].weld(
                                        key, point: v, slot: v & (1 << slotBits - 1), material: polygon.material)
                                }
                            }
                            outOfRangeIn[part] = flag
                        }
                    }
                }
            }
            outOfRange = outOfRange || (0..<partitions).contains { outOfRangeIn[$0] == true }
            numbering.reserve(vertices: pools.map(\.count).max() ?? 0)
            spare = previous?.polygons ?? []
            (previous, current) = (current, try upcoming.get())
        }
        for stream in streams where !stream.reader.finish() { throw doc.corruptArray(stream.node) }
        try polygonIndex.finish(doc)
        if let previous { numbering.number(previous, point: point) }
        let (materialOfPrimitive, dropped) = (numbering.materialOfPrimitive, numbering.dropped)
        var (indices, members) = (numbering.indices, numbering.members)
        numbering = Numbering(slotBits: slotBits)
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
    var end = 0
    var firstPolygon = 0
    var corners: [Int32] = []  // their `PolygonVertexIndex` entries
    var polygons: [Polygon] = []
    var welded: [UInt32] = []  // per corner: its vertex in its point's pool
    var chunks: [LayerChunk] = []  // per streamed layer: its array for these corners
}

/// A mesh's `PolygonVertexIndex`, handed out a block of whole polygons at a time: decoded as it goes from the file,
/// or from an array decoded whole (ASCII).
private struct PolygonIndex {
    let reader: FBXArrayReader?
    let node: Int
    let decoded: [Int32]
    /// Entries taken from the array, and those of them not yet handed out (past the last block's end).
    private var taken = 0
    private var carried: [Int32] = []

    init(reader: FBXArrayReader?, node: Int, decoded: [Int32]) {
        (self.reader, self.node, self.decoded) = (reader, node, decoded)
    }

    var count: Int { reader?.count ?? decoded.count }

    /// The next `size` entries (fewer at the end), and more up to the end of the polygon they stop in.
    mutating func next(_ size: Int, _ doc: FBXDocument) throws -> [Int32] {
        var block = carried
        carried = []
        block += try take(size - block.count, doc)
        while let last = block.last, last >= 0, taken < count {
            let more = try take(1_024, doc)
            guard let end = more.firstIndex(where: { $0 < 0 }) else {
                block += more
                continue
            }
            block += more[...end]
            carried = Array(more[(end + 1)...])
        }
        return block
    }

    /// Up to `n` entries more from the array.
    private mutating func take(_ n: Int, _ doc: FBXDocument) throws -> [Int32] {
        let n = max(0, min(n, count - taken))
        defer { taken += n }
        guard let reader else { return Array(decoded[taken..<taken + n]) }
        guard let entries: [Int32] = reader.next(n) else { throw doc.corruptArray(node) }
        return entries
    }

    /// Throws when the array's data does not end where its last entry does.
    func finish(_ doc: FBXDocument) throws {
        if let reader, !reader.finish() { throw doc.corruptArray(node) }
    }
}

/// A block's part of a layer's per-corner array.
private enum LayerChunk {
    case values([Float])
    case indices([Int32])
}

/// Numbers welded vertices per primitive in order of first use and emits the triangles, block after block.
private struct Numbering {
    let slotBits: Int
    var materialOfPrimitive: [Int?] = []
    var indices: [[UInt32]] = []
    /// Per primitive, its vertices in index order as members (`PoolLayout.member`).
    var members: [[Int]] = []
    /// Per member: its index in its primitive, or `UInt32.max`.
    var numbered: [UInt32] = []
    var primitiveOfSlot: [Int: Int] = [:]
    var last: (material: Int?, target: Int)?
    var local: [UInt32] = []
    var triangulator = PolygonTriangulator()
    /// Point and line polygons skipped.
    var dropped = 0

    init(slotBits: Int) { self.slotBits = slotBits }

    /// Makes room for the members of pools that hold up to `vertices` vertices each.
    mutating func reserve(vertices: Int) {
        let slots = vertices << PoolLayout.poolBits
        if numbered.count < slots {
            numbered.append(contentsOf: repeatElement(UInt32.max, count: slots - numbered.count))
        }
    }

    mutating func number(_ block: Block, point: (Int) -> SIMD3<Float>) {
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
                let raw = block.corners[k - block.start]
                let member = PoolLayout.member(block.welded[k - block.start], pool: controlPoint(raw) >> slotBits)
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
                let raw = block.corners[first - block.start + $0]
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

/// How the FBX reader splits a mesh's control points into weld pools: ranges of consecutive points, so each pool's
/// worker touches its own part of the positions and of the layers that follow them.
private enum PoolLayout {
    /// At most 2^2 pools: with the reading and numbering tasks, enough for the dynamic scheduling to keep two
    /// workers busy; each more pool costs one more scan of every block (eight were slower on 2 cores, two left a
    /// worker idle). Fixed, so the output never depends on the thread count.
    static let poolBits = 2

    /// Control points per pool, as a power of two: pool `point >> bits` holds chain `point & (2^bits - 1)`.
    static func slotBits(points: Int) -> Int {
        var bits = 0
        while (1 << bits) << poolBits < points { bits += 1 }
        return bits
    }

    /// A welded vertex of all pools as one number: its index in its pool, then the pool.
    static func member(_ vertex: UInt32, pool: Int) -> Int { Int(vertex) << poolBits | pool }

    /// The pool and the index in it of `member`.
    static func split(_ member: Int) -> (pool: Int, vertex: Int) { (member & (1 << poolBits - 1), member >> poolBits) }
}

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
    func each<T>(_ stream: (WeldPool) -> [T]) -> [T] {
        let sources = pools.map(stream)
        guard !sources.allSatisfy(\.isEmpty) else { return [] }
        return members.map {
            let (pool, vertex) = PoolLayout.split($0)
            return sources[pool][vertex]
        }
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

/// Points `raw` (x, y, z in Double) moved by `matrix`, as Float.
private func transformed(_ raw: [Double], by matrix: DMatrix) -> [Float] {
    var result: [Float] = []
    result.reserveCapacity(raw.count / 3 * 3)
    for v in 0..<raw.count / 3 {
        let p = SIMD3<Float>(matrix.point(SIMD3(raw[3 * v], raw[3 * v + 1], raw[3 * v + 2])))
        result.append(p.x)
        result.append(p.y)
        result.append(p.z)
    }
    return result
}

/// Makes each normal in `values` (every `width` floats; the first three are its direction) a unit vector, moved by
/// `matrix` first when there is one (computed in Double; zero or non-finite ones become +Z). Done once per stored
/// normal rather than once per corner that uses it.
private func unitNormals(_ values: inout [Float], width: Int, matrix: DMatrix?, threads: Int) {
    let count = values.count / width
    let pieces = (count + 65_535) / 65_536
    values.withUnsafeMutableBufferPointer { values in
        nonisolated(unsafe) let values = values  // each piece changes only its own normals
        parallelFor(pieces, threads: threads) { piece in
            for i in piece * 65_536..<min(count, (piece + 1) * 65_536) {
                let o = i * width
                var n = SIMD3<Double>(SIMD3(values[o], values[o + 1], values[o + 2]))
                if let matrix { n = matrix.direction(n) }
                let u = SIMD3<Float>(unitOrZ(n))
                (values[o], values[o + 1], values[o + 2]) = (u.x, u.y, u.z)
            }
        }
    }
}

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
