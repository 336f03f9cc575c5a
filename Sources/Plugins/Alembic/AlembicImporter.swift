import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// True when the bytes start with the Ogawa magic (or HDF5 magic, to give the legacy error).
public func isAlembic(_ header: [UInt8]) -> Bool {
    header.starts(with: ogawaMagic) || header.starts(with: hdf5Magic)
}

/// How to read an Alembic archive.
public struct AlembicOptions: Sendable {
    /// Which sample of animated properties to read; clamped to each property's own sample count.
    public var sampleIndex: Int = 0

    public init() {}
}

/// Reads an Ogawa-based Alembic archive into a Scene: Xform hierarchy → nodes (with local matrices from the chosen
/// sample), PolyMesh and SubD (as polygons) → triangulated meshes with normals and UVs when present (indexed or
/// not, face-varying expanded), in glTF conventions (Alembic is right-handed Y-up; check winding: Alembic
/// polygons are clockwise, glTF wants CCW). Throws ProcessingError(.badInput, file:, "…"):
/// "unsupported: HDF5-based Alembic" for HDF5 archives; a clear message for corrupt/truncated data.
/// Cameras become perspective cameras and RGB(A) `.arbGeomParams` become COLOR_0; other schemas (points, curves,
/// face sets, …) are skipped with one warning per schema.
public func importAlembic(from url: URL, options: AlembicOptions = AlembicOptions()) throws -> Scene {
    let path = url.path
    let bytes: [UInt8]
    do {
        bytes = [UInt8](try Data(contentsOf: url))
    } catch {
        throw ProcessingError(.io, file: path, "cannot read the file: \(describe(error))")
    }
    if bytes.starts(with: hdf5Magic) {
        throw ProcessingError(.badInput, file: path, "unsupported: HDF5-based Alembic (re-export it as Ogawa)")
    }
    var builder = SceneBuilder(archive: try AlembicArchive(bytes: bytes, path: path), sampleIndex: options.sampleIndex)
    try builder.build()
    return builder.scene
}

/// Limits that keep hostile archives (cyclic or massively shared groups) from exhausting the machine.
enum Limits {
    static let maxDepth = 256
    static let maxObjects = 1_000_000
    /// Polygon corners expanded over all distinct meshes.
    static let maxCorners = 200_000_000
}

/// Walks the object tree and fills a `Scene`.
struct SceneBuilder {
    let archive: AlembicArchive
    let sampleIndex: Int
    var scene = Scene()
    private var objectCount = 0
    private var cornersLeft = Limits.maxCorners
    /// Meshes already built, by the stored samples they were built from (shared samples → one mesh).
    private var meshIndex: [[Int]: Int] = [:]
    private var ignoredSchemas: [String: Int] = [:]
    private var contentCache: [ContentKey: ObjectContent] = [:]
    private var subdCount = 0

    init(archive: AlembicArchive, sampleIndex: Int) {
        self.archive = archive
        self.sampleIndex = max(sampleIndex, 0)
    }

    private var file: OgawaReader { archive.file }

    mutating func build() throws {
        let top = try archive.object(archive.top)
        for (header, offset) in top.children {
            scene.roots.append(try visit(header, offset, parentWorld: identity4, depth: 1))
        }
        if subdCount > 0 {
            scene.warnings.append("\(subdCount) Alembic SubD mesh(es) imported as their control cage (no subdivision)")
        }
        for (schema, count) in ignoredSchemas.sorted(by: { $0.key < $1.key }) {
            scene.warnings.append("ignored \(count) Alembic object(s) of unsupported schema \(schema)")
        }
        if scene.meshes.isEmpty {
            scene.warnings.append("the Alembic archive has no PolyMesh or SubD geometry")
        }
    }

