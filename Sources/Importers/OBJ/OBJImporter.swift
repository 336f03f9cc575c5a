import FoundationEssentials
import ImportSupport
import Scene

/// Reads a Wavefront OBJ file (and its MTL libraries) into a Scene: one node and one mesh with one primitive per
/// material and kind (triangles from `f`, lines from `l` and two-corner faces, points from `p` and one-corner
/// faces), in order of first use.
///
/// The mapped file is cut into fixed 1 MiB pieces at line ends, independent of `threads`; the pieces are counted
/// (vertices, elements, corners), then parsed in parallel straight into the shared vertex arrays (each piece knows
/// where its vertices start) and into corner arrays sized by the count. Faces are then triangulated
/// (`PolygonTriangulator`: concave polygons of any size) and welded: one vertex per distinct position/UV/normal index
/// triple, numbered in order of first use; a large primitive on all workers (`weldInParallel`), the others one per
/// worker. The pieces are released before each primitive gathers its vertices. The output is the same for any thread
/// count.
///
/// Indices may be negative (relative to the vertices read so far) and refer to any vertex of the file; 0, or one
/// past the end, is a bad-input error naming the line's byte offset, as are NaN or infinite positions that a face
/// uses. Vertex colors (`v x y z r g b`) are taken as sRGB and linearized, like Assimp's path does; a vertex without
/// a color is white. A primitive keeps normals only when every corner has one. A file with vertices but no
/// elements is a point cloud. Free-form geometry is ignored.
public func importOBJ(from url: URL, threads: Int) throws -> Scene {
    let file = try MappedFile(url)
    let path = url.path
    let pieces = cutIntoPieces(file)
    // Each pass lets go of a piece's pages once done with it: a large file is never resident as a whole.
    let counts = countVertices(file.bytes, pieces: pieces, threads: threads, release: file.release)
    var start = VertexCounts()
    let starts = counts.map { count -> VertexCounts in
        defer { start.add(count) }
        return start
    }
    let total = start
    guard total.positions <= Int(UInt32.max - 1), total.texcoords <= Int(UInt32.max - 1),
        total.normals <= Int(UInt32.max - 1)
    else {
        throw ProcessingError(.resourceLimit, file: path, "more than 4 billion vertices")
    }

    let data = VertexData(total)
    defer { data.deallocate() }
    let parsed = Slots<ParsedPiece>(pieces.count)
    parallelFor(pieces.count, threads: threads) { index in
        var parser = PieceParser(
            bytes: file.bytes, range: pieces[index], expected: counts[index], start: starts[index], total: total,
            data: data, path: path)
        parsed[index] = parser.parse()
        file.release(pieces[index])
    }
    var pieceResults: [ParsedPiece] = []
    pieceResults.reserveCapacity(pieces.count)
    for index in 0..<pieces.count {
        let piece = parsed.take(index)!
        if let error = piece.error { throw error }
        pieceResults.append(piece)
    }
    let colors = data.gatherColors(pieceResults, count: total.positions)
    let name = pieceResults.lazy.compactMap(\.objectName).first ?? url.deletingPathExtension().lastPathComponent

    var libraries = MaterialLibraries(folder: ModelFolder(modelURL: url), modelPath: path)
    for piece in pieceResults { for name in piece.libraries { libraries.load(name) } }
    let plan = PrimitivePlan(pieceResults, materialNames: &libraries)

    // Corners first, for every primitive: a large one on all workers, the others one per worker; then the pieces go,
    // before the vertices are gathered.
    let welded = Slots<WeldedCorners>(plan.keys.count)
    let large = plan.keys.indices.filter { key in
        threads > 1 && plan.segments[key].reduce(0) { $0 + $1.elements.count } >= parallelWeldElements
    }
    for key in large {
        welded[key] = weldInParallel(
            plan.keys[key], segments: plan.segments[key], pieces: pieceResults, positions: data.positions,
            threads: threads)
    }
    let small = plan.keys.indices.filter { !large.contains($0) }
    let workers = min(threads, small.count)
    parallelFor(workers, threads: workers) { worker in
        var welder = CornerWelder(positions: data.positions)
        for key in stride(from: worker, to: small.count, by: workers) {
            welded[small[key]] = welder.weld(
                plan.keys[small[key]], segments: plan.segments[small[key]], pieces: pieceResults)
        }
    }
    pieceResults = []
    let uvTransforms = plan.keys.map { libraries.uvTransform(of: $0.material) }
    let primitives = Slots<Primitive>(plan.keys.count)
    let failures = Slots<ProcessingError>(plan.keys.count)
    parallelFor(plan.keys.count, threads: threads) { key in
        do {
            primitives[key] = try gatherPrimitive(
                welded.take(key)!, data: data, colors: colors, uvTransform: uvTransforms[key], path: path,
                threads: threads)
        } catch let error as ProcessingError {
            failures[key] = error
        } catch {
            failures[key] = ProcessingError(.internal, file: path, "\(error)")
        }
    }
    for key in plan.keys.indices { if let failure = failures[key] { throw failure } }

    var scene = Scene()
    var mesh = Mesh(name: name)
    var materialIndex: [Int: Int] = [:]
    for key in plan.keys.indices {
        guard var primitive = primitives.take(key), !primitive.indices.isEmpty else { continue }
        if let slot = plan.keys[key].material, let material = libraries.material(slot) {
            if materialIndex[slot] == nil {
                materialIndex[slot] = scene.materials.count
                scene.materials.append(material)
            }
            primitive.material = materialIndex[slot]
        }
        mesh.primitives.append(primitive)
    }
    if mesh.primitives.isEmpty, total.positions > 0 {
        // Only vertices: a point cloud.
        var points = Primitive(mode: .points)
        points.vertices.positions = (0..<total.positions).map { data.positions[$0] }
        guard points.vertices.positions.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else {
            throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
        }
        points.vertices.colors = colors
        points.indices = (0..<UInt32(total.positions)).map { $0 }
        mesh.primitives = [points]
    }
    guard !mesh.primitives.isEmpty else {
        throw ProcessingError(.badInput, file: path, "contains no geometry")
    }
    scene.images = libraries.table.images
    scene.samplers = libraries.table.samplers
    scene.textures = libraries.table.textures
    scene.warnings = libraries.warnings
    scene.meshes = [mesh]
    var node = Node(name: name)
    node.mesh = 0
    scene.nodes = [node]
    scene.roots = [0]
    return scene
}

