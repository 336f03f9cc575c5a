import FoundationEssentials
import ImportSupport
import Scene

/// Reads a PLY file (ASCII, binary little- or big-endian) into a Scene: one node and mesh with one primitive.
///
/// - `vertex`: positions `x y z` (any property type), normals `nx ny nz`, colors `red green blue [alpha]` (also
///   `r g b a` and `diffuse_red …`; integer types are scaled to 0…1 by their range, colors are taken as sRGB and
///   linearized, alpha is not), texture coordinates as `u v`, `s t`, `texture_u texture_v` or
///   `texture_s texture_t`. Other properties are skipped.
/// - `face`: the `vertex_indices` (or `vertex_index`, else first) list, polygons of any size triangulated with
///   `PolygonTriangulator` (concave ones correctly); faces of one or two corners are dropped.
/// - `tristrips`: strips of the `vertex_indices` list, restarted at -1, with alternating winding; degenerate
///   triangles are skipped.
/// - Without any triangle the vertices become a point cloud. Every other element is skipped.
///
/// Each element's count (and each list's length) is checked against the bytes left before anything is allocated,
/// so a lying header is a bad-input error, as are truncated vertex data, out-of-range indices and NaN or infinite
/// positions. Face or strip data cut short keeps the complete items before the cut, with a warning (as long as
/// some remain). Vertices no triangle uses are dropped.
public func importPLY(from url: URL) throws -> Scene {
    let file = try MappedFile(url)
    let path = url.path
    let header = try PLYHeader(file.bytes, path: path)
    var body = PLYBody(header: header, path: path)
    switch header.format {
    case .ascii:
        var values = ASCIIValues(scanner: TextScanner(file.bytes, from: header.bodyOffset), path: path)
        try body.read(&values)
    case .binaryLittleEndian, .binaryBigEndian:
        var values = BinaryValues(
            cursor: BinaryCursor(
                file.bytes, offset: header.bodyOffset,
                bigEndian: header.format == .binaryBigEndian, file: path))
        try body.read(&values)
    }
    let primitive = try body.primitive()
    var scene = Scene()
    let name = url.deletingPathExtension().lastPathComponent
    var mesh = Mesh(name: name)
    mesh.primitives = [primitive]
    scene.meshes = [mesh]
    var node = Node(name: name)
    node.mesh = 0
    scene.nodes = [node]
    scene.roots = [0]
    scene.warnings = body.warnings
    return scene
}

// MARK: - Header

enum ScalarType {
    case int8, uint8, int16, uint16, int32, uint32, float32, float64

    init?(_ name: String) {
        switch name {
        case "char", "int8": self = .int8
        case "uchar", "uint8": self = .uint8
        case "short", "int16": self = .int16
        case "ushort", "uint16": self = .uint16
        case "int", "int32": self = .int32
        case "uint", "uint32": self = .uint32
        case "float", "float32": self = .float32
        case "double", "float64": self = .float64
        default: return nil
        }
    }

    var size: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }

    var isInteger: Bool { self != .float32 && self != .float64 }

    /// The largest value of an unsigned integer type (color scaling), 1 for the others.
    var colorScale: Float {
        switch self {
        case .uint8: return 255
        case .int8: return 127
        case .uint16: return 65535
        case .int16: return 32767
        case .uint32: return Float(UInt32.max)
        case .int32: return Float(Int32.max)
        case .float32, .float64: return 1
        }
    }
}

struct PLYProperty {
    var name: String
    var type: ScalarType
    /// The type of the length prefix when this is a list.
    var countType: ScalarType?
}

struct PLYElement {
    var name: String
    var count: Int
    var properties: [PLYProperty] = []

    /// The smallest number of bytes (binary) or values (ASCII) one element can take.
    var minimumSize: Int { properties.reduce(0) { $0 + ($1.countType?.size ?? $1.type.size) } }
}

struct PLYHeader {
    enum Format { case ascii, binaryLittleEndian, binaryBigEndian }

