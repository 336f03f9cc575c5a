import Meshopt
import Scene

/// Settings for `encodeGLB`.
public struct GLBOptions: Sendable {
    /// Written to `asset.generator`.
    public var generator: String
    /// Integer vertex storage (`KHR_mesh_quantization`); nil keeps floats.
    public var quantization: Quantization?
    public var compression: Compression

    public init(generator: String, quantization: Quantization? = nil, compression: Compression = .none) {
        self.generator = generator
        self.quantization = quantization
        self.compression = compression
    }
}

/// Bytes of the output by category, for the report.
///
/// `json` is the padded JSON chunk; the others are the padded bufferViews of each kind in the BIN chunk;
/// `total` is the whole file, so it also counts the 12-byte header and the 8-byte chunk headers.
public struct ByteBreakdown: Sendable, Equatable, Codable {
    public var json, geometry, animation, skin, images, total: Int

    public init(json: Int = 0, geometry: Int = 0, animation: Int = 0, skin: Int = 0, images: Int = 0, total: Int = 0) {
        self.json = json
        self.geometry = geometry
        self.animation = animation
        self.skin = skin
        self.images = images
        self.total = total
    }
}

/// A serialized GLB file.
public struct EncodedGLB: Sendable {
    public var bytes: [UInt8]
    public var breakdown: ByteBreakdown
}

/// Serializes a scene as a glTF 2.0 binary.
///
/// Deterministic: the same scene always gives the same bytes. Throws `ProcessingError(.resourceLimit)` when the
/// result would exceed 4 GiB (checked from computed sizes before allocating the output) and
/// `ProcessingError(.internal)` when the scene breaks its own invariants (an index out of range, a stream of the
/// wrong length), since that is a bug in whatever produced it.
///
/// The scene is consumed: each primitive's buffers are let go of once they are laid out (quantized, compressed or
/// waiting to be copied), and the rest of the scene before the file is filled in, so a caller that hands over its
/// last reference never holds the scene and the file at once.
public func encodeGLB(_ scene: consuming Scene, options: GLBOptions) throws -> EncodedGLB {
    var (json, layout) = try planGLB(scene, options: options)
    returnFreedMemory()  // what the layout does not copy from is free now

    var jsonBytes: [UInt8] = []
    json.write(to: &jsonBytes)
    let jsonPadded = alignedTo4(jsonBytes.count)
    let total = glbFileSize(jsonLength: jsonBytes.count, binLength: layout.length)
    try checkGLBSize(total)

    let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
        let base = UnsafeMutableRawPointer(buffer.baseAddress!)
        var offset = 0
        func put(_ value: UInt32) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        put(0x4654_6C67)  // "glTF"
        put(2)
        put(UInt32(total))
        put(UInt32(jsonPadded))
        put(0x4E4F_534A)  // "JSON"
        jsonBytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        (base + offset + jsonBytes.count).initializeMemory(
            as: UInt8.self, repeating: 0x20, count: jsonPadded - jsonBytes.count)
        offset += jsonPadded
        if layout.length > 0 {
            put(UInt32(layout.length))
            put(0x004E_4942)  // "BIN\0"
            layout.write(into: base + offset)
            offset += layout.length
        }
        precondition(offset == total, "GLB layout size mismatch")
        initialized = total
    }
    let breakdown = ByteBreakdown(
        json: jsonPadded, geometry: layout.bytes(of: .geometry),
        animation: layout.bytes(of: .animation), skin: layout.bytes(of: .skin),
        images: layout.bytes(of: .images), total: total)
    return EncodedGLB(bytes: bytes, breakdown: breakdown)
}

/// The document and the BIN chunk's plan. The encoder, and the scene with it, is gone when this returns, so the
/// layout's fills hold the only references to the data they copy.
private func planGLB(_ scene: consuming Scene, options: GLBOptions) throws -> (JSONValue, BinaryLayout) {
    var encoder = try SceneEncoder(scene: scene, options: options)
    let json = try encoder.encodeDocument(generator: options.generator)
    return (json, encoder.layout)
}

/// Size of a GLB with the given JSON and BIN chunk data lengths (before padding).
func glbFileSize(jsonLength: Int, binLength: Int) -> Int {
    12 + 8 + alignedTo4(jsonLength) + (binLength > 0 ? 8 + alignedTo4(binLength) : 0)
}

/// The largest file a GLB header (a 32-bit length) can describe.
let maximumGLBSize = Int(UInt32.max)

/// Throws `.resourceLimit` when a GLB of `size` bytes cannot be written.
func checkGLBSize(_ size: Int) throws {
    if size > maximumGLBSize {
        throw ProcessingError(.resourceLimit, "output would be \(size) bytes; GLB is limited to 4 GiB")
    }
}

// MARK: - Scene → JSON + BIN layout

/// glTF enum values.
enum GL {
    static let byte = 5120, unsignedByte = 5121, short = 5122, unsignedShort = 5123, unsignedInt = 5125, float = 5126
    static let arrayBuffer = 34962, elementArrayBuffer = 34963
}

struct SceneEncoder {
    /// The scene as written: with quantization, its nodes and skins carry the position grids. `encodeMeshes` takes
    /// the primitives out as it lays them out.
    var scene: Scene
    let options: GLBOptions
    let plan: QuantizationPlan?
    /// Bytes of the uri-less placeholder buffer that required-mode compressed views point at.
    var placeholderLength = 0
    var layout = BinaryLayout()
    var accessors: [JSONValue] = []
    var bufferViews: [JSONValue] = []
    var extensionsUsed: Set<String> = []
    var extensionsRequired: Set<String> = []
    /// Output index of each scene mesh (nil when it had no drawable primitive and was dropped).
    var meshIndex: [Int?] = []
    /// Morph targets of each scene mesh, for animations of their weights (read after the primitives are gone).
    var targetCounts: [Int] = []
    /// Small geometry streams waiting to share bufferViews (ViewPools.swift), and the accessors that point into them.
    var pools: [ViewPool] = []
    var poolIndex: [ViewPool.Key: Int] = [:]
    var pooledAccessors: [(accessor: Int, pool: Int, offset: Int)] = []