    private mutating func visit(_ header: ObjectHeader, _ offset: Int, parentWorld: [Double], depth: Int) throws -> Int
    {
        guard depth <= Limits.maxDepth else {
            throw file.corrupt("object hierarchy deeper than \(Limits.maxDepth) levels (cyclic?) at '\(header.name)'")
        }
        objectCount += 1
        guard objectCount <= Limits.maxObjects else {
            throw ProcessingError(
                .resourceLimit, file: file.path, "Alembic archive has over \(Limits.maxObjects) objects")
        }
        let schema = header.metadata["schema"] ?? ""
        let content = try self.content(of: offset, schema: schema, name: header.name)
        if schema.hasPrefix("AbcGeom_SubD") {
            subdCount += 1
        } else if content.ignored {
            ignoredSchemas[schema, default: 0] += 1
        }
        var node = Node(name: header.name)
        node.mesh = content.mesh
        node.camera = content.camera
        var local = content.local
        if !content.inherits {
            if let inverse = invert4(parentWorld) {
                local = multiply4(inverse, content.local)
            } else {
                scene.warnings.append(
                    "Alembic xform '\(header.name)' ignores a singular parent transform; kept as local")
            }
        }
        if local != identity4 { node.transform = .matrix(Matrix4(local.map { Float($0) })) }
        let index = scene.nodes.count
        scene.nodes.append(node)
        let world = multiply4(parentWorld, local)
        var children: [Int] = []
        for (childHeader, childOffset) in content.children {
            children.append(try visit(childHeader, childOffset, parentWorld: world, depth: depth + 1))
        }
        scene.nodes[index].children = children
        return index
    }

    private struct ContentKey: Hashable {
        var offset: Int
        var schema: String
    }

    /// What one object group holds under one schema.
    private struct ObjectContent {
        var local = identity4
        var inherits = true
        var mesh: Int?
        var camera: Int?
        var ignored = false
        var children: [(ObjectHeader, Int)] = []
    }

    /// Reads an object group once per schema: archives may share one group many times.
    private mutating func content(of offset: Int, schema: String, name: String) throws -> ObjectContent {
        if let cached = contentCache[ContentKey(offset: offset, schema: schema)] { return cached }
        let object = try archive.object(offset)
        var content = ObjectContent(children: object.children)
        if schema.hasPrefix("AbcGeom_Xform") {
            if let xform = object.properties.find(".xform") {
                (content.local, content.inherits) = try xformSample(archive.compound(xform), name: name)
            }
        } else if schema.hasPrefix("AbcGeom_PolyMesh") || schema.hasPrefix("AbcGeom_SubD") {
            content.mesh = try mesh(named: name, properties: object.properties)
        } else if schema.hasPrefix("AbcGeom_Camera") {
            content.camera = try camera(named: name, properties: object.properties)
        } else {
            content.ignored = !schema.isEmpty
        }
        contentCache[ContentKey(offset: offset, schema: schema)] = content
        return content
    }

    // MARK: Xform