// MARK: - Pieces and counting

/// Bytes per piece before moving to the next line end.
private let pieceSize = 1 << 20

/// Splits the text into ranges that start at line starts, about `pieceSize` apart.
///
/// Each look lets go of the pages around it: where the page cache holds the file in large folios (as after a
/// sequential read), one touched page can map a whole folio, and a look every MiB would map the whole file.
private func cutIntoPieces(_ file: MappedFile) -> [Range<Int>] {
    let bytes = file.bytes
    let largestFolio = 2 << 20
    var starts = [0]
    var position = pieceSize
    while position < bytes.count {
        var scanner = TextScanner(bytes, from: position - 1)
        scanner.skipLine()
        file.release(max(0, position - 1 - largestFolio)..<(scanner.offset + largestFolio))
        guard scanner.offset < bytes.count else { break }
        if scanner.offset > starts.last! { starts.append(scanner.offset) }
        position = max(scanner.offset + 1, position + pieceSize)
    }
    return starts.indices.map { i in starts[i]..<(i + 1 < starts.count ? starts[i + 1] : bytes.count) }
}

/// What a piece (or the file) holds: vertices of each kind, and elements (`f`, `l`, `p`) with their corners (at
/// most: a malformed element is counted but fails to parse).
struct VertexCounts {
    var positions = 0, texcoords = 0, normals = 0
    var elements = 0, corners = 0

    mutating func add(_ other: VertexCounts) {
        positions += other.positions
        texcoords += other.texcoords
        normals += other.normals
        elements += other.elements
        corners += other.corners
    }
}

