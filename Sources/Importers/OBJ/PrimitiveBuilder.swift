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

/// One primitive's triangulated, welded corners: its indices and its vertices, in parts (one per welding worker).
struct WeldedCorners {
    var key: PrimitiveKey
    var indices: [UInt32] = []
    var parts: [WeldedVertices] = []

    var vertexCount: Int { parts.reduce(0) { $0 + $1.positions.count } }
}

/// Welded vertices: per vertex the file's position, texture-coordinate and normal index (the last two only when the
/// primitive keeps them), and its number in the primitive (nil: the vertices are the primitive's, in order).
struct WeldedVertices {
    var positions: [UInt32] = []
    var texcoords: [UInt32]?
    var normals: [UInt32]?
    var numbers: NumberTable?

    /// `positions`, as the optional streams are (for `gather`).
    var positionIndices: [UInt32]? { positions }
}

/// Numbers of welded vertices in their primitive, shared by the workers that fill and read them.
final class NumberTable: @unchecked Sendable {
    let numbers: UnsafeMutableBufferPointer<UInt32>

    init(count: Int) { numbers = .allocate(capacity: count) }

    deinit { numbers.deallocate() }
}

/// The indices an element of `count` corners makes in a primitive of `mode`.
@inline(__always)
func indexCount(corners count: Int, mode: Primitive.Mode) -> Int {
    switch mode {
    case .triangles: (count - 2) * 3
    case .lines: max(count - 1, 0) * 2
    case .points: count
    }
}

/// Triangulates and welds the elements of one primitive: one vertex per distinct index triple, in order of first
/// use, found through a chain per position index (no hashing). Reused across primitives by one worker.
struct CornerWelder {
    let positions: PackedVectors
    /// First vertex per position index (-1: none yet); reset after each primitive.
    private var head: [Int32]
    private var chain: [Int32] = []
    private var polygon: [UInt32] = []
    private var triangulator = PolygonTriangulator()

    init(positions: PackedVectors) {
        self.positions = positions
        head = Array(repeating: -1, count: positions.count)
    }

    mutating func weld(_ key: PrimitiveKey, segments: [Segment], pieces: [ParsedPiece]) -> WeldedCorners {
        var out = WeldedCorners(key: key)
        var vertices = WeldedVertices()
        var indexCount = 0
        var hasTexcoords = false
        var hasNormals = false
        for segment in segments {
            let piece = pieces[segment.piece]
            hasTexcoords = hasTexcoords || piece.cornerTexcoords.isPresent
            hasNormals = hasNormals || piece.cornerNormals.isPresent
            for element in segment.elements {
                indexCount += OBJImporter.indexCount(
                    corners: Int(piece.elements[element] & 0x3FFF_FFFF), mode: key.mode)
            }
        }
        var vertexTexcoords: [UInt32] = []
        var vertexNormals: [UInt32] = []
        defer {
            for position in vertices.positions { head[Int(position)] = -1 }
            chain.removeAll(keepingCapacity: true)
        }
        /// The welded vertex for one corner.
        func vertex(_ piece: ParsedPiece, _ corner: Int) -> UInt32 {
            let position = piece.cornerPositions[corner]
            let texcoord = piece.cornerTexcoords[corner, position: position]
            let normal = piece.cornerNormals[corner, position: position]
            var candidate = head[Int(position)]
            while candidate >= 0 {
                let c = Int(candidate)
                if (!hasTexcoords || vertexTexcoords[c] == texcoord) && (!hasNormals || vertexNormals[c] == normal) {
                    return UInt32(c)
                }
                candidate = chain[c]
            }
            let index = vertices.positions.count
            vertices.positions.append(position)
            if hasTexcoords { vertexTexcoords.append(texcoord) }
            if hasNormals { vertexNormals.append(normal) }
            chain.append(head[Int(position)])
            head[Int(position)] = Int32(index)
            return UInt32(index)
        }

        out.indices.reserveCapacity(indexCount)
        // Vertices: usually one per position used (fewer for a part of the file, more at seams), never more than
        // corners; reserved so the tables do not grow through copies.
        let expectedVertices = min(positions.count, indexCount)
        vertices.positions.reserveCapacity(expectedVertices)
        chain.reserveCapacity(expectedVertices)
        if hasTexcoords { vertexTexcoords.reserveCapacity(expectedVertices) }
        if hasNormals { vertexNormals.reserveCapacity(expectedVertices) }
        for segment in segments {
            let piece = pieces[segment.piece]
            var corner = segment.firstCorner
            for element in segment.elements {
                let count = Int(piece.elements[element] & 0x3FFF_FFFF)
                defer { corner += count }
                switch key.mode {
                case .triangles where count == 3:
                    for k in 0..<3 { out.indices.append(vertex(piece, corner + k)) }
                case .triangles:
                    polygon.removeAll(keepingCapacity: true)
                    for k in 0..<count { polygon.append(vertex(piece, corner + k)) }
                    let positions = positions
                    let cornerPositions = piece.cornerPositions
                    let base = corner
                    let welded = polygon
                    let point: (Int) -> SIMD3<Float> = { positions[Int(cornerPositions[base + $0])] }
                    triangulator.triangulate(count: count, point: point) {
                        out.indices.append(welded[$0])
                        out.indices.append(welded[$1])
                        out.indices.append(welded[$2])
                    }
                case .lines:
                    var previous = vertex(piece, corner)
                    for k in 1..<max(count, 1) {
                        let current = vertex(piece, corner + k)
                        out.indices.append(previous)
                        out.indices.append(current)
                        previous = current
                    }
                case .points:
                    for k in 0..<count { out.indices.append(vertex(piece, corner + k)) }
                }
            }
        }
        if hasTexcoords, vertexTexcoords.contains(where: { $0 != absent }) { vertices.texcoords = vertexTexcoords }
        if hasNormals, !vertexNormals.contains(absent) { vertices.normals = vertexNormals }
        out.parts = [vertices]
        return out
    }
}