    init(scene: consuming Scene, options: GLBOptions) throws {
        let quantization = if case .draco = options.compression { Quantization?.none } else { options.quantization }
        if let quantization {
            plan = try QuantizationPlan(scene: &scene, settings: quantization)
        } else {
            plan = nil
        }
        self.scene = scene
        self.options = options
        if plan.map({ !$0.positions.isEmpty }) ?? false {
            extensionsUsed.insert("KHR_mesh_quantization")
            extensionsRequired.insert("KHR_mesh_quantization")
        }
        if plan.map({ !$0.texcoords.isEmpty }) ?? false {
            extensionsUsed.insert("KHR_texture_transform")
            extensionsRequired.insert("KHR_texture_transform")
        }
    }

    mutating func encodeDocument(generator: String) throws -> JSONValue {
        let meshes = try encodeMeshes()
        writePools()
        let skins = try encodeSkins()
        let animations = try encodeAnimations()
        let images = try encodeImages()
        let nodes = try encodeNodes()
        let materials = try scene.materials.enumerated().map { try encodeMaterial($1, index: $0) }
        let textures = try encodeTextures()
        let samplers = scene.samplers.map(encodeSampler)
        let cameras = scene.cameras.map(encodeCamera)
        for root in scene.roots { try check(root, scene.nodes.count, "scene root") }

        var rootExtensions = JSONObjectBuilder()
        if !scene.materialVariants.isEmpty {
            extensionsUsed.insert("KHR_materials_variants")
            rootExtensions.set(
                "KHR_materials_variants",
                .object([
                    (
                        "variants",
                        .array(
                            scene.materialVariants.map {
                                .object([("name", .string($0))])
                            })
                    )
                ]))
        }
        if !scene.lights.isEmpty {
            extensionsUsed.insert("KHR_lights_punctual")
            rootExtensions.set("KHR_lights_punctual", .object([("lights", .array(scene.lights.map(encodeLight)))]))
        }

        var root = JSONObjectBuilder()
        root.set("asset", .object([("generator", .string(generator)), ("version", .string("2.0"))]))
        root.set("extensionsUsed", nonEmpty(extensionsUsed.sorted().map { .string($0) }))
        root.set("extensionsRequired", nonEmpty(extensionsRequired.sorted().map { .string($0) }))
        root.set("extensions", rootExtensions.isEmpty ? nil : rootExtensions.value)
        root.set("scene", .int(0))
        root.set("scenes", .array([scene.roots.isEmpty ? .object([]) : .object([("nodes", .ints(scene.roots))])]))
        root.set("nodes", nonEmpty(nodes))
        root.set("meshes", nonEmpty(meshes))
        root.set("materials", nonEmpty(materials))
        root.set("textures", nonEmpty(textures))
        root.set("samplers", nonEmpty(samplers))
        root.set("images", nonEmpty(images))
        root.set("skins", nonEmpty(skins))
        root.set("animations", nonEmpty(animations))
        root.set("cameras", nonEmpty(cameras))
        root.set("accessors", nonEmpty(accessors))
        root.set("bufferViews", nonEmpty(bufferViews))
        root.set("buffers", buffersJSON)
        return root.value
    }

    // MARK: Buffer views and accessors