    var format = Format.ascii
    var elements: [PLYElement] = []
    var bodyOffset = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        func bad(_ message: String) -> ProcessingError {
            ProcessingError(.badInput, file: path, "PLY header: \(message)")
        }
        var scanner = TextScanner(bytes)
        guard scanner.matches(scanner.word(), "ply") else { throw bad("does not start with 'ply'") }
        scanner.skipLine()
        var sawFormat = false
        while true {
            guard !scanner.isAtEnd else { throw bad("no end_header") }
            let line = scanner.restOfLine()
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "end_header":
                guard sawFormat else { throw bad("no format line") }
                bodyOffset = scanner.offset
                return
            case "format":
                guard words.count >= 2 else { throw bad("malformed format line") }
                switch words[1] {
                case "ascii": format = .ascii
                case "binary_little_endian": format = .binaryLittleEndian
                case "binary_big_endian": format = .binaryBigEndian
                default: throw bad("unknown format '\(words[1])'")
                }
                sawFormat = true
            case "element":
                guard words.count >= 3, let count = Int(words[2]), count >= 0 else {
                    throw bad("malformed element line '\(line)'")
                }
                elements.append(PLYElement(name: words[1], count: count))
            case "property":
                guard !elements.isEmpty else { throw bad("property before any element") }
                if words.count >= 5, words[1] == "list" {
                    guard let countType = ScalarType(words[2]), countType.isInteger, let type = ScalarType(words[3])
                    else {
                        throw bad("malformed list property '\(line)'")
                    }
                    elements[elements.count - 1].properties.append(
                        PLYProperty(name: words[4], type: type, countType: countType))
                } else if words.count >= 3, let type = ScalarType(words[1]) {
                    elements[elements.count - 1].properties.append(PLYProperty(name: words[2], type: type))
                } else {
                    throw bad("malformed property '\(line)'")
                }
            default:
                continue  // comment, obj_info and unknown header lines
            }
        }
    }
}

// MARK: - Values

/// Reads the body's values one at a time, ASCII or binary.
protocol PLYValues {
    /// The bytes left (for checking counts before allocating).
    var remaining: Int { get }
    mutating func number(_ type: ScalarType) throws -> Double
    mutating func integer(_ type: ScalarType) throws -> Int
    /// Binary data: the bytes left, to be read directly, and their byte order; nil for ASCII. `advance` then
    /// consumes what was read.
    var rest: (bytes: UnsafeRawBufferPointer, bigEndian: Bool)? { get }
    mutating func advance(_ count: Int)
}

struct BinaryValues: PLYValues {
    var cursor: BinaryCursor

    var remaining: Int { cursor.remaining }

    @inline(__always)
    mutating func number(_ type: ScalarType) throws -> Double {
        switch type {
        case .float32: return Double(try cursor.readFloat("PLY value"))
        case .float64: return try cursor.readDouble("PLY value")
        default: return Double(try integer(type))
        }
    }

    @inline(__always)
    mutating func integer(_ type: ScalarType) throws -> Int {
        switch type {
        case .int8: return Int(try cursor.read(Int8.self, "PLY value"))
        case .uint8: return Int(try cursor.read(UInt8.self, "PLY value"))
        case .int16: return Int(try cursor.read(Int16.self, "PLY value"))
        case .uint16: return Int(try cursor.read(UInt16.self, "PLY value"))
        case .int32: return Int(try cursor.read(Int32.self, "PLY value"))
        case .uint32: return Int(try cursor.read(UInt32.self, "PLY value"))
        case .float32:
            let value = try cursor.readFloat("PLY value")
            return value.isFinite && abs(value) < 1e18 ? Int(value) : -1
        case .float64:
            let value = try cursor.readDouble("PLY value")
            return value.isFinite && abs(value) < 1e18 ? Int(value) : -1
        }
    }

    var rest: (bytes: UnsafeRawBufferPointer, bigEndian: Bool)? {
        (UnsafeRawBufferPointer(rebasing: cursor.bytes[cursor.offset...]), cursor.bigEndian)
    }

    mutating func advance(_ count: Int) { cursor.offset += count }
}

struct ASCIIValues: PLYValues {
    var scanner: TextScanner
    let path: String

    var remaining: Int { scanner.end - scanner.offset }

    private mutating func skipWhitespace() {
        while scanner.offset < scanner.end {
            let c = scanner.base[scanner.offset]
            guard c == 32 || c == 9 || c == 10 || c == 13 else { break }
            scanner.offset += 1
        }
    }

    private func error() -> ProcessingError {
        scanner.isAtEnd
            ? ProcessingError(
                .badInput, file: path, "truncated or corrupt: PLY data ends before the elements the header declares")
            : ProcessingError(.badInput, file: path, "corrupt: not a number at byte \(scanner.offset) of the PLY data")
    }

    @inline(__always)
    mutating func number(_ type: ScalarType) throws -> Double {
        skipWhitespace()
        guard let value = parseFloat(scanner.base, &scanner.offset, scanner.end) else { throw error() }
        return Double(value)
    }