    /// The local matrix (column-major, column vectors) and inherits flag of an Xform schema at the chosen sample.
    ///
    /// `.ops` holds one byte per operation (type in the high nibble: scale, translate, rotate axis+degrees, matrix,
    /// rotateX/Y/Z in degrees) and `.vals` all their channels in order; the first operation is the outermost.
    private func xformSample(_ xform: CompoundProperty, name: String) throws -> ([Double], Bool) {
        var inherits = true
        if let entry = xform.find(".inherits"), let sample = try archive.sample(entry, index: sampleIndex),
            let flag = archive.integers(sample).first
        {
            inherits = flag != 0
        }
        guard let opsEntry = xform.find(".ops"), let opsSample = try archive.sample(opsEntry, index: 0) else {
            return (identity4, inherits)
        }
        let ops = archive.integers(opsSample)
        let channelCounts = [3, 3, 4, 16, 1, 1, 1]
        var needed = 0
        for op in ops {
            guard op >= 0, op >> 4 < channelCounts.count else {
                throw file.corrupt("xform '\(name)' has unknown operation \(op >> 4)")
            }
            needed += channelCounts[op >> 4]
        }
        var values: [Double] = []
        if needed > 0 {
            guard let valsEntry = xform.find(".vals"),
                let valsSample = try archive.sample(valsEntry, index: sampleIndex)
            else {
                throw file.corrupt("xform '\(name)' has \(ops.count) operations but no values")
            }
            values = archive.doubles(valsSample)
            guard values.count >= needed else {
                throw file.corrupt("xform '\(name)' needs \(needed) values for its operations, has \(values.count)")
            }
            guard values.prefix(needed).allSatisfy(\.isFinite) else {
                throw file.corrupt("xform '\(name)' has non-finite values")
            }
        }
        var matrix = identity4
        var at = 0
        for op in ops {
            let type = op >> 4
            let v = Array(values[at..<at + channelCounts[type]])
            at += channelCounts[type]
            let m: [Double]
            switch type {
            case 0: m = [v[0], 0, 0, 0, 0, v[1], 0, 0, 0, 0, v[2], 0, 0, 0, 0, 1]
            case 1: m = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, v[0], v[1], v[2], 1]
            case 2: m = rotation4(axis: (v[0], v[1], v[2]), degrees: v[3])
            // Imath's row-vector matrix, row by row, is the column-major layout of the column-vector matrix.
            case 3: m = v
            default: m = rotation4(axis: type == 4 ? (1, 0, 0) : type == 5 ? (0, 1, 0) : (0, 0, 1), degrees: v[0])
            }
            matrix = multiply4(matrix, m)
        }
        return (matrix, inherits)
    }

    // MARK: Cameras

    /// A perspective camera from `.geom/.core`: 16 doubles starting focal length (mm), horizontal aperture (cm),
    /// horizontal offset, vertical aperture (cm), …, lens squeeze at 5, near and far clip at 14 and 15.
    /// Alembic cameras look down -Z with +Y up, as glTF's do.
    private mutating func camera(named name: String, properties: CompoundProperty) throws -> Int? {
        guard let geomEntry = properties.find(".geom") else {
            throw file.corrupt("camera '\(name)' has no .geom property")
        }
        guard let coreEntry = try archive.compound(geomEntry).find(".core"),
            let sample = try archive.sample(coreEntry, index: sampleIndex)
        else {
            scene.warnings.append("Alembic camera '\(name)' has no samples; skipped")
            return nil
        }
        let core = archive.doubles(sample)
        guard core.count >= 16 else {
            throw file.corrupt("camera '\(name)' has \(core.count) core values, expected 16")
        }
        let (focal, hAperture, vAperture, squeeze, near, far) = (core[0], core[1], core[3], core[5], core[14], core[15])
        guard [focal, hAperture, vAperture, squeeze, near].allSatisfy({ $0.isFinite && $0 > 0 }), far.isFinite,
            far > near
        else {
            scene.warnings.append("Alembic camera '\(name)' has unusable lens values; skipped")
            return nil
        }
        let yfov = 2 * atan(vAperture * 10 / (2 * focal))
        scene.cameras.append(
            .perspective(
                name: name, yfov: Float(yfov), aspectRatio: Float(hAperture * squeeze / vAperture),
                znear: Float(near), zfar: Float(far)))
        return scene.cameras.count - 1
    }

    // MARK: Meshes

    /// Builds (or reuses) the mesh of a PolyMesh or SubD object; nil when it has no polygons.
    private mutating func mesh(named name: String, properties: CompoundProperty) throws -> Int? {
        guard let geomEntry = properties.find(".geom") else {
            throw file.corrupt("mesh '\(name)' has no .geom property")
        }
        let geom = try archive.compound(geomEntry)
        guard let pEntry = geom.find("P"), let countsEntry = geom.find(".faceCounts"),
            let indicesEntry = geom.find(".faceIndices")
        else {
            throw file.corrupt("mesh '\(name)' lacks P, .faceCounts or .faceIndices")
        }
        guard let pSample = try archive.sample(pEntry, index: sampleIndex),
            let countsSample = try archive.sample(countsEntry, index: sampleIndex),
            let indicesSample = try archive.sample(indicesEntry, index: sampleIndex)
        else {
            scene.warnings.append("Alembic mesh '\(name)' has no samples; skipped")
            return nil
        }
        guard pSample.extent == 3 else {
            throw file.corrupt("mesh '\(name)' P has \(pSample.extent) components, expected 3")
        }
        let normals = try geomParam(geom.find("N"), mesh: name, label: "normals", width: 3)
        let uvs = try geomParam(geom.find("uv"), mesh: name, label: "UVs", width: 2)
        let colors = try colorParam(geom, mesh: name)
        var key = [pSample.range.lowerBound, countsSample.range.lowerBound, indicesSample.range.lowerBound]
        for param in [normals, uvs, colors] { key += param?.key ?? [-1, -1] }
        if let existing = meshIndex[key] { return existing }

        cornersLeft -= indicesSample.valueCount
        guard cornersLeft >= 0 else {
            throw ProcessingError(
                .resourceLimit, file: file.path,
                "Alembic meshes have over \(Limits.maxCorners) polygon corners in total")
        }
        let topology = try Topology(
            points: archive.doubles(pSample), counts: archive.integers(countsSample),
            corners: archive.integers(indicesSample), mesh: name, file: file)
        guard topology.triangleCount > 0 else {
            scene.warnings.append("Alembic mesh '\(name)' has no polygons; skipped")
            return nil
        }
        var warnings: [String] = []
        let normalIndex = normals.flatMap { topology.resolve($0, label: "normals", warnings: &warnings) }
        let uvIndex = uvs.flatMap { topology.resolve($0, label: "UVs", warnings: &warnings) }
        let colorIndex = colors.flatMap { topology.resolve($0, label: "colors", warnings: &warnings) }
        var primitive = Primitive(mode: .triangles)
        try topology.build(
            into: &primitive, normals: normals.map { ($0, normalIndex) }, uvs: uvs.map { ($0, uvIndex) },
            colors: colors.map { ($0, colorIndex) }, warnings: &warnings)
        scene.warnings += warnings.map { "Alembic mesh '\(name)': \($0)" }
        var mesh = Mesh(name: name)
        mesh.primitives = [primitive]
        scene.meshes.append(mesh)
        meshIndex[key] = scene.meshes.count - 1
        return scene.meshes.count - 1
    }

    /// Reads a geometry parameter (a plain array property, or a compound of `.vals` and `.indices`).
    private func geomParam(
        _ entry: (header: PropertyHeader, child: OgawaReader.Child)?, mesh: String, label: String,
        width: Int
    ) throws -> GeomParam? {
        guard let entry else { return nil }
        var valuesSample: Sample?
        var indices: [Int]?
        var indicesOffset = -1
        if entry.header.kind == .compound {
            let compound = try archive.compound(entry)
            guard let vals = compound.find(".vals") else { return nil }
            valuesSample = try archive.sample(vals, index: sampleIndex)
            if let indicesEntry = compound.find(".indices"),
                let sample = try archive.sample(indicesEntry, index: sampleIndex)
            {
                indices = archive.integers(sample)
                indicesOffset = sample.range.lowerBound
            }
        } else {
            valuesSample = try archive.sample(entry, index: sampleIndex)
        }
        guard let valuesSample else { return nil }
        guard valuesSample.extent == width else {
            throw file.corrupt("mesh '\(mesh)' \(label) have \(valuesSample.extent) components, expected \(width)")
        }
        return GeomParam(
            values: archive.doubles(valuesSample), width: width, indices: indices,
            scope: entry.header.metadata["geoScope"],
            key: [valuesSample.range.lowerBound, indicesOffset])
    }

    /// The first RGB or RGBA parameter among `.arbGeomParams`, as COLOR_0.
    private func colorParam(_ geom: CompoundProperty, mesh: String) throws -> GeomParam? {
        guard let arbEntry = geom.find(".arbGeomParams"), arbEntry.header.kind == .compound else { return nil }
        let arb = try archive.compound(arbEntry)
        for (header, child) in zip(arb.headers, arb.children) {
            let interpretation = header.metadata["interpretation"]
            guard interpretation == "rgb" || interpretation == "rgba" else { continue }
            return try geomParam((header, child), mesh: mesh, label: "colors", width: interpretation == "rgb" ? 3 : 4)
        }
        return nil
    }
}

