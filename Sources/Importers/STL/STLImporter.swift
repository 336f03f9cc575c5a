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
public func importSTL(from url: URL, threads: Int = 1) throws -> Scene {
    let file = try MappedFile(url)
    let bytes = file.bytes
    var solids: [Solid]
    if isBinarySTL(bytes) {
        solids = [try readBinary(file, path: url.path, threads: threads)]
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

/// Reads the facets of a binary file and welds their corners (`weldCorners`), by position and, when any facet has
/// a color, by color too.
///
/// The weld reads corners in random order, so the corners and attributes (38 of each record's 50 bytes) are copied
/// out first and the file's pages let go of as each chunk is copied (a 10 M-triangle file: 362 MiB instead of 477
/// resident during the weld, and the weld's reads stay in cache).
private func readBinary(_ file: MappedFile, path: String, threads: Int) throws -> Solid {
    let bytes = file.bytes
    var cursor = BinaryCursor(bytes, file: path)
    let header = try cursor.slice(80, "header")
    let count = Int(try cursor.read(UInt32.self, "triangle count"))
    try cursor.require(count, of: 50, "\(count) triangles")
    guard count * 3 <= Int(UInt32.max) else {
        throw ProcessingError(.badInput, file: path, "has \(count) triangles, more than 32-bit indices can address")
    }
    // Materialise: "COLOR=" then the default RGBA in the header.
    var defaultColor: SIMD4<Float>?
    let headerBytes = Array(header)
    if let at = (0..<max(0, 80 - 10)).first(where: { headerBytes[$0..<($0 + 6)].elementsEqual("COLOR=".utf8) }) {
        let c = headerBytes[(at + 6)..<(at + 10)].map { Float($0) / 255 }
        defaultColor = SIMD4(srgbToLinear(c[0]), srgbToLinear(c[1]), srgbToLinear(c[2]), c[3])
    }
    let start = cursor.offset
    nonisolated(unsafe) let records = bytes.baseAddress! + start
    // A facet carries its own color when bit 15 is clear (Materialise) or set (VisCAM/SolidView).
    let ownColorBit: UInt16 = defaultColor == nil ? 0x8000 : 0
    var coordinates = [Float](unsafeUninitializedCapacity: count * 9) { $1 = count * 9 }
    var attributes = [UInt16](unsafeUninitializedCapacity: count) { $1 = count }
    // Copied chunk by chunk, with −0 made +0; every coordinate finite, and whether any facet has its own color.
    let checks = coordinates.withUnsafeMutableBufferPointer { coordinates in
        attributes.withUnsafeMutableBufferPointer { attributes in
            nonisolated(unsafe) let coordinates = coordinates
            nonisolated(unsafe) let attributes = attributes
            return mapChunks(of: count, threads: threads) { range in
                var finite = true
                var colored = false
                for f in range {
                    let record = records + f * 50
                    for k in 0..<9 {
                        let bits = record.loadUnaligned(fromByteOffset: 12 + 4 * k, as: UInt32.self)
                        let v = Float(bitPattern: UInt32(littleEndian: bits))
                        finite = finite && v.isFinite
                        coordinates[f * 9 + k] = v + 0
                    }
                    let attribute = UInt16(littleEndian: record.loadUnaligned(fromByteOffset: 48, as: UInt16.self))
                    attributes[f] = attribute
                    colored = colored || attribute & 0x8000 == ownColorBit
                }
                file.release((start + range.lowerBound * 50)..<(start + range.upperBound * 50))
                return (finite, colored)
            }
        }
    }
    guard checks.allSatisfy(\.0) else {
        throw ProcessingError(.badInput, file: path, "has vertex positions that are NaN or infinite")
    }
    var solid = Solid(name: "")
    coordinates.withUnsafeBufferPointer { coordinates in
        attributes.withUnsafeBufferPointer { attributes in
            let facets = Facets(
                coordinates: coordinates.baseAddress!, attributes: attributes.baseAddress!, count: count,
                defaultColor: defaultColor)
            (solid.indices, solid.welder) = weldCorners(facets, withColors: checks.contains { $0.1 }, threads: threads)
        }
    }
    return solid
}

/// The facets of a binary STL, copied out of the file: nine coordinates and the attribute word of each.
private struct Facets: @unchecked Sendable {
    let coordinates: UnsafePointer<Float>
    let attributes: UnsafePointer<UInt16>
    let count: Int
    /// Materialise's default color (its files only); nil for the VisCAM/SolidView convention.
    let defaultColor: SIMD4<Float>?

    /// Corner `c` (facet c / 3).
    @inline(__always)
    func corner(_ c: Int) -> SIMD3<Float> {
        let p = coordinates + c * 3
        return SIMD3(p[0], p[1], p[2])
    }

    /// `weldHash` of corner `c` (and its facet's color).
    @inline(__always)
    func hash(_ c: Int, withColors: Bool) -> UInt64 { weldHash(corner(c), withColors ? color(c / 3) : .one) }

    /// Whether corners `a` and `b` weld: the same position (and facet color).
    @inline(__always)
    func same(_ a: Int, _ b: Int, withColors: Bool) -> Bool {
        corner(a) == corner(b) && (!withColors || color(a / 3) == color(b / 3))
    }

    /// The color of facet `f`: its own, Materialise's default, or white.
    func color(_ f: Int) -> SIMD4<Float> {
        let a = attributes[f]
        if let defaultColor {
            return a & 0x8000 == 0 ? facetColor(red: a & 31, green: (a >> 5) & 31, blue: (a >> 10) & 31) : defaultColor
        }
        return a & 0x8000 != 0 ? facetColor(red: (a >> 10) & 31, green: (a >> 5) & 31, blue: a & 31) : .one
    }
}

/// Welds the corners of `facets` by exact position (and facet color), numbering vertices in order of first use, as
/// `VertexWelder` does, on `threads` workers, in three passes whose results do not depend on `threads`:
/// 1. within each block of 4,096 facets (a table that stays in cache), each corner finds the first equal corner of
///    its block; neighbouring facets share most corners, so few corners are their block's first;
/// 2. those are sorted into 256 pools by hash (in corner order) and each pool finds the first equal corner of the
///    whole file with a small table of its own;
/// 3. a corner that is its own first is a new vertex, numbered by the new corners before it (counted per chunk of
///    facets, then numbered per chunk side by side); the others take their first's number.
private func weldCorners(_ facets: Facets, withColors: Bool, threads: Int) -> ([UInt32], VertexWelder) {
    let corners = facets.count * 3
    let poolBits = 8
    let pools = 1 << poolBits
    let poolOf: @Sendable (Int) -> Int = { Int(facets.hash($0, withColors: withColors) >> UInt64(64 - poolBits)) }
    var first = [UInt32](unsafeUninitializedCapacity: corners) { $1 = corners }
    // 1. Per block: `first` is the block's first equal corner; a chunk of blocks counts its own-first corners by pool.
    let blockFacets = 4096
    let blockSlots = 1 << 15  // over twice a block's 12,288 corners
    let counts = first.withUnsafeMutableBufferPointer { first in
        nonisolated(unsafe) let first = first
        return mapChunks(of: facets.count, threads: threads) { range in
            var count = [Int](repeating: 0, count: pools)
            // A slot holds a corner + 1 (0: never used); one holding a corner from before the block counts as empty,
            // so the table is never cleared.
            var table = [UInt32](repeating: 0, count: blockSlots)
            for block in stride(from: range.lowerBound, to: range.upperBound, by: blockFacets) {
                let blockCorners = block * 3..<min(block + blockFacets, range.upperBound) * 3
                let lowest = UInt32(blockCorners.lowerBound) + 1
                for c in blockCorners {
                    let hash = facets.hash(c, withColors: withColors)
                    var slot = Int(truncatingIfNeeded: hash) & (blockSlots - 1)
                    while true {
                        let existing = table[slot]
                        if existing < lowest {
                            table[slot] = UInt32(c) + 1
                            first[c] = UInt32(c)
                            count[Int(hash >> UInt64(64 - poolBits))] += 1
                            break
                        }
                        if facets.same(Int(existing) - 1, c, withColors: withColors) {
                            first[c] = existing - 1
                            break
                        }
                        slot = (slot + 1) & (blockSlots - 1)
                    }
                }
            }
            return count
        }
    }
    // 2. Each chunk writes its blocks' own-first corners into its stretch of every pool. When they are few (a
    // quarter of the corners or fewer) their positions go beside them, so the pools never read the coordinates of
    // an earlier corner (a random read); otherwise the corner alone, as compact as one number per corner.
    let (poolStart, chunkStart) = countingSortLayout(counts, buckets: pools)
    let running = poolStart[pools]
    let width = running * 4 <= corners ? 4 : 1  // UInt32s per entry: x, y, z bits and the corner, or the corner
    var entries = [UInt32](unsafeUninitializedCapacity: running * width) { $1 = running * width }
    entries.withUnsafeMutableBufferPointer { entries in
        first.withUnsafeMutableBufferPointer { first in
            nonisolated(unsafe) let (entries, first) = (entries, first)
            forChunks(of: facets.count, threads: threads) { range in
                var next = chunkStart[range.lowerBound / chunkSize]
                for c in range.lowerBound * 3..<range.upperBound * 3 where first[c] == UInt32(c) {
                    let pool = poolOf(c)
                    let at = next[pool] * width
                    if width == 4 {
                        let p = facets.corner(c)
                        entries[at] = p.x.bitPattern
                        entries[at + 1] = p.y.bitPattern
                        entries[at + 2] = p.z.bitPattern
                    }
                    entries[at + width - 1] = UInt32(c)
                    next[pool] += 1
                }
            }
            // Each pool: the first (lowest) corner equal to each of its entries.
            parallelFor(pools, threads: threads) { pool in
                let members = poolStart[pool]..<poolStart[pool + 1]
                var size = 16
                while size < members.count * 2 { size <<= 1 }
                var table = [UInt32](repeating: 0, count: size)  // entry number in the pool + 1; 0: empty
                let mask = size - 1
                for m in members {
                    let c = Int(entries[m * width + width - 1])
                    // Hashed from the entry's own bits when it carries them.
                    let hash =
                        width == 4
                        ? weldHash(
                            SIMD3(
                                Float(bitPattern: entries[m * 4]), Float(bitPattern: entries[m * 4 + 1]),
                                Float(bitPattern: entries[m * 4 + 2])),
                            withColors ? facets.color(c / 3) : .one)
                        : facets.hash(c, withColors: withColors)
                    var slot = Int(truncatingIfNeeded: hash) & mask
                    while true {
                        let existing = table[slot]
                        if existing == 0 {
                            table[slot] = UInt32(m - members.lowerBound + 1)
                            break
                        }
                        let o = (members.lowerBound + Int(existing) - 1) * width
                        let other = Int(entries[o + width - 1])
                        let equal =
                            width == 4
                            ? entries[o] == entries[m * 4] && entries[o + 1] == entries[m * 4 + 1]
                                && entries[o + 2] == entries[m * 4 + 2]
                                && (!withColors || facets.color(other / 3) == facets.color(c / 3))
                            : facets.same(other, c, withColors: withColors)
                        if equal {
                            first[c] = UInt32(other)
                            break
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }
    entries = []
    // 3. Numbering. A corner that is not its own first has a lower one in its block (whose number is known by the
    // time the corner's turn comes: the same worker maps it first) or is a block's first whose first is new.
    let newCorners = first.withUnsafeBufferPointer { first in
        nonisolated(unsafe) let first = first
        return mapChunks(of: facets.count, threads: threads) { range in
            (range.lowerBound * 3..<range.upperBound * 3).reduce(0) { $0 + (first[$1] == UInt32($1) ? 1 : 0) }
        }
    }
    var chunkBase = [Int](repeating: 0, count: newCorners.count)
    for k in 1..<max(newCorners.count, 1) { chunkBase[k] = chunkBase[k - 1] + newCorners[k - 1] }
    let vertices = newCorners.reduce(0, +)
    // One bit per corner: new (each chunk's corners start at a multiple of 64, so chunks own whole words).
    var isNew = [UInt64](repeating: 0, count: (corners + 63) / 64)
    var positions = [SIMD3<Float>](repeating: .zero, count: vertices)
    var colors = [SIMD4<Float>](repeating: .one, count: withColors ? vertices : 0)
    first.withUnsafeMutableBufferPointer { first in
        isNew.withUnsafeMutableBufferPointer { isNew in
            positions.withUnsafeMutableBufferPointer { positions in
                colors.withUnsafeMutableBufferPointer { colors in
                    nonisolated(unsafe) let (first, isNew, positions, colors) = (first, isNew, positions, colors)
                    let base = chunkBase
                    forChunks(of: facets.count, threads: threads) { range in
                        var number = base[range.lowerBound / chunkSize]
                        for c in range.lowerBound * 3..<range.upperBound * 3 where first[c] == UInt32(c) {
                            positions[number] = facets.corner(c)
                            if withColors { colors[number] = facets.color(c / 3) }
                            first[c] = UInt32(number)
                            isNew[c >> 6] |= 1 << UInt64(c & 63)
                            number += 1
                        }
                    }
                    forChunks(of: facets.count, threads: threads) { range in
                        for c in range.lowerBound * 3..<range.upperBound * 3
                        where isNew[c >> 6] & (1 << UInt64(c & 63)) == 0 {
                            first[c] = first[Int(first[c])]
                        }
                    }
                }
            }
        }
    }
    return (first, VertexWelder(withColors: withColors, positions: positions, colors: colors))
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

    /// Vertices welded elsewhere (no table: `add` must not follow).
    init(withColors: Bool, positions: [SIMD3<Float>], colors: [SIMD4<Float>]) {
        self.withColors = withColors
        self.positions = positions
        self.colors = colors
    }

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

    private func hash(_ p: SIMD3<Float>, _ c: SIMD4<Float>) -> Int { Int(truncatingIfNeeded: weldHash(p, c)) }

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

/// The hash both welders key vertices by: position bits and color bits, mixed.
@inline(__always)
private func weldHash(_ p: SIMD3<Float>, _ c: SIMD4<Float>) -> UInt64 {
    var h = UInt64(p.x.bitPattern) &* 0x9E37_79B9_7F4A_7C15
    h ^= UInt64(p.y.bitPattern) &* 0xC2B2_AE3D_27D4_EB4F
    h ^= UInt64(p.z.bitPattern) &* 0x1656_67B1_9E37_79F9
    h ^= UInt64(c.x.bitPattern ^ (c.y.bitPattern << 7) ^ (c.z.bitPattern << 13)) &* 0x27D4_EB2F_1656_67C5
    return h ^ (h >> 29)
}