    @inline(__always)
    mutating func integer(_ type: ScalarType) throws -> Int {
        skipWhitespace()
        guard let value = parseInteger(scanner.base, &scanner.offset, scanner.end) else { throw error() }
        if scanner.offset < scanner.end, scanner.base[scanner.offset] == 46 {  // "3.0"
            _ = parseFloat(scanner.base, &scanner.offset, scanner.end)
        }
        return value
    }

    var rest: (bytes: UnsafeRawBufferPointer, bigEndian: Bool)? { nil }
    mutating func advance(_ count: Int) {}
}

extension ScalarType {
    /// The value at `p` (no alignment needed) in the given byte order.
    @inline(__always)
    func load(_ p: UnsafeRawPointer, bigEndian: Bool) -> Float {
        @inline(__always) func word<T: FixedWidthInteger>(_: T.Type) -> T {
            let raw = p.loadUnaligned(as: T.self)
            return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        switch self {
        case .int8: return Float(p.load(as: Int8.self))
        case .uint8: return Float(p.load(as: UInt8.self))
        case .int16: return Float(word(Int16.self))
        case .uint16: return Float(word(UInt16.self))
        case .int32: return Float(word(Int32.self))
        case .uint32: return Float(word(UInt32.self))
        case .float32: return Float(bitPattern: word(UInt32.self))
        case .float64: return Float(Double(bitPattern: word(UInt64.self)))
        }
    }

    /// The integer at `p` in the given byte order (integer types only).
    @inline(__always)
    func loadInteger(_ p: UnsafeRawPointer, bigEndian: Bool) -> Int {
        @inline(__always) func word<T: FixedWidthInteger>(_: T.Type) -> Int {
            let raw = p.loadUnaligned(as: T.self)
            return Int(bigEndian ? T(bigEndian: raw) : T(littleEndian: raw))
        }
        switch self {
        case .int8: return Int(p.load(as: Int8.self))
        case .uint8: return Int(p.load(as: UInt8.self))
        case .int16: return word(Int16.self)
        case .uint16: return word(UInt16.self)
        case .int32: return word(Int32.self)
        case .uint32: return word(UInt32.self)
        case .float32, .float64: return -1
        }
    }
}

// MARK: - Body

private enum Target {
    case skip, x, y, z, nx, ny, nz, red, green, blue, alpha, u, v

    /// Puts `value` where this property goes; colors are divided by their type's range.
    @inline(__always)
    func store(
        _ value: Float, scale: Float, _ p: inout SIMD3<Float>, _ n: inout SIMD3<Float>, _ c: inout SIMD4<Float>,
        _ t: inout SIMD2<Float>
    ) {
        switch self {
        case .x: p.x = value
        case .y: p.y = value
        case .z: p.z = value
        case .nx: n.x = value
        case .ny: n.y = value
        case .nz: n.z = value
        case .red: c.x = value / scale
        case .green: c.y = value / scale
        case .blue: c.z = value / scale
        case .alpha: c.w = value / scale
        case .u: t.x = value
        case .v: t.y = value
        case .skip: break
        }
    }
}

struct PLYBody {
    let header: PLYHeader
    let path: String
    private var positions: [SIMD3<Float>] = []
    private var normals: [SIMD3<Float>] = []
    private var colors: [SIMD4<Float>] = []
    private var texcoords: [SIMD2<Float>] = []
    /// Polygon corners and per-polygon sizes, triangulated once every vertex is known.
    private var polygonCorners: [UInt32] = []
    private var polygonSizes: [UInt32] = []
    private var stripTriangles: [UInt32] = []
    private var sawVertexElement = false
    private(set) var warnings: [String] = []

    init(header: PLYHeader, path: String) {
        self.header = header
        self.path = path
    }

    private func bad(_ message: String) -> ProcessingError { ProcessingError(.badInput, file: path, message) }