/// A geometry parameter's values (`width` per element), optional index list, and declared scope.
struct GeomParam {
    var values: [Double]
    var width: Int
    var indices: [Int]?
    /// "con", "uni", "var", "vtx" or "fvr"; nil when the file does not say.
    var scope: String?
    /// Identity of the stored samples, for sharing meshes.
    var key: [Int]

    var valueCount: Int { values.count / width }
}

/// Validated polygon topology of one mesh sample.
struct Topology {
    let points: [Double]
    let counts: [Int]
    let corners: [Int]
    let mesh: String
    var pointCount: Int { points.count / 3 }
    let triangleCount: Int

    init(points: [Double], counts: [Int], corners: [Int], mesh: String, file: OgawaReader) throws {
        var total = 0
        var triangles = 0
        for count in counts {
            guard count >= 0, count <= corners.count - total else {
                throw file.corrupt("mesh '\(mesh)' face counts do not match its \(corners.count) face indices")
            }
            total += count
            triangles += max(count - 2, 0)
        }
        guard total == corners.count else {
            throw file.corrupt("mesh '\(mesh)' face counts cover \(total) of its \(corners.count) face indices")
        }
        let pointCount = points.count / 3
        if let bad = corners.first(where: { $0 < 0 || $0 >= pointCount }) {
            throw file.corrupt("mesh '\(mesh)' face index \(bad) is out of range (\(pointCount) points)")
        }
        var used = [Bool](repeating: false, count: pointCount)
        for c in corners { used[c] = true }
        for p in 0..<pointCount where used[p] {
            guard points[3 * p].isFinite, points[3 * p + 1].isFinite, points[3 * p + 2].isFinite else {
                throw file.corrupt("mesh '\(mesh)' has a non-finite position")
            }
        }
        self.points = points
        self.counts = counts
        self.corners = corners
        self.mesh = mesh
        self.triangleCount = triangles
    }