    /// A bufferView; with a `codec` and compression on, its bytes are materialized and meshopt-compressed.
    mutating func addView(
        length: Int, category: ByteCategory, target: Int? = nil, stride: Int? = nil,
        codec: ViewCodec? = nil, fill: @escaping BinaryLayout.Fill
    ) -> Int {
        if let codec, compressing, length > 0 {
            let data = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
                fill(UnsafeMutableRawPointer(buffer.baseAddress!))
                initialized = length
            }
            return addCompressedView(data, category: category, target: target, stride: stride, codec: codec)
        }
        let offset = layout.append(length: length, category: category, fill: fill)
        var view = JSONObjectBuilder()
        view.set("buffer", .int(0))
        view.set("byteLength", .int(length))
        view.set("byteOffset", offset == 0 ? nil : .int(offset))
        view.set("byteStride", stride.map { .int($0) })
        view.set("target", target.map { .int($0) })
        bufferViews.append(view.value)
        return bufferViews.count - 1
    }

    mutating func addAccessor(
        view: Int?, componentType: Int, count: Int, type: String,
        min: [Float]? = nil, max: [Float]? = nil
    ) -> Int {
        var accessor = JSONObjectBuilder()
        accessor.set("bufferView", view.map { .int($0) })
        accessor.set("componentType", .int(componentType))
        accessor.set("count", .int(count))
        accessor.set("max", max.map { .floats($0) })
        accessor.set("min", min.map { .floats($0) })
        accessor.set("type", .string(type))
        accessors.append(accessor.value)
        return accessors.count - 1
    }

    /// A float vertex stream: one tightly packed bufferView with `byteStride`, target ARRAY_BUFFER.
    mutating func addVertexFloats<T>(
        _ array: [T], components: Int, type: String, min: [Float]? = nil, max: [Float]? = nil,
        _ transform: @escaping (T) -> SIMD4<Float>
    ) -> Int {
        let stride = components * 4
        let view = addStreamView(
            length: array.count * stride, category: .geometry, target: GL.arrayBuffer, stride: stride,
            codec: .attributes(stride: stride, filter: .none), fill: floatFill(array, components: components, transform)
        )
        return addAccessor(view: view, componentType: GL.float, count: array.count, type: type, min: min, max: max)
    }

    // MARK: Meshes

    mutating func encodeMeshes() throws -> [JSONValue] {
        var result: [JSONValue] = []
        for m in scene.meshes.indices {
            // Taken out of the scene, so each primitive's buffers go once it is laid out.
            var taken = scene.meshes[m].primitives
            scene.meshes[m].primitives = []
            let mesh = scene.meshes[m]
            let drawable = taken.indices.filter { !taken[$0].vertices.positions.isEmpty }
            let targetCount = drawable.first.map { taken[$0].targets.count } ?? 0
            targetCounts.append(targetCount)
            guard let first = drawable.first else {
                meshIndex.append(nil)
                continue
            }
            let names = taken[first].targets.map(\.name)
            var written: [Int: JSONValue] = [:]
            for group in vertexGroups(taken, drawable: drawable, mesh: m) {
                let members = group.map { taken[$0] }
                for p in group { taken[p] = Primitive() }
                for (p, primitive) in zip(group, members) where primitive.targets.count != targetCount {
                    throw ProcessingError(
                        .internal,
                        "mesh \(m) primitive \(p): has \(primitive.targets.count) morph targets, the mesh's first primitive \(targetCount)"
                    )
                }
                guard group.count > 1 else {
                    let place = "mesh \(m) primitive \(group[0])"
                    written[group[0]] = try addVariants(
                        members[0], to: try encodePrimitive(members[0], mesh: m, place: place), place: place)
                    continue
                }
                // One set of vertex streams for the group; each member's indices point into its part of them.
                for (p, member) in zip(group, members) { try checkStreams(member, place: "mesh \(m) primitive \(p)") }
                var shared = members[0]
                for member in members.dropFirst() { shared.append(member) }
                storeSharedVerticesOnce(&shared)
                let attributes = try encodeAttributes(shared, mesh: m, place: "mesh \(m) primitives \(group)")
                var start = 0
                for (p, var member) in zip(group, members) {
                    let place = "mesh \(m) primitive \(p)"
                    let end = start + member.indices.count
                    member.indices = Array(shared.indices[start..<end])
                    start = end
                    written[p] = try addVariants(
                        member,
                        to: try primitiveJSON(
                            member, attributes: attributes, vertexCount: shared.vertexCount, grid: nil, place: place),
                        place: place)
                }
            }
            let primitives = drawable.map { written[$0]! }
            var json = JSONObjectBuilder()
            json.set("name", mesh.name.isEmpty ? nil : .string(mesh.name))
            json.set("primitives", .array(primitives))
            if targetCount > 0 {
                if !mesh.weights.isEmpty {
                    guard mesh.weights.count == targetCount else {
                        throw ProcessingError(
                            .internal,
                            "mesh \(m): \(mesh.weights.count) default weights for \(targetCount) morph targets")
                    }
                    json.set("weights", .floats(mesh.weights.map(finite)))
                }
            }
            var extras: [(String, JSONValue)] = []
            if case .object(let members)? = mesh.extras {
                extras = members.keys.sorted().filter { $0 != "targetNames" }.map {
                    ($0, encodeExtensionValue(members[$0]!))
                }
            }
            if targetCount > 0, names.contains(where: { !$0.isEmpty }) {
                extras.append(("targetNames", .array(names.map { .string($0) })))
            }
            json.set("extras", extras.isEmpty ? nil : .object(extras.sorted { $0.0 < $1.0 }))
            meshIndex.append(result.count)
            result.append(json.value)
        }
        return result
    }

    /// The mesh's drawable primitives in groups that share one set of vertex streams (a group of one keeps its own):
    /// indexed primitives with the same streams, on the same texture-coordinate grids, together at most 65,535
    /// vertices (so 16-bit indices still reach them), neither morphed nor Draco-compressed; triangles, lines and
    /// points alike. Groups are in the order of their first primitive; one set compresses better than several and
    /// takes one accessor per stream. Viewers then bound each primitive by the group's POSITION bounds.
    func vertexGroups(_ primitives: [Primitive], drawable: [Int], mesh: Int) -> [[Int]] {
        struct Layout: Equatable {
            var normals, tangents, colors, joints, weights: Bool
            var texcoords: [UVGrid?]
        }
        func layout(_ p: Primitive) -> Layout? {
            if case .draco = options.compression { return nil }
            guard p.targets.isEmpty, !p.indices.isEmpty, p.vertexCount <= 65_535 else { return nil }
            let v = p.vertices
            guard !v.texcoords.contains(where: \.isEmpty) else { return nil }
            return Layout(
                normals: !v.normals.isEmpty, tangents: !v.tangents.isEmpty, colors: !v.colors.isEmpty,
                joints: !v.joints.isEmpty, weights: !v.weights.isEmpty,
                texcoords: v.texcoords.indices.map { i in p.material.flatMap { plan?.texcoords[$0]?[i] } })
        }
        var groups: [(layout: Layout?, vertices: Int, members: [Int])] = []
        for p in drawable {
            let l = layout(primitives[p])
            let n = primitives[p].vertexCount
            if let l, let g = groups.firstIndex(where: { $0.layout == l && $0.vertices + n <= 65_535 }) {
                groups[g].members.append(p)
                groups[g].vertices += n
            } else {
                groups.append((l, n, [p]))
            }
        }
        return groups.map(\.members)
    }

    /// Stores a vertex that several members of a group use (a border between two materials, a line along a
    /// triangle's edge) once: `shared` (the members appended) has its vertices identical in every stream merged and
    /// numbered in order of first use over its indices. Left as it is when no two vertices are identical.
    func storeSharedVerticesOnce(_ shared: inout Primitive) {
        let (words, stride) = shared.packedVertexWords(threads: 1)
        let (remap, unique) = MeshoptOptimizer.generateVertexRemap(
            shared.indices, vertexCount: shared.vertexCount, vertices: words, stride: stride * 4)
        guard unique < shared.vertexCount else { return }
        shared.selectVertices(firstOfEach(remap, unique: unique))
        shared.remapIndices(remap)
    }

    mutating func encodePrimitive(_ primitive: Primitive, mesh: Int, place: String) throws -> JSONValue {
        try checkStreams(primitive, place: place)
        if case .draco(let settings) = options.compression,
            let json = try encodeDracoPrimitive(primitive, settings: settings, place: place)
        {
            return json
        }
        let attributes = try encodeAttributes(primitive, mesh: mesh, place: place)
        return try primitiveJSON(
            primitive, attributes: attributes, vertexCount: primitive.vertexCount, grid: plan?.positions[mesh],
            place: place)
    }

    /// Every stream has one element per vertex, joints come with weights, the material exists.
    func checkStreams(_ primitive: Primitive, place: String) throws {
        let v = primitive.vertices
        let n = v.positions.count
        func checkCount(_ count: Int, _ name: String) throws {
            if count != 0 && count != n {
                throw ProcessingError(.internal, "\(place): \(name) has \(count) elements, POSITION has \(n)")
            }
        }
        try checkCount(v.normals.count, "NORMAL")
        try checkCount(v.tangents.count, "TANGENT")
        for (i, set) in v.texcoords.enumerated() { try checkCount(set.count, "TEXCOORD_\(i)") }
        try checkCount(v.colors.count, "COLOR_0")
        try checkCount(v.joints.count, "JOINTS_0")
        try checkCount(v.weights.count, "WEIGHTS_0")
        if v.joints.isEmpty != v.weights.isEmpty {
            throw ProcessingError(.internal, "\(place): JOINTS_0 and WEIGHTS_0 must come together")
        }
        if let material = primitive.material { try check(material, scene.materials.count, "\(place) material") }
    }

    /// The accessors of a primitive's vertex streams, by attribute name.
    mutating func encodeAttributes(_ primitive: Primitive, mesh: Int, place: String) throws -> [(String, JSONValue)] {
        let v = primitive.vertices
        let n = v.positions.count
        var attributes: [(String, JSONValue)] = []
        let (lo, hi) = try bounds(v.positions, place: place, what: "POSITION")
        let grid = plan?.positions[mesh]
        if let grid {
            attributes.append(("POSITION", .int(addQuantizedPositions(v.positions, grid: grid))))
        } else {
            attributes.append(
                (
                    "POSITION",
                    .int(
                        addVertexFloats(v.positions, components: 3, type: "VEC3", min: lo, max: hi) {
                            SIMD4($0, 0)
                        })
                ))
        }
        if !v.normals.isEmpty {
            attributes.append(
                (
                    "NORMAL",
                    .int(
                        grid != nil
                            ? addQuantizedDirections(v.normals.map { SIMD4(unitNormal($0), 0) }, components: 3)
                            : addVertexFloats(v.normals, components: 3, type: "VEC3") { SIMD4(unitNormal($0), 0) })
                ))
        }
        if !v.tangents.isEmpty {
            attributes.append(
                (
                    "TANGENT",
                    .int(
                        grid != nil
                            ? addQuantizedDirections(v.tangents.map(unitTangent), components: 4)
                            : addVertexFloats(v.tangents, components: 4, type: "VEC4", unitTangent))
                ))
        }
        for (i, set) in v.texcoords.enumerated() where !set.isEmpty {
            if let uvGrid = primitive.material.flatMap({ plan?.texcoords[$0]?[i] }) {
                attributes.append(("TEXCOORD_\(i)", .int(addQuantizedTexcoords(set, grid: uvGrid))))
                continue
            }
            attributes.append(
                (
                    "TEXCOORD_\(i)",
                    .int(
                        addVertexFloats(set, components: 2, type: "VEC2") {
                            SIMD4(lowHalf: finite($0), highHalf: .zero)
                        })
                ))
        }
        if !v.colors.isEmpty {
            attributes.append(
                (
                    "COLOR_0",
                    .int(
                        plan != nil
                            ? addQuantizedColors(v.colors)
                            : addVertexFloats(v.colors, components: 4, type: "VEC4") { finite($0) })
                ))
        }
        if !v.joints.isEmpty {
            let maxJoint = v.joints.reduce(UInt16(0)) { Swift.max($0, $1.max()) }
            let view: ViewRef
            let componentType: Int
            if maxJoint < 256 {
                let bytes = v.joints.map { SIMD4<UInt8>(truncatingIfNeeded: $0) }
                view = addStreamView(
                    length: n * 4, category: .geometry, target: GL.arrayBuffer, stride: 4,
                    codec: .attributes(stride: 4, filter: .none), fill: rawCopy(bytes))
                componentType = GL.unsignedByte
            } else {
                view = addStreamView(
                    length: n * 8, category: .geometry, target: GL.arrayBuffer, stride: 8,
                    codec: .attributes(stride: 8, filter: .none), fill: rawCopy(v.joints))
                componentType = GL.unsignedShort
            }
            attributes.append(
                ("JOINTS_0", .int(addAccessor(view: view, componentType: componentType, count: n, type: "VEC4"))))
            attributes.append(
                (
                    "WEIGHTS_0",
                    .int(
                        plan != nil
                            ? addQuantizedWeights(v.weights, normalize: normalizedWeights)
                            : addVertexFloats(v.weights, components: 4, type: "VEC4", normalizedWeights))
                ))
        }
        return attributes
    }

    /// A primitive's JSON: its `attributes`, which hold `vertexCount` vertices (its own, or a group's it shares), its
    /// indices, material, mode and morph targets.
    mutating func primitiveJSON(
        _ primitive: Primitive, attributes: [(String, JSONValue)], vertexCount n: Int, grid: PositionGrid?,
        place: String
    ) throws -> JSONValue {
        var json = JSONObjectBuilder()
        json.set("attributes", .object(attributes))
        if !primitive.indices.isEmpty {
            json.set("indices", .int(try encodeIndices(primitive, vertexCount: n, place: place)))
        }
        json.set("material", primitive.material.map { .int($0) })
        json.set("mode", primitive.mode == .triangles ? nil : .int(primitive.mode.rawValue))
        if !primitive.targets.isEmpty {
            json.set(
                "targets",
                .array(
                    try primitive.targets.enumerated().map { t, target in
                        try encodeTarget(target, vertexCount: n, grid: grid, place: "\(place) target \(t)")
                    }))
        }
        return json.value
    }

    /// `KHR_materials_variants` mappings added to a written primitive's extensions.
    func addVariants(_ primitive: Primitive, to json: JSONValue, place: String) throws -> JSONValue {
        guard !primitive.variantMaterials.isEmpty, case .object(var members) = json else { return json }
        let mappings = try primitive.variantMaterials.map { mapping -> JSONValue in
            try check(mapping.material, scene.materials.count, "\(place) variant material")
            for variant in mapping.variants { try check(variant, scene.materialVariants.count, "\(place) variant") }
            return .object([("material", .int(mapping.material)), ("variants", .ints(mapping.variants))])
        }
        let variants: (String, JSONValue) = ("KHR_materials_variants", .object([("mappings", .array(mappings))]))
        if let e = members.firstIndex(where: { $0.0 == "extensions" }), case .object(let existing) = members[e].1 {
            members[e].1 = .object((existing + [variants]).sorted { $0.0 < $1.0 })
        } else {
            members.append(("extensions", .object([variants])))
        }
        return .object(members)
    }

    mutating func encodeIndices(_ primitive: Primitive, vertexCount n: Int, place: String) throws -> Int {
        let indices = primitive.indices
        let perElement = primitive.mode == .triangles ? 3 : primitive.mode == .lines ? 2 : 1
        guard indices.count % perElement == 0 else {
            throw ProcessingError(.internal, "\(place): \(indices.count) indices is not a multiple of \(perElement)")
        }
        if let bad = indices.first(where: { Int($0) >= n }) {
            throw ProcessingError(.internal, "\(place): index \(bad) is out of range for \(n) vertices")
        }
        let view: ViewRef
        let componentType: Int
        if n <= 65_535 {
            let shorts = indices.map { UInt16(truncatingIfNeeded: $0) }
            view = addStreamView(
                length: shorts.count * 2, category: .geometry, target: GL.elementArrayBuffer,
                codec: primitive.mode == .triangles ? .triangles(indexSize: 2) : .indices(indexSize: 2),
                fill: rawCopy(shorts))
            componentType = GL.unsignedShort
        } else {
            view = addStreamView(
                length: indices.count * 4, category: .geometry, target: GL.elementArrayBuffer,
                codec: primitive.mode == .triangles ? .triangles(indexSize: 4) : .indices(indexSize: 4),
                fill: rawCopy(indices))
            componentType = GL.unsignedInt
        }
        return addAccessor(view: view, componentType: componentType, count: indices.count, type: "SCALAR")
    }

    mutating func encodeTarget(_ target: MorphTarget, vertexCount n: Int, grid: PositionGrid?, place: String) throws
        -> JSONValue
    {
        for (count, name) in [
            (target.positions.count, "POSITION"), (target.normals.count, "NORMAL"), (target.tangents.count, "TANGENT")
        ]
        where count != 0 && count != n {
            throw ProcessingError(.internal, "\(place): \(name) has \(count) elements, the primitive has \(n) vertices")
        }
        var attributes: [(String, JSONValue)] = []
        if target.positions.isEmpty {
            // A target must name at least one attribute; an accessor without bufferView reads as zeros.
            if target.normals.isEmpty && target.tangents.isEmpty {
                attributes.append(
                    (
                        "POSITION",
                        .int(
                            addAccessor(
                                view: nil, componentType: GL.float, count: n, type: "VEC3",
                                min: [0, 0, 0], max: [0, 0, 0]))
                    ))
            }
        } else {
            let (lo, hi) = try bounds(target.positions, place: place, what: "POSITION")
            attributes.append(
                (
                    "POSITION",
                    .int(
                        grid.map { addQuantizedTargetPositions(target.positions, grid: $0) }
                            ?? addVertexFloats(target.positions, components: 3, type: "VEC3", min: lo, max: hi) {
                                SIMD4($0, 0)
                            })
                ))
        }
        if !target.normals.isEmpty {
            attributes.append(
                (
                    "NORMAL",
                    .int(
                        (grid != nil ? addQuantizedTargetDirections(target.normals) : nil)
                            ?? addVertexFloats(target.normals, components: 3, type: "VEC3") { SIMD4(finite($0), 0) })
                ))
        }
        if !target.tangents.isEmpty {
            attributes.append(
                (
                    "TANGENT",
                    .int(
                        (grid != nil ? addQuantizedTargetDirections(target.tangents) : nil)
                            ?? addVertexFloats(target.tangents, components: 3, type: "VEC3") { SIMD4(finite($0), 0) })
                ))
        }
        return .object(attributes)
    }

    /// Component-wise min and max; throws on NaN or infinity, which no reader can place.
    func bounds(_ points: [SIMD3<Float>], place: String, what: String) throws -> ([Float], [Float]) {
        var lo = SIMD3<Float>(repeating: .infinity)
        var hi = SIMD3<Float>(repeating: -.infinity)
        for p in points {
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        // pointwiseMin/Max drop NaN, so check the results and the data only when something is off.
        guard lo.x.isFinite, lo.y.isFinite, lo.z.isFinite, hi.x.isFinite, hi.y.isFinite, hi.z.isFinite,
            !points.contains(where: { $0.x.isNaN || $0.y.isNaN || $0.z.isNaN })
        else {
            throw ProcessingError(.internal, "\(place): \(what) contains NaN or infinite values")
        }
        return ([lo.x, lo.y, lo.z], [hi.x, hi.y, hi.z])
    }

    // MARK: Skins, animations, images

    mutating func encodeSkins() throws -> [JSONValue] {
        try scene.skins.enumerated().map { s, skin in
            guard !skin.joints.isEmpty else { throw ProcessingError(.internal, "skin \(s): has no joints") }
            for joint in skin.joints { try check(joint, scene.nodes.count, "skin \(s) joint") }
            if let skeleton = skin.skeleton { try check(skeleton, scene.nodes.count, "skin \(s) skeleton") }
            var json = JSONObjectBuilder()
            json.set("name", skin.name.isEmpty ? nil : .string(skin.name))
            if !skin.inverseBindMatrices.isEmpty {
                guard skin.inverseBindMatrices.count == skin.joints.count else {
                    throw ProcessingError(
                        .internal,
                        "skin \(s): \(skin.inverseBindMatrices.count) inverse bind matrices for \(skin.joints.count) joints"
                    )
                }
                let floats = skin.inverseBindMatrices.flatMap { $0.columnMajor.map(finite) }
                let view = addView(
                    length: floats.count * 4, category: .skin, codec: .attributes(stride: 64, filter: .none),
                    fill: rawCopy(floats))
                json.set(
                    "inverseBindMatrices",
                    .int(addAccessor(view: view, componentType: GL.float, count: skin.joints.count, type: "MAT4")))
            }
            json.set("joints", .ints(skin.joints))
            json.set("skeleton", skin.skeleton.map { .int($0) })
            return json.value
        }
    }

    mutating func encodeAnimations() throws -> [JSONValue] {
        var inputs: [[UInt32]: Int] = [:]  // shared time accessors, keyed by bit pattern
        var result: [JSONValue] = []
        for (a, animation) in scene.animations.enumerated() where !animation.channels.isEmpty {
            var channels: [JSONValue] = []
            var samplers: [JSONValue] = []
            for (c, channel) in animation.channels.enumerated() {
                let place = "animation \(a) channel \(c)"
                try check(channel.node, scene.nodes.count, "\(place) node")
                let times = channel.times
                guard !times.isEmpty, times.allSatisfy(\.isFinite),
                    zip(times, times.dropFirst()).allSatisfy({ $0 < $1 })
                else {
                    throw ProcessingError(
                        .internal, "\(place): key times must be finite, strictly increasing and not empty")
                }
                let components: Int
                let type: String
                switch channel.path {
                case .translation, .scale: (components, type) = (3, "VEC3")
                case .rotation: (components, type) = (4, "VEC4")
                case .weights:
                    let targets = scene.nodes[channel.node].mesh.map { targetCounts[$0] } ?? 0
                    guard targets > 0 else {
                        throw ProcessingError(.internal, "\(place): animates weights of a node without morph targets")
                    }
                    (components, type) = (targets, "SCALAR")
                }
                let keysPerTime = channel.interpolation == .cubicSpline ? 3 : 1
                let expected = times.count * keysPerTime * components
                guard channel.values.count == expected else {
                    throw ProcessingError(.internal, "\(place): \(channel.values.count) values, expected \(expected)")
                }
                let key = times.map(\.bitPattern)
                let input: Int
                if let shared = inputs[key] {
                    input = shared
                } else {
                    input = addAnimationFloats(
                        times, components: 1, type: "SCALAR", path: nil, cubic: false,
                        min: [times[0]], max: [times[times.count - 1]])
                    inputs[key] = input
                }
                let values = channel.values.map(finite)
                let output = addAnimationFloats(
                    values, components: channel.path == .weights ? 1 : components, type: type,
                    path: channel.path, cubic: channel.interpolation == .cubicSpline)
                var sampler = JSONObjectBuilder()
                sampler.set("input", .int(input))
                sampler.set(
                    "interpolation", channel.interpolation == .linear ? nil : .string(channel.interpolation.rawValue))
                sampler.set("output", .int(output))
                samplers.append(sampler.value)
                channels.append(
                    .object([
                        ("sampler", .int(samplers.count - 1)),
                        ("target", .object([("node", .int(channel.node)), ("path", .string(channel.path.rawValue))]))
                    ]))
            }
            var json = JSONObjectBuilder()
            json.set("name", animation.name.isEmpty ? nil : .string(animation.name))
            json.set("channels", .array(channels))
            json.set("samplers", .array(samplers))
            result.append(json.value)
        }
        return result
    }

    mutating func encodeImages() throws -> [JSONValue] {
        try scene.images.enumerated().map { i, image in
            guard !image.data.isEmpty else { throw ProcessingError(.internal, "image \(i): has no data") }
            let view = addView(length: image.data.count, category: .images, fill: rawCopy(image.data))
            var json = JSONObjectBuilder()
            json.set("bufferView", .int(view))
            json.set("mimeType", .string(image.mimeType))
            json.set("name", image.name.isEmpty ? nil : .string(image.name))
            return json.value
        }
    }

    // MARK: Nodes, materials, textures, cameras, lights

    mutating func encodeNodes() throws -> [JSONValue] {
        try scene.nodes.enumerated().map { i, node in
            let place = "node \(i)"
            var json = JSONObjectBuilder()
            json.set("name", node.name.isEmpty ? nil : .string(node.name))
            if let camera = node.camera { try check(camera, scene.cameras.count, "\(place) camera") }
            json.set("camera", node.camera.map { .int($0) })
            for child in node.children { try check(child, scene.nodes.count, "\(place) child") }
            json.set("children", nonEmpty(node.children.map { .int($0) }))
            switch node.transform {
            case .matrix(let m):
                json.set("matrix", m == .identity ? nil : .floats(m.columnMajor.map(finite)))
            case let .trs(t, r, s):
                json.set("rotation", r == SIMD4(0, 0, 0, 1) ? nil : .floats([r.x, r.y, r.z, r.w].map(finite)))
                json.set("scale", s == .one ? nil : .floats([s.x, s.y, s.z].map(finite)))
                json.set("translation", t == .zero ? nil : .floats([t.x, t.y, t.z].map(finite)))
            }
            var mesh: Int?
            if let m = node.mesh {
                try check(m, scene.meshes.count, "\(place) mesh")
                mesh = meshIndex[m]
            }
            json.set("mesh", mesh.map { .int($0) })
            if let skin = node.skin, mesh != nil {
                try check(skin, scene.skins.count, "\(place) skin")
                json.set("skin", .int(skin))
            }
            var extensions = JSONObjectBuilder()
            if !node.instances.isEmpty, mesh != nil {
                extensions.set(
                    "EXT_mesh_gpu_instancing", .object([("attributes", .object(encodeInstances(node.instances)))]))
            }
            if let light = node.light {
                try check(light, scene.lights.count, "\(place) light")
                extensions.set("KHR_lights_punctual", .object([("light", .int(light))]))
            }
            if !node.levelsOfDetail.isEmpty {
                for level in node.levelsOfDetail { try check(level, scene.nodes.count, "\(place) level of detail") }
                extensionsUsed.insert("MSFT_lod")
                extensions.set("MSFT_lod", .object([("ids", .array(node.levelsOfDetail.map { .int($0) }))]))
            }
            json.set("extensions", extensions.isEmpty ? nil : extensions.value)
            var extras = node.extras
            if !node.screenCoverage.isEmpty {
                var members: [String: ExtensionValue] = [:]
                if case .object(let existing)? = extras { members = existing }
                members["MSFT_screencoverage"] = .array(node.screenCoverage.map { .number(Double($0)) })
                extras = .object(members)
            }
            json.set("extras", extras.map(encodeExtensionValue))
            return json.value
        }
    }

    /// `EXT_mesh_gpu_instancing` attribute accessors (float, unit quaternions); an attribute that is the default
    /// for every instance is left out. The extension is marked required: without it a viewer draws one copy.
    mutating func encodeInstances(_ instances: [InstanceTransform]) -> [(String, JSONValue)] {
        extensionsUsed.insert("EXT_mesh_gpu_instancing")
        extensionsRequired.insert("EXT_mesh_gpu_instancing")
        let translations = instances.map { finite($0.translation) }
        let rotations = instances.map { unitQuaternion($0.rotation) }
        let scales = instances.map { finite($0.scale) }
        var attributes: [(String, JSONValue)] = []
        func add<T>(
            _ name: String, _ values: [T], components: Int, type: String, _ transform: @escaping (T) -> SIMD4<Float>
        ) {
            let view = addView(
                length: values.count * components * 4, category: .geometry,
                fill: floatFill(values, components: components, transform))
            attributes.append(
                (name, .int(addAccessor(view: view, componentType: GL.float, count: values.count, type: type))))
        }
        if rotations.contains(where: { $0 != SIMD4(0, 0, 0, 1) }) {
            add("ROTATION", rotations, components: 4, type: "VEC4") { $0 }
        }
        if scales.contains(where: { $0 != .one }) { add("SCALE", scales, components: 3, type: "VEC3") { SIMD4($0, 0) } }
        // The extension needs at least one attribute: TRANSLATION is written when nothing else is.
        if attributes.isEmpty || translations.contains(where: { $0 != .zero }) {
            add("TRANSLATION", translations, components: 3, type: "VEC3") { SIMD4($0, 0) }
        }
        return attributes.sorted { $0.0 < $1.0 }
    }

    mutating func encodeMaterial(_ material: Material, index: Int) throws -> JSONValue {
        func ref(_ ref: TextureRef?, _ extra: (String, Float, Float)? = nil) throws -> JSONValue? {
            guard let ref else { return nil }
            try check(ref.texture, scene.textures.count, "material \(index) texture")
            var json = JSONObjectBuilder()
            json.set("index", .int(ref.texture))
            json.set("texCoord", ref.texCoord == 0 ? nil : .int(ref.texCoord))
            if let (key, value, defaultValue) = extra, value != defaultValue { json.set(key, .float(value)) }
            var transform = ref.transform
            if let grid = plan?.texcoords[index]?[transform?.texCoord ?? ref.texCoord] {
                transform = (transform ?? TextureTransform()).composed(
                    innerOffset: grid.offset, innerScale: grid.textureScale)
            }
            if let transform {
                extensionsUsed.insert("KHR_texture_transform")
                json.set("extensions", .object([("KHR_texture_transform", encodeTextureTransform(transform))]))
            }
            return json.value
        }
        /// A material extension's value: texture references written like the core ones (index, transform).
        func value(_ value: ExtensionValue) throws -> JSONValue {
            guard case let .texture(texture, extra) = value else { return encodeExtensionValue(value) }
            guard case .object(var members)? = try ref(texture) else { return .object([]) }
            members += extra.keys.sorted().map { ($0, encodeExtensionValue(extra[$0]!)) }
            return .object(members.sorted { $0.0 < $1.0 })
        }
        var pbr = JSONObjectBuilder()
        let c = material.baseColorFactor
        pbr.set("baseColorFactor", c == .one ? nil : .floats([c.x, c.y, c.z, c.w].map(finite)))
        pbr.set("baseColorTexture", try ref(material.baseColorTexture))
        pbr.set("metallicFactor", material.metallicFactor == 1 ? nil : .float(material.metallicFactor))
        pbr.set("metallicRoughnessTexture", try ref(material.metallicRoughnessTexture))
        pbr.set("roughnessFactor", material.roughnessFactor == 1 ? nil : .float(material.roughnessFactor))

        var json = JSONObjectBuilder()
        json.set("name", material.name.isEmpty ? nil : .string(material.name))
        json.set("pbrMetallicRoughness", pbr.isEmpty ? nil : pbr.value)
        json.set("normalTexture", try ref(material.normalTexture, ("scale", material.normalScale, 1)))
        json.set("occlusionTexture", try ref(material.occlusionTexture, ("strength", material.occlusionStrength, 1)))
        json.set("emissiveTexture", try ref(material.emissiveTexture))
        let e = material.emissiveFactor
        json.set("emissiveFactor", e == .zero ? nil : .floats([e.x, e.y, e.z].map(finite)))
        json.set("alphaMode", material.alphaMode == .opaque ? nil : .string(material.alphaMode.rawValue))
        json.set(
            "alphaCutoff",
            material.alphaMode == .mask && material.alphaCutoff != 0.5 ? .float(material.alphaCutoff) : nil)
        json.set("doubleSided", material.doubleSided ? .bool(true) : nil)
        var extensions: [(String, JSONValue)] = material.unlit ? [("KHR_materials_unlit", .object([]))] : []
        for name in material.extensions.keys.sorted() where !(name == "KHR_materials_unlit" && material.unlit) {
            guard case .object(let members) = material.extensions[name]! else { continue }
            extensions.append((name, .object(try members.keys.sorted().map { ($0, try value(members[$0]!)) })))
        }
        for (name, _) in extensions { extensionsUsed.insert(name) }
        json.set("extensions", extensions.isEmpty ? nil : .object(extensions.sorted { $0.0 < $1.0 }))
        json.set("extras", material.extras.map(encodeExtensionValue))
        return json.value
    }

    /// A texture with `webpSource` gets `EXT_texture_webp`; without a PNG/JPEG fallback the extension is required.
    mutating func encodeTextures() throws -> [JSONValue] {
        try scene.textures.enumerated().map { t, texture in
            try check(texture.image, scene.images.count, "texture \(t) image")
            if let sampler = texture.sampler { try check(sampler, scene.samplers.count, "texture \(t) sampler") }
            var json = JSONObjectBuilder()
            json.set("sampler", texture.sampler.map { .int($0) })
            if let webp = texture.webpSource {
                try check(webp, scene.images.count, "texture \(t) WebP image")
                extensionsUsed.insert("EXT_texture_webp")
                if webp == texture.image { extensionsRequired.insert("EXT_texture_webp") }
                json.set("extensions", .object([("EXT_texture_webp", .object([("source", .int(webp))]))]))
            }
            if let basisu = texture.basisuSource {
                try check(basisu, scene.images.count, "texture \(t) KTX2 image")
                extensionsUsed.insert("KHR_texture_basisu")
                if basisu == texture.image { extensionsRequired.insert("KHR_texture_basisu") }
                var extensions = JSONObjectBuilder()
                extensions.set("EXT_texture_webp", texture.webpSource.map { .object([("source", .int($0))]) })
                extensions.set("KHR_texture_basisu", .object([("source", .int(basisu))]))
                json.set("extensions", extensions.value)
            }
            if texture.webpSource != texture.image && texture.basisuSource != texture.image {
                guard ["image/png", "image/jpeg"].contains(scene.images[texture.image].mimeType) else {
                    throw ProcessingError(
                        .internal,
                        "texture \(t): source image is \(scene.images[texture.image].mimeType), "
                            + "not PNG or JPEG")
                }
                json.set("source", .int(texture.image))
            }
            return json.value
        }
    }

    func encodeSampler(_ sampler: Sampler) -> JSONValue {
        var json = JSONObjectBuilder()
        json.set("magFilter", sampler.magFilter.map { .int($0) })
        json.set("minFilter", sampler.minFilter.map { .int($0) })
        json.set("wrapS", sampler.wrapS == Sampler.repeatWrap ? nil : .int(sampler.wrapS))
        json.set("wrapT", sampler.wrapT == Sampler.repeatWrap ? nil : .int(sampler.wrapT))
        return json.value
    }

    func encodeCamera(_ camera: Camera) -> JSONValue {
        var json = JSONObjectBuilder()
        switch camera {
        case let .perspective(name, yfov, aspectRatio, znear, zfar):
            json.set("name", name.isEmpty ? nil : .string(name))
            var p = JSONObjectBuilder()
            p.set("aspectRatio", aspectRatio.map { .float($0) })
            p.set("yfov", .float(yfov))
            p.set("zfar", zfar.map { .float($0) })
            p.set("znear", .float(znear))
            json.set("perspective", p.value)
            json.set("type", .string("perspective"))
        case let .orthographic(name, xmag, ymag, znear, zfar):
            json.set("name", name.isEmpty ? nil : .string(name))
            json.set(
                "orthographic",
                .object([
                    ("xmag", .float(xmag)), ("ymag", .float(ymag)), ("zfar", .float(zfar)), ("znear", .float(znear))
                ]))
            json.set("type", .string("orthographic"))
        }
        return json.value
    }

    func encodeLight(_ light: Light) -> JSONValue {
        var json = JSONObjectBuilder()
        json.set("name", light.name.isEmpty ? nil : .string(light.name))
        json.set(
            "color", light.color == .one ? nil : .floats([light.color.x, light.color.y, light.color.z].map(finite)))
        json.set("intensity", light.intensity == 1 ? nil : .float(light.intensity))
        json.set("range", light.kind == .directional ? nil : light.range.map { .float($0) })
        if light.kind == .spot {
            var spot = JSONObjectBuilder()
            spot.set("innerConeAngle", light.innerConeAngle == 0 ? nil : .float(light.innerConeAngle))
            spot.set("outerConeAngle", light.outerConeAngle == .pi / 4 ? nil : .float(light.outerConeAngle))
            json.set("spot", spot.value)
        }
        json.set("type", .string(light.kind.rawValue))
        return json.value
    }

    func check(_ index: Int, _ count: Int, _ what: String) throws {
        if index < 0 || index >= count {
            throw ProcessingError(.internal, "\(what) index \(index) is out of range (\(count) available)")
        }
    }
}