    mutating func read<Values: PLYValues>(_ values: inout Values) throws {
        let binary = header.format != .ascii
        for element in header.elements {
            // Counts against the bytes left before allocating: each element takes at least its fixed part in
            // binary, and at least one byte per value in ASCII.
            let minimum = binary ? element.minimumSize : element.properties.count
            let (needed, overflow) = element.count.multipliedReportingOverflow(by: max(minimum, 1))
            guard !overflow, needed <= values.remaining || (minimum == 0 && element.count <= values.remaining) else {
                throw bad(
                    "truncated or corrupt: element '\(element.name)' declares \(element.count) items, more than the \(values.remaining) bytes left"
                )
            }
            switch element.name {
            case "vertex" where !sawVertexElement:
                sawVertexElement = true
                try readVertices(element, &values)
            case "face", "tristrips":
                let before = (polygonSizes.count, polygonCorners.count, stripTriangles.count)
                var read = 0
                do {
                    if element.name == "face" {
                        try readFaces(element, &values, read: &read)
                    } else {
                        try readStrips(element, &values, read: &read)
                    }
                } catch let error as ProcessingError where error.message.hasPrefix("truncated") {
                    // Cut short: keep the complete items read so far.
                    if element.name == "face" {
                        let kept = before.1 + polygonSizes[before.0...].reduce(0) { $0 + Int($1) }
                        polygonCorners.removeSubrange(min(polygonCorners.count, kept)...)
                    }
                    guard read > 0 || before.0 > 0 || before.2 > 0 else { throw error }
                    warnings.append(
                        "truncated: only \(read) of the \(element.count) items of PLY element '\(element.name)' are complete; the rest was dropped"
                    )
                    return
                }
            default:
                try skip(element, &values)
            }
        }
    }

    private func skip<Values: PLYValues>(_ element: PLYElement, _ values: inout Values) throws {
        for _ in 0..<element.count {
            for property in element.properties { try skip(property, &values) }
        }
    }

    @inline(__always)
    private func skip<Values: PLYValues>(_ property: PLYProperty, _ values: inout Values) throws {
        if let countType = property.countType {
            let count = try listCount(countType, property.type, &values)
            for _ in 0..<count { _ = try values.number(property.type) }
        } else {
            _ = try values.number(property.type)
        }
    }

    /// A list's length, checked against the bytes left.
    @inline(__always)
    private func listCount<Values: PLYValues>(_ countType: ScalarType, _ itemType: ScalarType, _ values: inout Values)
        throws -> Int
    {
        let count = try values.integer(countType)
        let size = header.format == .ascii ? 1 : itemType.size
        guard count >= 0, count <= values.remaining / size else {
            throw bad("truncated or corrupt: a PLY list declares \(count) items, more than the data holds")
        }
        return count
    }

    private mutating func readVertices<Values: PLYValues>(_ element: PLYElement, _ values: inout Values) throws {
        let targets: [Target] = element.properties.map { property in
            guard property.countType == nil else { return .skip }
            switch property.name {
            case "x": return .x
            case "y": return .y
            case "z": return .z
            case "nx", "normal_x": return .nx
            case "ny", "normal_y": return .ny
            case "nz", "normal_z": return .nz
            case "red", "r", "diffuse_red": return .red
            case "green", "g", "diffuse_green": return .green
            case "blue", "b", "diffuse_blue": return .blue
            case "alpha", "a", "diffuse_alpha": return .alpha
            case "u", "s", "texture_u", "texture_s": return .u
            case "v", "t", "texture_v", "texture_t": return .v
            default: return .skip
            }
        }
        guard targets.contains(.x), targets.contains(.y), targets.contains(.z) else {
            throw bad("PLY vertices have no x, y and z")
        }
        let hasNormals = targets.contains(.nx) && targets.contains(.ny) && targets.contains(.nz)
        let hasColors = targets.contains(.red) && targets.contains(.green) && targets.contains(.blue)
        let hasTexcoords = targets.contains(.u) && targets.contains(.v)
        let count = element.count
        positions.reserveCapacity(count)
        if hasNormals { normals.reserveCapacity(count) }
        if hasColors { colors.reserveCapacity(count) }
        if hasTexcoords { texcoords.reserveCapacity(count) }
        let vertex = VertexLayout(normals: hasNormals, colors: hasColors, texcoords: hasTexcoords)
        if count > 0, element.properties.allSatisfy({ $0.countType == nil }), let (bytes, bigEndian) = values.rest {
            // Binary with a fixed record size (checked against the bytes left above): load each value in place.
            let stride = element.minimumSize
            var offset = 0
            var fields: [(offset: Int, type: ScalarType, target: Target)] = []
            for (property, target) in zip(element.properties, targets) {
                if target != .skip { fields.append((offset, property.type, target)) }
                offset += property.type.size
            }
            var record = bytes.baseAddress!
            for _ in 0..<count {
                var p = SIMD3<Float>.zero
                var n = SIMD3<Float>.zero
                var c = SIMD4<Float>.one
                var t = SIMD2<Float>.zero
                for field in fields {
                    let value = field.type.load(record + field.offset, bigEndian: bigEndian)
                    field.target.store(value, scale: field.type.colorScale, &p, &n, &c, &t)
                }
                try append(p, n, c, t, vertex)
                record += stride
            }
            values.advance(count * stride)
            return
        }
        for _ in 0..<count {
            var p = SIMD3<Float>.zero
            var n = SIMD3<Float>.zero
            var c = SIMD4<Float>.one
            var t = SIMD2<Float>.zero
            for (property, target) in zip(element.properties, targets) {
                if target == .skip {
                    try skip(property, &values)
                    continue
                }
                let value = Float(try values.number(property.type))
                target.store(value, scale: property.type.colorScale, &p, &n, &c, &t)
            }
            try append(p, n, c, t, vertex)
        }
    }