private func countVertices(
    _ bytes: UnsafeRawBufferPointer, pieces: [Range<Int>], threads: Int, release: @Sendable (Range<Int>) -> Void
) -> [VertexCounts] {
    let slots = Slots<VertexCounts>(pieces.count)
    parallelFor(pieces.count, threads: threads) { index in
        var scanner = TextScanner(bytes, from: pieces[index].lowerBound, to: pieces[index].upperBound)
        var counts = VertexCounts()
        let p = scanner.base
        while !scanner.isAtEnd {
            scanner.skipSpaces()
            let i = scanner.offset
            if i + 1 < scanner.end, p[i] == 118 {  // v
                let c = p[i + 1]
                if c == 32 || c == 9 {
                    counts.positions += 1
                } else if i + 2 < scanner.end, p[i + 2] == 32 || p[i + 2] == 9 {
                    if c == 116 { counts.texcoords += 1 } else if c == 110 { counts.normals += 1 }
                }
            } else if i + 1 < scanner.end, p[i] == 102 || p[i] == 108 || p[i] == 112, p[i + 1] == 32 || p[i + 1] == 9 {
                // f, l, p: the words up to the line end or a comment, so the parser's arrays never grow.
                counts.elements += 1
                var q = i + 1
                var previousIsSpace = true
                while q < scanner.end {
                    let c = p[q]
                    if c == 10 || c == 35 { break }
                    let isSpace = c <= 32
                    counts.corners += previousIsSpace && !isSpace ? 1 : 0
                    previousIsSpace = isSpace
                    q += 1
                }
                scanner.offset = q
            }
            scanner.skipLine()
        }
        slots[index] = counts
        release(pieces[index])
    }
    return (0..<pieces.count).map { slots[$0]! }
}

// MARK: - Shared vertex arrays

/// Three-float vectors stored without SIMD3's padding lane: 12 bytes each, not 16.
struct PackedVectors: @unchecked Sendable {
    private let floats: UnsafeMutableBufferPointer<Float>
    let count: Int

    init(count: Int) {
        floats = .allocate(capacity: count * 3)
        self.count = count
    }

    @inline(__always)
    subscript(index: Int) -> SIMD3<Float> {
        get { SIMD3(floats[3 * index], floats[3 * index + 1], floats[3 * index + 2]) }
        nonmutating set {
            floats[3 * index] = newValue.x
            floats[3 * index + 1] = newValue.y
            floats[3 * index + 2] = newValue.z
        }
    }

    func deallocate() { floats.deallocate() }
}

/// The file's positions, texture coordinates and normals, filled in place by the piece parsers.
final class VertexData: @unchecked Sendable {
    let positions: PackedVectors
    let texcoords: UnsafeMutableBufferPointer<SIMD2<Float>>
    let normals: PackedVectors

    init(_ counts: VertexCounts) {
        positions = PackedVectors(count: counts.positions)
        texcoords = .allocate(capacity: counts.texcoords)
        normals = PackedVectors(count: counts.normals)
    }

    func deallocate() {
        positions.deallocate()
        texcoords.deallocate()
        normals.deallocate()
    }

    /// One linear RGBA color per position when any vertex has one (white elsewhere), else empty.
    func gatherColors(_ pieces: [ParsedPiece], count: Int) -> [SIMD4<Float>] {
        guard pieces.contains(where: { !$0.colorIndices.isEmpty }) else { return [] }
        var colors = [SIMD4<Float>](repeating: .one, count: count)
        for piece in pieces {
            for (index, color) in zip(piece.colorIndices, piece.colorValues) {
                func channel(_ v: Float) -> Float { srgbToLinear(v.isFinite ? min(max(v, 0), 1) : 1) }
                colors[Int(index)] = SIMD4(channel(color.x), channel(color.y), channel(color.z), 1)
            }
        }
        return colors
    }
}

// MARK: - Parsing one piece

/// What kind of element a face, line or point statement makes.
enum ElementKind: UInt32 {
    case face = 0
    case line = 1
    case point = 2
}

/// Faces, lines and points of one piece, with corner indices already resolved to the whole file's vertices.
struct ParsedPiece {
    /// Per corner: the position index, the texture-coordinate index and the normal index.
    var cornerPositions: [UInt32] = []
    var cornerTexcoords = CornerIndices()
    var cornerNormals = CornerIndices()
    /// Per element: kind << 30 | corner count.
    var elements: [UInt32] = []
    /// `usemtl` statements: the element they precede and the material name.
    var materialChanges: [(element: Int, name: String)] = []
    var libraries: [String] = []
    var objectName: String?
    var colorIndices: [UInt32] = []
    var colorValues: [SIMD3<Float>] = []
    var error: ProcessingError?
}