    /// For each polygon corner, the index of its value in `param`; nil (with a warning) when the parameter's
    /// size fits no scope or an index is out of range.
    func resolve(_ param: GeomParam, label: String, warnings: inout [String]) -> [Int]? {
        let elements = param.indices?.count ?? param.valueCount
        let scope =
            param.scope
            ?? [(corners.count, "fvr"), (pointCount, "vtx"), (counts.count, "uni"), (1, "con")]
            .first(where: { $0.0 == elements })?.1
        let needed: Int
        switch scope {
        case "fvr": needed = corners.count
        case "vtx", "var": needed = pointCount
        case "uni": needed = counts.count
        case "con": needed = 1
        default:
            warnings.append("ignored \(label): \(elements) values match no geometry scope")
            return nil
        }
        guard elements >= needed else {
            warnings.append("ignored \(label): scope \(scope ?? "") needs \(needed) values, found \(elements)")
            return nil
        }
        var result = [Int](repeating: 0, count: corners.count)
        var corner = 0
        for (face, count) in counts.enumerated() {
            for _ in 0..<count {
                let element: Int
                switch scope {
                case "fvr": element = corner
                case "vtx", "var": element = corners[corner]
                case "uni": element = face
                default: element = 0
                }
                let value = param.indices?[element] ?? element
                guard value >= 0, value < param.valueCount else {
                    warnings.append("ignored \(label): index \(value) is out of range (\(param.valueCount) values)")
                    return nil
                }
                result[corner] = value
                corner += 1
            }
        }
        return result
    }

