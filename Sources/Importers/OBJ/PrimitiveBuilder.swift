import ImportSupport
import Scene

/// A primitive of the output: a material slot (nil = the default material) and a kind.
struct PrimitiveKey: Hashable {
    var material: Int?
    var mode: Primitive.Mode
}

/// A run of consecutive elements of one piece that go to the same primitive.
struct Segment {
    var piece: Int
    var elements: Range<Int>
    var firstCorner: Int
}

/// Which elements go to which primitive, in order of first use.
struct PrimitivePlan {
    var keys: [PrimitiveKey] = []
    var segments: [[Segment]] = []

    init(_ pieces: [ParsedPiece], materialNames libraries: inout MaterialLibraries) {
        var keyIndex: [PrimitiveKey: Int] = [:]
        var material: Int?
        for (pieceIndex, piece) in pieces.enumerated() {
            var change = 0
            var corner = 0
            var open: (key: Int, start: Int, corner: Int)?
            var cached: (material: Int?, mode: Primitive.Mode, key: Int)?
            for element in piece.elements.indices {
                while change < piece.materialChanges.count, piece.materialChanges[change].element == element {
                    material = libraries.slot(named: piece.materialChanges[change].name)
                    change += 1
                }
                let raw = piece.elements[element]
                let count = Int(raw & 0x3FFF_FFFF)
                let mode: Primitive.Mode
                switch ElementKind(rawValue: raw >> 30)! {
                case .face: mode = count >= 3 ? .triangles : count == 2 ? .lines : .points
                case .line: mode = count >= 2 ? .lines : .points
                case .point: mode = .points
                }
                let key: Int
                if let cached, cached.material == material, cached.mode == mode {
                    key = cached.key
                } else {
                    let primitiveKey = PrimitiveKey(material: material, mode: mode)
                    if let existing = keyIndex[primitiveKey] {
                        key = existing
                    } else {
                        key = keys.count
                        keyIndex[primitiveKey] = key
                        keys.append(primitiveKey)
                        segments.append([])
                    }
                    cached = (material, mode, key)
                }
                if let current = open, current.key != key {
                    segments[current.key].append(
                        Segment(
                            piece: pieceIndex, elements: current.start..<element,
                            firstCorner: current.corner))
                    open = nil
                }
                if open == nil { open = (key, element, corner) }
                corner += count
            }
            if let current = open {
                segments[current.key].append(
                    Segment(
                        piece: pieceIndex, elements: current.start..<piece.elements.count,
                        firstCorner: current.corner))
            }
            while change < piece.materialChanges.count {
                material = libraries.slot(named: piece.materialChanges[change].name)
                change += 1
            }
        }
    }
}

/// Triangulates and welds the elements of one primitive: one vertex per distinct index triple, in order of first
/// use, found through a chain per position index (no hashing). Reused across primitives by one worker.
struct PrimitiveBuilder {
    let data: VertexData
    let colors: [SIMD4<Float>]
    let path: String
    /// First vertex per position index (-1: none yet); reset after each primitive.
    private var head: [Int32]
    private var chain: [Int32] = []
    private var vertexPositions: [UInt32] = []
    private var vertexTexcoords: [UInt32] = []
    private var vertexNormals: [UInt32] = []
    private var polygon: [UInt32] = []
    private var triangulator = PolygonTriangulator()

    init(data: VertexData, colors: [SIMD4<Float>], positionCount: Int, path: String) {
        self.data = data
        self.colors = colors
        self.path = path
        head = Array(repeating: -1, count: positionCount)
    }