/// Marks a corner without a texture coordinate or normal.
let absent = UInt32.max

/// The texture-coordinate (or normal) index of every corner of a piece, stored only when some corner has one and
/// not every such index equals the corner's position index (files written as `f 1//1 2//2 3//3` need no copy).
struct CornerIndices {
    /// Per corner (`absent` where a corner has none); empty while no corner has one or all follow their positions.
    private var stored: [UInt32] = []
    /// Some corner has an index.
    private(set) var isPresent = false
    /// The corners expected, reserved once an index has to be stored.
    private var capacity = 0

    init(capacity: Int = 0) { self.capacity = capacity }

    /// The index of `corner`, whose position index is `position`.
    @inline(__always)
    subscript(corner: Int, position position: UInt32) -> UInt32 {
        !stored.isEmpty ? stored[corner] : isPresent ? position : absent
    }

    /// Adds the index of the next corner (`corner` of `positions`, which already holds its position index).
    @inline(__always)
    mutating func append(_ index: UInt32, corner: Int, positions: [UInt32]) {
        if stored.isEmpty {
            if index == positions[corner] && (isPresent || corner == 0) {  // following the positions so far
                isPresent = true
                return
            }
            if index == absent && !isPresent { return }  // none so far
            stored.reserveCapacity(max(capacity, corner + 1))
            if isPresent {
                stored.append(contentsOf: positions[0..<corner])
            } else {
                stored.append(contentsOf: repeatElement(absent, count: corner))
            }
            isPresent = true
        }
        stored.append(index)
    }
}
private let maxCorners = (1 << 30) - 1

private struct PieceParser {
    var scanner: TextScanner
    let start: VertexCounts
    let total: VertexCounts
    let data: VertexData
    let path: String
    var counts = VertexCounts()
    var piece = ParsedPiece()

    init(
        bytes: UnsafeRawBufferPointer, range: Range<Int>, expected: VertexCounts, start: VertexCounts,
        total: VertexCounts, data: VertexData, path: String
    ) {
        scanner = TextScanner(bytes, from: range.lowerBound, to: range.upperBound)
        piece.elements.reserveCapacity(expected.elements)
        piece.cornerPositions.reserveCapacity(expected.corners)
        piece.cornerTexcoords = CornerIndices(capacity: expected.corners)
        piece.cornerNormals = CornerIndices(capacity: expected.corners)
        self.start = start
        self.total = total
        self.data = data
        self.path = path
    }

    mutating func parse() -> ParsedPiece {
        do {
            while !scanner.isAtEnd { try statement() }
        } catch let error as ProcessingError {
            piece.error = error
        } catch {
            piece.error = ProcessingError(.internal, file: path, "\(error)")
        }
        return piece
    }

    // `fail` and `resolve` are static: as methods they made the optimizer copy the whole parser (320 bytes) onto the
    // stack at every corner, about a tenth of the parse.
    private static func fail(_ message: String, at offset: Int, path: String) -> ProcessingError {
        ProcessingError(.badInput, file: path, "\(message) (statement at byte \(offset))")
    }

    private mutating func statement() throws {
        let lineStart = scanner.offset
        let keyword = scanner.word()
        let p = scanner.base
        switch keyword.count {
        case 0:
            break
        case 1:
            switch p[keyword.lowerBound] {
            case 118: try position(lineStart)  // v
            case 102: try element(.face, lineStart)  // f
            case 108: try element(.line, lineStart)  // l
            case 112: try element(.point, lineStart)  // p
            case 111:  // o
                if piece.objectName == nil {
                    piece.objectName = scanner.restOfLine()
                    return
                }
            default: break
            }
        case 2 where p[keyword.lowerBound] == 118:
            if p[keyword.lowerBound + 1] == 116 {  // vt
                let u = scanner.float() ?? 0
                let v = scanner.float() ?? 0
                data.texcoords[start.texcoords + counts.texcoords] = SIMD2(u, v)
                counts.texcoords += 1
            } else if p[keyword.lowerBound + 1] == 110 {  // vn
                guard let x = scanner.float(), let y = scanner.float(), let z = scanner.float() else {
                    throw Self.fail("a normal needs three numbers", at: lineStart, path: path)
                }
                data.normals[start.normals + counts.normals] = SIMD3(x, y, z)
                counts.normals += 1
            }
        case 6:
            if scanner.matches(keyword, "usemtl") {
                piece.materialChanges.append((piece.elements.count, scanner.restOfLine()))
                return
            }
            if scanner.matches(keyword, "mtllib") {
                let names = scanner.restOfLine()
                if !names.isEmpty { piece.libraries.append(names) }
                return
            }
        default:
            break
        }
        scanner.skipLine()
    }

