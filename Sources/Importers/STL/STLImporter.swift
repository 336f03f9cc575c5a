import FoundationEssentials
import ImportSupport
import Scene

/// Reads an STL file, binary or ASCII, into a Scene: one node and mesh per solid that has triangles.
///
/// Binary files are recognized by their size (84 + 50 × the declared triangle count, even when the header starts
/// with "solid"); a count that does not fit the file is a truncation error. Per-facet colors follow the two
/// conventions in use: Materialise Magics (a `COLOR=` header with the default RGBA; facet bit 15 clear means the
/// facet's own color, red in the low bits) and VisCAM/SolidView (bit 15 set means a color, blue in the low bits).
/// Colors are taken as sRGB and linearized; a file without any facet color has none. ASCII files may hold several
/// `solid`s; a `loop` with more than three vertices is triangulated as a polygon.
///
/// Vertices are welded while reading (one vertex per distinct position and color). Facet normals are dropped:
/// they are the flat normals viewers compute for a mesh without any, so keeping them would only stop welding
/// and grow the file. NaN or infinite coordinates are a bad-input error.
public func importSTL(from url: URL) throws -> Scene {
    let file = try MappedFile(url)
    let bytes = file.bytes
    var solids: [Solid]
    if isBinarySTL(bytes) {
        solids = [try readBinary(bytes, path: url.path, release: file.release)]
    } else {
        solids = try readASCII(bytes, path: url.path)
    }
    solids.removeAll { $0.indices.isEmpty }
    guard !solids.isEmpty else { throw ProcessingError(.badInput, file: url.path, "contains no geometry") }
    var scene = Scene()
    let fallback = url.deletingPathExtension().lastPathComponent
    for (index, solid) in solids.enumerated() {
        var primitive = Primitive(mode: .triangles)
        primitive.indices = solid.indices
        primitive.vertices.positions = solid.welder.positions
        if solid.welder.withColors { primitive.vertices.colors = solid.welder.colors }
        let name = solid.name.isEmpty ? fallback : solid.name
        var mesh = Mesh(name: name)
        mesh.primitives = [primitive]
        scene.meshes.append(mesh)
        var node = Node(name: name)
        node.mesh = index
        scene.nodes.append(node)
        scene.roots.append(index)
    }
    return scene
}

private struct Solid {
    var name: String
    var welder = VertexWelder(withColors: false)
    var indices: [UInt32] = []
}

/// Binary when the size matches the declared triangle count, or when the text does not start with "solid".
private func isBinarySTL(_ bytes: UnsafeRawBufferPointer) -> Bool {
    if bytes.count >= 84 {
        let count = Int(bytes.loadUnaligned(fromByteOffset: 80, as: UInt32.self).littleEndian)
        if 84 + 50 * count == bytes.count { return true }
    }
    var scanner = TextScanner(bytes)
    let first = scanner.word()
    return !scanner.matches(first, "solid", caseInsensitive: true)
}

/// `release` is told each 4 MiB of the file once read (see `MappedFile.release`).
private func readBinary(
    _ bytes: UnsafeRawBufferPointer, path: String, release: (Range<Int>) -> Void
) throws -> Solid {
    var cursor = BinaryCursor(bytes, file: path)
    let header = try cursor.slice(80, "header")
    let count = Int(try cursor.read(UInt32.self, "triangle count"))
    try cursor.require(count, of: 50, "\(count) triangles")
    // Materialise: "COLOR=" then the default RGBA in the header.
    var defaultColor: SIMD4<Float>?
    let headerBytes = Array(header)
    if let at = (0..<max(0, 80 - 10)).first(where: { headerBytes[$0..<($0 + 6)].elementsEqual("COLOR=".utf8) }) {
        let c = headerBytes[(at + 6)..<(at + 10)].map { Float($0) / 255 }
        defaultColor = SIMD4(srgbToLinear(c[0]), srgbToLinear(c[1]), srgbToLinear(c[2]), c[3])
    }
    let materialise = defaultColor != nil
    var solid = Solid(name: "")
    solid.welder.reserve(count)
    solid.indices.reserveCapacity(count * 3)
    var anyColor = false
    var colors: [SIMD4<Float>] = []
    var released = 0
    for _ in 0..<count {
        if cursor.offset - released >= 4 << 20 {
            release(released..<cursor.offset)
            released = cursor.offset
        }
        try cursor.skip(12)  // facet normal
        var corners: (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) = (.zero, .zero, .zero)
        for k in 0..<3 {
            let p = SIMD3(try cursor.readFloat(), try cursor.readFloat(), try cursor.readFloat())
            guard p.x.isFinite, p.y.isFinite, p.z.isFinite else {
                throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
            }
            switch k {
            case 0: corners.0 = p
            case 1: corners.1 = p
            default: corners.2 = p
            }
        }
        let attribute = try cursor.read(UInt16.self)
        var color = SIMD4<Float>.one
        if materialise {
            if attribute & 0x8000 == 0 {
                color = facetColor(red: attribute & 31, green: (attribute >> 5) & 31, blue: (attribute >> 10) & 31)
                anyColor = true
            } else {
                color = defaultColor!
            }
        } else if attribute & 0x8000 != 0 {
            color = facetColor(red: (attribute >> 10) & 31, green: (attribute >> 5) & 31, blue: attribute & 31)
            anyColor = true
        }
        colors.append(color)
        solid.indices.append(solid.welder.add(corners.0, color: .one))
        solid.indices.append(solid.welder.add(corners.1, color: .one))
        solid.indices.append(solid.welder.add(corners.2, color: .one))
    }
    guard anyColor else { return solid }
    // Weld again with colors: a second pass keeps the colorless (common) case free of color keys.
    var colored = Solid(name: "", welder: VertexWelder(withColors: true))
    colored.welder.reserve(count)
    colored.indices.reserveCapacity(count * 3)
    for (triangle, color) in colors.enumerated() {
        for k in 0..<3 {
            let p = solid.welder.positions[Int(solid.indices[triangle * 3 + k])]
            colored.indices.append(colored.welder.add(p, color: color))
        }
    }
    return colored
}