/// The primitive of welded corners: its vertices gathered from the file's arrays, each part's on its own worker.
/// Texture coordinates go through the material's `uvTransform` (OBJ's `-o`/`-s`) and are flipped to glTF's
/// orientation; normals are normalized.
func gatherPrimitive(
    _ corners: WeldedCorners, data: VertexData, colors: [SIMD4<Float>],
    uvTransform: (scale: SIMD2<Float>, offset: SIMD2<Float>)?, path: String, threads: Int
) throws -> Primitive {
    var primitive = Primitive(mode: corners.key.mode)
    primitive.indices = corners.indices
    let parts = corners.parts
    let count = corners.vertexCount
    var streams = VertexStreams()
    streams.positions = gather(parts, \.positionIndices, count: count, threads: threads) { data.positions[Int($0)] }
    guard streams.positions.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else {
        throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
    }
    if parts.first?.texcoords != nil {
        let (scale, offset) = uvTransform ?? (SIMD2(1, 1), SIMD2(0, 0))
        streams.texcoords = [
            gather(parts, \.texcoords, count: count, threads: threads) { index in
                let uv = index == absent ? .zero : data.texcoords[Int(index)] * scale + offset
                return SIMD2(uv.x.isFinite ? uv.x : 0, uv.y.isFinite ? 1 - uv.y : 0)
            }
        ]
    }
    if parts.first?.normals != nil {
        streams.normals = gather(parts, \.normals, count: count, threads: threads) { index in
            let n = data.normals[Int(index)]
            let length = (n * n).sum().squareRoot()
            return length > 0 && length.isFinite ? n / length : SIMD3(0, 0, 1)
        }
    }
    if !colors.isEmpty {
        streams.colors = gather(parts, \.positionIndices, count: count, threads: threads) { colors[Int($0)] }
    }
    primitive.vertices = streams
    return primitive
}

/// `value(index)` for each index of a stream of the parts, at its vertex's number; one worker per part.
private func gather<T>(
    _ parts: [WeldedVertices], _ stream: KeyPath<WeldedVertices, [UInt32]?>, count: Int, threads: Int,
    _ value: (UInt32) -> T
) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        nonisolated(unsafe) let out = buffer.baseAddress!
        parallelFor(parts.count, threads: threads) { p in
            let part = parts[p]
            guard let indices = part[keyPath: stream] else { return }
            if let numbers = part.numbers?.numbers {
                for (i, index) in indices.enumerated() { (out + Int(numbers[i])).initialize(to: value(index)) }
            } else {
                for (i, index) in indices.enumerated() { (out + i).initialize(to: value(index)) }
            }
        }
        initialized = count
    }
}