    mutating func build(
        _ key: PrimitiveKey, segments: [Segment], pieces: [ParsedPiece],
        uvTransform: (scale: SIMD2<Float>, offset: SIMD2<Float>)?
    ) throws -> Primitive {
        var indices: [UInt32] = []
        var hasTexcoords = false
        var hasNormals = false
        defer {
            for position in vertexPositions { head[Int(position)] = -1 }
            chain.removeAll(keepingCapacity: true)
            vertexPositions.removeAll(keepingCapacity: true)
            vertexTexcoords.removeAll(keepingCapacity: true)
            vertexNormals.removeAll(keepingCapacity: true)
        }
        for segment in segments {
            let piece = pieces[segment.piece]
            hasTexcoords = hasTexcoords || !piece.cornerTexcoords.isEmpty
            hasNormals = hasNormals || !piece.cornerNormals.isEmpty
        }
        for segment in segments {
            let piece = pieces[segment.piece]
            var corner = segment.firstCorner
            for element in segment.elements {
                let count = Int(piece.elements[element] & 0x3FFF_FFFF)
                defer { corner += count }
                switch key.mode {
                case .triangles where count == 3:
                    for k in 0..<3 { indices.append(vertex(piece, corner + k, hasTexcoords, hasNormals)) }
                case .triangles:
                    polygon.removeAll(keepingCapacity: true)
                    for k in 0..<count { polygon.append(vertex(piece, corner + k, hasTexcoords, hasNormals)) }
                    let positions = data.positions
                    let cornerPositions = piece.cornerPositions
                    let base = corner
                    let welded = polygon
                    let point: (Int) -> SIMD3<Float> = { positions[Int(cornerPositions[base + $0])] }
                    triangulator.triangulate(count: count, point: point) {
                        indices.append(welded[$0])
                        indices.append(welded[$1])
                        indices.append(welded[$2])
                    }
                case .lines:
                    var previous = vertex(piece, corner, hasTexcoords, hasNormals)
                    for k in 1..<max(count, 1) {
                        let current = vertex(piece, corner + k, hasTexcoords, hasNormals)
                        indices.append(previous)
                        indices.append(current)
                        previous = current
                    }
                case .points:
                    for k in 0..<count { indices.append(vertex(piece, corner + k, hasTexcoords, hasNormals)) }
                }
            }
        }

        var primitive = Primitive(mode: key.mode)
        primitive.indices = indices
        var streams = VertexStreams()
        streams.positions = vertexPositions.map { data.positions[Int($0)] }
        guard streams.positions.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else {
            throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
        }
        if hasTexcoords, vertexTexcoords.contains(where: { $0 != absent }) {
            let (scale, offset) = uvTransform ?? (SIMD2(1, 1), SIMD2(0, 0))
            streams.texcoords = [
                vertexTexcoords.map { index in
                    let uv = index == absent ? .zero : data.texcoords[Int(index)] * scale + offset
                    return SIMD2(uv.x.isFinite ? uv.x : 0, uv.y.isFinite ? 1 - uv.y : 0)
                }
            ]
        }
        if hasNormals, !vertexNormals.contains(absent) {
            streams.normals = vertexNormals.map { index in
                let n = data.normals[Int(index)]
                let length = (n * n).sum().squareRoot()
                return length > 0 && length.isFinite ? n / length : SIMD3(0, 0, 1)
            }
        }
        if !colors.isEmpty { streams.colors = vertexPositions.map { colors[Int($0)] } }
        primitive.vertices = streams
        return primitive
    }

    /// The welded vertex for one corner.
    @inline(__always)
    private mutating func vertex(_ piece: ParsedPiece, _ corner: Int, _ hasTexcoords: Bool, _ hasNormals: Bool)
        -> UInt32
    {
        let position = piece.cornerPositions[corner]
        let texcoord = piece.cornerTexcoords.isEmpty ? absent : piece.cornerTexcoords[corner]
        let normal = piece.cornerNormals.isEmpty ? absent : piece.cornerNormals[corner]
        var candidate = head[Int(position)]
        while candidate >= 0 {
            let c = Int(candidate)
            if (!hasTexcoords || vertexTexcoords[c] == texcoord) && (!hasNormals || vertexNormals[c] == normal) {
                return UInt32(c)
            }
            candidate = chain[c]
        }
        let index = vertexPositions.count
        vertexPositions.append(position)
        if hasTexcoords { vertexTexcoords.append(texcoord) }
        if hasNormals { vertexNormals.append(normal) }
        chain.append(head[Int(position)])
        head[Int(position)] = Int32(index)
        return UInt32(index)
    }
}