private func nonEmpty(_ values: [JSONValue]) -> JSONValue? { values.isEmpty ? nil : .array(values) }

/// `KHR_texture_transform`'s object, defaults left out.
func encodeTextureTransform(_ t: TextureTransform) -> JSONValue {
    var json = JSONObjectBuilder()
    json.set("offset", t.offset == .zero ? nil : .floats([t.offset.x, t.offset.y].map(finite)))
    json.set("rotation", t.rotation == 0 ? nil : .float(finite(t.rotation)))
    json.set("scale", t.scale == .one ? nil : .floats([t.scale.x, t.scale.y].map(finite)))
    json.set("texCoord", t.texCoord.map { .int($0) })
    return json.value
}

/// A value kept from the input (extension properties, extras); object keys sorted for deterministic output.
/// Texture references outside material extensions cannot occur (the importer keeps them only there).
func encodeExtensionValue(_ value: ExtensionValue) -> JSONValue {
    switch value {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number(let d):
        if d.rounded() == d, abs(d) < 9.0e15 { return .int(Int(d)) }
        return .float(Float(d))
    case .string(let s): return .string(s)
    case .array(let items): return .array(items.map(encodeExtensionValue))
    case .object(let members): return .object(members.keys.sorted().map { ($0, encodeExtensionValue(members[$0]!)) })
    case let .texture(ref, extra):
        var members: [(String, JSONValue)] = [("index", .int(ref.texture))]
        if ref.texCoord != 0 { members.append(("texCoord", .int(ref.texCoord))) }
        members += extra.keys.sorted().map { ($0, encodeExtensionValue(extra[$0]!)) }
        return .object(members.sorted { $0.0 < $1.0 })
    }
}