    private mutating func position(_ lineStart: Int) throws {
        guard let x = scanner.float(), let y = scanner.float(), let z = scanner.float() else {
            throw Self.fail("a vertex needs three numbers", at: lineStart, path: path)
        }
        let index = start.positions + counts.positions
        data.positions[index] = SIMD3(x, y, z)
        counts.positions += 1
        guard let a = scanner.float() else { return }
        guard let b = scanner.float(), let c = scanner.float() else { return }  // x y z w
        // x y z r g b, or x y z w r g b.
        let color = scanner.float().map { SIMD3(b, c, $0) } ?? SIMD3(a, b, c)
        piece.colorIndices.append(UInt32(index))
        piece.colorValues.append(color)
    }

    private mutating func element(_ kind: ElementKind, _ lineStart: Int) throws {
        let p = scanner.base
        var count = 0
        while true {
            scanner.skipSpaces()
            guard let rawPosition = parseInteger(p, &scanner.offset, scanner.end) else {
                if scanner.atLineEnd() || p[scanner.offset] == 35 { break }  // end or a comment
                throw Self.fail(
                    "malformed \(kind == .face ? "face" : kind == .line ? "line" : "point") corner", at: lineStart,
                    path: path)
            }
            let position = try Self.resolve(
                rawPosition, start.positions + counts.positions, total.positions, "vertex", lineStart, path: path)
            var texcoord = absent
            var normal = absent
            if scanner.offset < scanner.end, p[scanner.offset] == 47 {  // /
                scanner.offset += 1
                if let raw = parseInteger(p, &scanner.offset, scanner.end) {
                    texcoord = try Self.resolve(
                        raw, start.texcoords + counts.texcoords, total.texcoords, "texture coordinate", lineStart,
                        path: path)
                }
                if scanner.offset < scanner.end, p[scanner.offset] == 47 {
                    scanner.offset += 1
                    if let raw = parseInteger(p, &scanner.offset, scanner.end) {
                        normal = try Self.resolve(
                            raw, start.normals + counts.normals, total.normals, "normal", lineStart, path: path)
                    }
                }
            }
            // Skip anything glued to the corner (a third slash, stray text).
            while scanner.offset < scanner.end, !isWhitespaceByte(p[scanner.offset]) { scanner.offset += 1 }
            append(position, texcoord, normal)
            count += 1
        }
        guard count > 0 else { return }
        guard count <= maxCorners else { throw Self.fail("too many corners in one element", at: lineStart, path: path) }
        piece.elements.append(kind.rawValue << 30 | UInt32(count))
    }

    @inline(__always)
    private mutating func append(_ position: UInt32, _ texcoord: UInt32, _ normal: UInt32) {
        let corner = piece.cornerPositions.count
        piece.cornerPositions.append(position)
        piece.cornerTexcoords.append(texcoord, corner: corner, positions: piece.cornerPositions)
        piece.cornerNormals.append(normal, corner: corner, positions: piece.cornerPositions)
    }

    /// A 1-based (or negative, relative) OBJ index → a 0-based index into the whole file's list.
    @inline(__always)
    private static func resolve(
        _ raw: Int, _ seen: Int, _ count: Int, _ what: String, _ lineStart: Int, path: String
    ) throws -> UInt32 {
        let index = raw > 0 ? raw - 1 : seen + raw
        guard raw != 0, index >= 0, index < count else {
            throw Self.fail("\(what) index \(raw) is out of range (the file has \(count))", at: lineStart, path: path)
        }
        return UInt32(index)
    }
}

@inline(__always) private func isWhitespaceByte(_ c: UInt8) -> Bool {
    c == 32 || c == 9 || c == 13 || c == 10 || c == 11 || c == 12
}