    /// Triangulates the polygons (fans, reversing Alembic's clockwise order to glTF's counter-clockwise) into
    /// `primitive`, with one vertex per distinct combination of position, normal, UV and color.
    func build(
        into primitive: inout Primitive, normals: (GeomParam, [Int]?)?, uvs: (GeomParam, [Int]?)?,
        colors: (GeomParam, [Int]?)?, warnings: inout [String]
    ) throws {
        struct Key: Hashable { var p, n, t, c: Int }
        let nIndex = normals?.1
        let tIndex = uvs?.1
        let cIndex = colors?.1
        var lookup: [Key: UInt32] = [:]
        var keys: [Key] = []
        var cornerVertex = [UInt32](repeating: 0, count: corners.count)
        for c in 0..<corners.count {
            let key = Key(p: corners[c], n: nIndex?[c] ?? -1, t: tIndex?[c] ?? -1, c: cIndex?[c] ?? -1)
            if let v = lookup[key] {
                cornerVertex[c] = v
            } else {
                let v = UInt32(keys.count)
                lookup[key] = v
                keys.append(key)
                cornerVertex[c] = v
            }
        }
        primitive.indices.reserveCapacity(triangleCount * 3)
        var start = 0
        for count in counts {
            if count >= 3 {
                for k in 1..<(count - 1) {
                    primitive.indices += [cornerVertex[start], cornerVertex[start + k + 1], cornerVertex[start + k]]
                }
            }
            start += count
        }
        primitive.vertices.positions = keys.map {
            SIMD3(Float(points[3 * $0.p]), Float(points[3 * $0.p + 1]), Float(points[3 * $0.p + 2]))
        }
        if let (param, index) = normals, index != nil {
            var result: [SIMD3<Float>] = []
            result.reserveCapacity(keys.count)
            for key in keys {
                let v = SIMD3(param.values[3 * key.n], param.values[3 * key.n + 1], param.values[3 * key.n + 2])
                let length = (v * v).sum().squareRoot()
                guard length.isFinite, length > 1e-12 else {
                    warnings.append("ignored normals: some are zero-length or non-finite")
                    result = []
                    break
                }
                let unit = v / length
                result.append(SIMD3(Float(unit.x), Float(unit.y), Float(unit.z)))
            }
            primitive.vertices.normals = result
        }
        if let (param, index) = uvs, index != nil {
            // Alembic puts v = 0 at the image's bottom; glTF at its top.
            primitive.vertices.texcoords = [
                keys.map {
                    SIMD2(Float(param.values[2 * $0.t]), Float(1 - param.values[2 * $0.t + 1]))
                }
            ]
            if primitive.vertices.texcoords[0].contains(where: { !$0.x.isFinite || !$0.y.isFinite }) {
                warnings.append("ignored UVs: some are non-finite")
                primitive.vertices.texcoords = []
            }
        }
        if let (param, index) = colors, index != nil {
            let w = param.width
            primitive.vertices.colors = keys.map {
                let b = w * $0.c
                return SIMD4(
                    Float(param.values[b]), Float(param.values[b + 1]), Float(param.values[b + 2]),
                    w == 4 ? Float(param.values[b + 3]) : 1)
            }
            if primitive.vertices.colors.contains(where: {
                !($0.x.isFinite && $0.y.isFinite && $0.z.isFinite && $0.w.isFinite)
            }) {
                warnings.append("ignored colors: some are non-finite")
                primitive.vertices.colors = []
            }
        }
    }
}

// MARK: - 4×4 matrices in Double, column-major, column vectors

let identity4: [Double] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]

func multiply4(_ a: [Double], _ b: [Double]) -> [Double] {
    var r = [Double](repeating: 0, count: 16)
    for c in 0..<4 {
        for row in 0..<4 {
            var sum = 0.0
            for k in 0..<4 { sum += a[k * 4 + row] * b[c * 4 + k] }
            r[c * 4 + row] = sum
        }
    }
    return r
}

/// A right-handed rotation about `axis` (normalized here; a zero axis gives the identity).
func rotation4(axis: (Double, Double, Double), degrees: Double) -> [Double] {
    let length = (axis.0 * axis.0 + axis.1 * axis.1 + axis.2 * axis.2).squareRoot()
    guard length > 0 else { return identity4 }
    let (x, y, z) = (axis.0 / length, axis.1 / length, axis.2 / length)
    let angle = degrees * .pi / 180
    let c = cos(angle)
    let s = sin(angle)
    let t = 1 - c
    return [
        t * x * x + c, t * x * y + s * z, t * x * z - s * y, 0,
        t * x * y - s * z, t * y * y + c, t * y * z + s * x, 0,
        t * x * z + s * y, t * y * z - s * x, t * z * z + c, 0,
        0, 0, 0, 1
    ]
}

/// The inverse by Gauss-Jordan elimination with partial pivoting; nil when singular.
func invert4(_ m: [Double]) -> [Double]? {
    // Work on rows of [A | I] where A[row][col] = m[col * 4 + row].
    var a = (0..<4).map { row in (0..<4).map { m[$0 * 4 + row] } + (0..<4).map { $0 == row ? 1.0 : 0.0 } }
    for col in 0..<4 {
        let pivot = (col..<4).max(by: { abs(a[$0][col]) < abs(a[$1][col]) })!
        guard abs(a[pivot][col]) > 1e-300 else { return nil }
        a.swapAt(col, pivot)
        let p = a[col][col]
        a[col] = a[col].map { $0 / p }
        for row in 0..<4 where row != col {
            let f = a[row][col]
            if f != 0 { a[row] = zip(a[row], a[col]).map { $0 - f * $1 } }
        }
    }
    var r = [Double](repeating: 0, count: 16)
    for row in 0..<4 { for col in 0..<4 { r[col * 4 + row] = a[row][4 + col] } }
    return r
}