/// `v` scaled to unit length, or `fallback` when `v` is zero or not finite.
func unitNormal(_ v: SIMD3<Float>, fallback: SIMD3<Float> = SIMD3(0, 0, 1)) -> SIMD3<Float> {
    let length = (v * v).sum().squareRoot()
    guard length.isFinite, length > 1e-20 else { return fallback }
    return v / length
}

/// A unit tangent with handedness ±1; degenerate tangents become +X.
func unitTangent(_ t: SIMD4<Float>) -> SIMD4<Float> {
    SIMD4(unitNormal(SIMD3(t.x, t.y, t.z), fallback: SIMD3(1, 0, 0)), t.w < 0 ? -1 : 1)
}

/// `q` scaled to unit length; zero or non-finite quaternions become the identity rotation.
func unitQuaternion(_ q: SIMD4<Float>) -> SIMD4<Float> {
    let length = (q * q).sum().squareRoot()
    guard length.isFinite, length > 1e-20 else { return SIMD4(0, 0, 0, 1) }
    return q / length
}

/// Non-negative weights summing to 1; all-zero weights put everything on the first joint.
func normalizedWeights(_ w: SIMD4<Float>) -> SIMD4<Float> {
    let clamped = SIMD4<Float>((0..<4).map { w[$0].isFinite && w[$0] > 0 ? w[$0] : 0 })
    let sum = clamped.sum()
    guard sum > 0, sum.isFinite else { return SIMD4(1, 0, 0, 0) }
    return clamped / sum
}