    /// Which optional streams the vertex element has.
    private struct VertexLayout {
        var normals, colors, texcoords: Bool
    }

    /// Adds one vertex: finite position, unit normal, clamped and linearized color, flipped texture coordinate.
    @inline(__always)
    private mutating func append(
        _ p: SIMD3<Float>, _ n: SIMD3<Float>, _ c: SIMD4<Float>, _ t: SIMD2<Float>, _ layout: VertexLayout
    ) throws {
        guard p.x.isFinite, p.y.isFinite, p.z.isFinite else {
            throw bad("has vertex positions that are NaN or infinite")
        }
        positions.append(p)
        if layout.normals {
            let length = (n * n).sum().squareRoot()
            normals.append(length > 0 && length.isFinite ? n / length : SIMD3(0, 0, 1))
        }
        if layout.colors {
            func unit(_ v: Float) -> Float { v.isFinite ? min(max(v, 0), 1) : 1 }
            colors.append(SIMD4(srgbToLinear(unit(c.x)), srgbToLinear(unit(c.y)), srgbToLinear(unit(c.z)), unit(c.w)))
        }
        if layout.texcoords { texcoords.append(SIMD2(t.x.isFinite ? t.x : 0, t.y.isFinite ? 1 - t.y : 0)) }
    }

    /// The index list of a face or strip element: `vertex_indices`, `vertex_index`, else the first list.
    private func indexProperty(_ element: PLYElement) -> Int? {
        element.properties.firstIndex {
            $0.countType != nil && ($0.name == "vertex_indices" || $0.name == "vertex_index")
        }
            ?? element.properties.firstIndex { $0.countType != nil }
    }

    private mutating func readFaces<Values: PLYValues>(_ element: PLYElement, _ values: inout Values, read: inout Int)
        throws
    {
        guard let list = indexProperty(element) else { return try skip(element, &values) }
        let property = element.properties[list]
        if element.properties.count == 1, let countType = property.countType, property.type.isInteger,
            let (bytes, bigEndian) = values.rest, !bytes.isEmpty
        {
            // Binary faces holding only their index list: read in place.
            let base = bytes.baseAddress!
            let size = property.type.size
            var offset = 0
            defer { values.advance(offset) }
            for _ in 0..<element.count {
                guard countType.size <= bytes.count - offset else {
                    throw bad("truncated or corrupt: a PLY face at byte \(offset) runs past the end of the data")
                }
                let count = countType.loadInteger(base + offset, bigEndian: bigEndian)
                offset += countType.size
                guard count >= 0, count <= (bytes.count - offset) / size else {
                    throw bad("truncated or corrupt: a PLY list declares \(count) items, more than the data holds")
                }
                for k in 0..<count {
                    let vertex = property.type.loadInteger(base + offset + k * size, bigEndian: bigEndian)
                    guard vertex >= 0, vertex <= Int(UInt32.max) else {
                        throw bad("a PLY face has vertex index \(vertex)")
                    }
                    polygonCorners.append(UInt32(vertex))
                }
                offset += count * size
                polygonSizes.append(UInt32(count))
                read += 1
            }
            return
        }
        for _ in 0..<element.count {
            for (index, property) in element.properties.enumerated() {
                guard index == list, let countType = property.countType else {
                    try skip(property, &values)
                    continue
                }
                let count = try listCount(countType, property.type, &values)
                for _ in 0..<count {
                    let vertex = try values.integer(property.type)
                    guard vertex >= 0, vertex <= Int(UInt32.max) else {
                        throw bad("a PLY face has vertex index \(vertex)")
                    }
                    polygonCorners.append(UInt32(vertex))
                }
                polygonSizes.append(UInt32(count))
            }
            read += 1
        }
    }