private func facetColor(red: UInt16, green: UInt16, blue: UInt16) -> SIMD4<Float> {
    SIMD4(srgbToLinear(Float(red) / 31), srgbToLinear(Float(green) / 31), srgbToLinear(Float(blue) / 31), 1)
}

private func readASCII(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [Solid] {
    var scanner = TextScanner(bytes)
    var solids: [Solid] = []
    var current: Solid?
    var loop: [SIMD3<Float>] = []
    var triangulator = PolygonTriangulator()
    func finishLoop() {
        guard loop.count >= 3 else {
            loop.removeAll()
            return
        }
        if current == nil { current = Solid(name: "") }
        let corners = loop.map { current!.welder.add($0, color: .one) }
        let point: (Int) -> SIMD3<Float> = { loop[$0] }
        triangulator.triangulate(count: loop.count, point: point) { a, b, c in
            current!.indices.append(corners[a])
            current!.indices.append(corners[b])
            current!.indices.append(corners[c])
        }
        loop.removeAll(keepingCapacity: true)
    }
    while !scanner.isAtEnd {
        let word = scanner.word()
        if word.isEmpty {
            scanner.offset += 1  // a line end (or a stray byte the word scan stopped at)
            continue
        }
        if scanner.matches(word, "vertex", caseInsensitive: true) {
            guard let x = scanner.float(), let y = scanner.float(), let z = scanner.float() else {
                throw ProcessingError(
                    .badInput, file: path, "a vertex needs three numbers (at byte \(word.lowerBound))")
            }
            guard x.isFinite, y.isFinite, z.isFinite else {
                throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
            }
            loop.append(SIMD3(x, y, z))
        } else if scanner.matches(word, "endloop", caseInsensitive: true)
            || scanner.matches(word, "endfacet", caseInsensitive: true)
        {
            finishLoop()
        } else if scanner.matches(word, "solid", caseInsensitive: true) {
            finishLoop()
            if let done = current { solids.append(done) }
            current = Solid(name: scanner.restOfLine())
        } else if scanner.matches(word, "endsolid", caseInsensitive: true) {
            finishLoop()
            if let done = current { solids.append(done) }
            current = nil
            scanner.skipLine()
        } else if scanner.matches(word, "facet", caseInsensitive: true) {
            finishLoop()
            scanner.skipLine()
        }
    }
    finishLoop()
    if let done = current { solids.append(done) }
    return solids
}

/// Welds vertices by exact position (−0 = +0) and color, numbering them in order of first use, with an
/// open-addressing table of vertex numbers.
struct VertexWelder {
    private(set) var positions: [SIMD3<Float>] = []
    /// Per vertex, when welding with colors.
    private(set) var colors: [SIMD4<Float>] = []
    let withColors: Bool
    private var table: [Int32] = Array(repeating: -1, count: 1024)

    init(withColors: Bool) { self.withColors = withColors }

    mutating func reserve(_ triangles: Int) {
        var capacity = 1024
        while capacity < triangles * 2 { capacity <<= 1 }  // a closed mesh has about half as many vertices as triangles
        if capacity > table.count { table = Array(repeating: -1, count: capacity) }
        positions.reserveCapacity(triangles / 2)
    }

    mutating func add(_ position: SIMD3<Float>, color: SIMD4<Float>) -> UInt32 {
        let p = position + SIMD3<Float>.zero  // −0 → +0
        if positions.count * 2 >= table.count { grow() }
        let mask = table.count - 1
        var slot = hash(p, color) & mask
        while true {
            let existing = table[slot]
            if existing < 0 { break }
            if positions[Int(existing)] == p && (!withColors || colors[Int(existing)] == color) {
                return UInt32(existing)
            }
            slot = (slot + 1) & mask
        }
        let index = positions.count
        positions.append(p)
        if withColors { colors.append(color) }
        table[slot] = Int32(index)
        return UInt32(index)
    }

    private func hash(_ p: SIMD3<Float>, _ c: SIMD4<Float>) -> Int {
        var h = UInt64(p.x.bitPattern) &* 0x9E37_79B9_7F4A_7C15
        h ^= UInt64(p.y.bitPattern) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= UInt64(p.z.bitPattern) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(c.x.bitPattern ^ (c.y.bitPattern << 7) ^ (c.z.bitPattern << 13)) &* 0x27D4_EB2F_1656_67C5
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    private mutating func grow() {
        table = Array(repeating: -1, count: table.count * 2)
        let mask = table.count - 1
        for (index, p) in positions.enumerated() {
            var slot = hash(p, withColors ? colors[index] : .one) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(index)
        }
    }
}