    private mutating func readStrips<Values: PLYValues>(_ element: PLYElement, _ values: inout Values, read: inout Int)
        throws
    {
        guard let list = indexProperty(element) else { return try skip(element, &values) }
        var strip: [UInt32] = []
        for _ in 0..<element.count {
            for (index, property) in element.properties.enumerated() {
                guard index == list, let countType = property.countType else {
                    try skip(property, &values)
                    continue
                }
                let count = try listCount(countType, property.type, &values)
                strip.removeAll(keepingCapacity: true)
                for item in 0...count {
                    let vertex = item < count ? try values.integer(property.type) : -1
                    if vertex < 0 {
                        // -1 restarts the strip (and the list's end closes it).
                        for k in stride(from: 2, to: strip.count, by: 1) {
                            let (a, b, c) =
                                k % 2 == 0
                                ? (strip[k - 2], strip[k - 1], strip[k]) : (strip[k - 1], strip[k - 2], strip[k])
                            if a != b, b != c, a != c { stripTriangles += [a, b, c] }
                        }
                        strip.removeAll(keepingCapacity: true)
                        if vertex >= 0 { strip.append(UInt32(vertex)) }
                        continue
                    }
                    guard vertex <= Int(UInt32.max) else { throw bad("a PLY strip has vertex index \(vertex)") }
                    strip.append(UInt32(vertex))
                }
            }
            read += 1
        }
    }

    /// Triangulates the polygons, adds the strips, drops unused vertices; a point cloud without triangles.
    mutating func primitive() throws -> Primitive {
        let vertexCount = positions.count
        guard vertexCount > 0 else { throw bad("contains no geometry") }
        for corner in polygonCorners where Int(corner) >= vertexCount {
            throw bad("a PLY face refers to vertex \(corner), but the file has \(vertexCount)")
        }
        for corner in stripTriangles where Int(corner) >= vertexCount {
            throw bad("a PLY strip refers to vertex \(corner), but the file has \(vertexCount)")
        }
        var indices: [UInt32] = []
        if polygonSizes.allSatisfy({ $0 == 3 }) {
            swap(&indices, &polygonCorners)  // only triangles: the corners are the indices
        } else {
            indices.reserveCapacity(polygonCorners.count + stripTriangles.count)
            var triangulator = PolygonTriangulator()
            var start = 0
            let positions = self.positions
            let corners = polygonCorners
            for size in polygonSizes {
                let count = Int(size)
                defer { start += count }
                if count == 3 {
                    indices.append(corners[start])
                    indices.append(corners[start + 1])
                    indices.append(corners[start + 2])
                    continue
                }
                let base = start
                let point: (Int) -> SIMD3<Float> = { positions[Int(corners[base + $0])] }
                triangulator.triangulate(count: count, point: point) { a, b, c in
                    indices.append(corners[base + a])
                    indices.append(corners[base + b])
                    indices.append(corners[base + c])
                }
            }
        }
        polygonCorners = []
        polygonSizes = []
        indices += stripTriangles
        stripTriangles = []

        var primitive = Primitive(mode: indices.isEmpty ? .points : .triangles)
        if indices.isEmpty {
            primitive.indices = (0..<UInt32(vertexCount)).map { $0 }
            primitive.vertices = streams(keeping: nil)
            return primitive
        }
        // Number the used vertices in order of first use.
        var remap = [UInt32](repeating: .max, count: vertexCount)
        var kept: [Int] = []
        for i in indices.indices {
            let old = Int(indices[i])
            if remap[old] == .max {
                remap[old] = UInt32(kept.count)
                kept.append(old)
            }
            indices[i] = remap[old]
        }
        primitive.indices = indices
        primitive.vertices = streams(
            keeping: kept.count == vertexCount && kept.elementsEqual(0..<vertexCount) ? nil : kept)
        return primitive
    }

    private mutating func streams(keeping kept: [Int]?) -> VertexStreams {
        var streams = VertexStreams()
        func pick<T>(_ values: [T]) -> [T] { kept.map { $0.map { values[$0] } } ?? values }
        streams.positions = pick(positions)
        positions = []
        if !normals.isEmpty { streams.normals = pick(normals) }
        normals = []
        if !colors.isEmpty { streams.colors = pick(colors) }
        colors = []
        if !texcoords.isEmpty { streams.texcoords = [pick(texcoords)] }
        texcoords = []
        return streams
    }
}
