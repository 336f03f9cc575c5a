import Draco
import FoundationEssentials
import Scene

extension GLTFReader {
    mutating func readMeshes() throws {
        let variants = array(object(object(root["extensions"])?["KHR_materials_variants"])?["variants"]) ?? []
        scene.materialVariants = variants.map { string(object($0)?["name"]) ?? "" }
        var reducedInfluences = 0
        for (m, value) in items("meshes").enumerated() {
            guard let json = object(value) else { throw bad("mesh \(m) is not an object") }
            var mesh = Mesh(name: string(json["name"]) ?? "")
            var extras = json["extras"].map { extensionValue($0) }
            var targetNames: [String] = []
            if case .object(var members)? = extras {
                if case .array(let names)? = members.removeValue(forKey: "targetNames") {
                    targetNames = names.map { if case .string(let s) = $0 { s } else { "" } }
                }
                extras = members.isEmpty ? nil : .object(members)
            }
            mesh.extras = extras
            for (p, primitiveValue) in (array(json["primitives"]) ?? []).enumerated() {
                guard let primitiveJSON = object(primitiveValue) else {
                    throw bad("mesh \(m) primitive \(p) is not an object")
                }
                guard
                    var primitive = try readPrimitive(
                        primitiveJSON, place: "mesh \(m) primitive \(p)",
                        reduced: &reducedInfluences)
                else { continue }
                for t in primitive.targets.indices where t < targetNames.count {
                    primitive.targets[t].name = targetNames[t]
                }
                mesh.primitives.append(primitive)
            }
            let targetCounts = Set(mesh.primitives.map(\.targets.count))
            guard targetCounts.count <= 1 else {
                throw bad("mesh \(m): its primitives have different numbers of morph targets")
            }
            let targets = targetCounts.first ?? 0
            if targets > 0 {
                mesh.weights = floats(json["weights"], count: targets) ?? [Float](repeating: 0, count: targets)
            }
            scene.meshes.append(mesh)
        }
        if reducedInfluences > 0 {
            warnings.append(
                "\(reducedInfluences) vertices had more than 4 skin influences; kept the strongest 4, renormalized")
        }
    }

    /// One primitive, in Scene form (strips, fans and loops converted to lists); nil when it has no POSITION.
    mutating func readPrimitive(_ json: JSONObject, place: String, reduced: inout Int) throws -> Primitive? {
        guard let attributes = object(json["attributes"]) else { throw bad("\(place): attributes are missing") }
        let modeValue = json["mode"].map { index($0) ?? -1 } ?? 4
        guard (0...6).contains(modeValue) else { throw bad("\(place): mode \(modeValue) is invalid") }
        var primitive = Primitive(mode: modeValue == 0 ? .points : modeValue <= 3 ? .lines : .triangles)
        if let material = json["material"] {
            guard let m = index(material), m < items("materials").count else {
                throw bad("\(place): material does not exist")
            }
            primitive.material = m
        }

        for mapping in array(object(object(json["extensions"])?["KHR_materials_variants"])?["mappings"]) ?? [] {
            guard let mapping = object(mapping), let m = index(mapping["material"]), m < items("materials").count,
                let list = array(mapping["variants"]), case let variants = list.compactMap(index),
                variants.count == list.count, variants.allSatisfy({ $0 < scene.materialVariants.count })
            else {
                throw bad("\(place): a KHR_materials_variants mapping names a material or variant that does not exist")
            }
            primitive.variantMaterials.append(VariantMapping(material: m, variants: variants))
        }

        // Draco replaces the attribute and index data; morph targets stay in ordinary accessors.
        var draco: (mesh: DracoDecodedMesh, ids: [String: Int])?
        if let ext = object(object(json["extensions"])?["KHR_draco_mesh_compression"]) {
            draco = try decodeDraco(ext, place: place)
        }
        func attribute(_ name: String, _ allowed: Set<Int>) throws -> (values: [Float], components: Int)? {
            guard let accessor = attributes[name] else { return nil }
            guard let a = index(accessor) else { throw bad("\(place): attribute \(name) is not an accessor index") }
            if let draco, let id = draco.ids[name] {
                guard let decoded = draco.mesh.attributes[id], allowed.contains(decoded.components) else {
                    throw bad("\(place): Draco attribute \(name) (id \(id)) is missing or has the wrong size")
                }
                var values = decoded.values
                // A normalized integer attribute Draco did not normalize.
                if let layout = item("accessors", a), (layout["normalized"] as? Bool) == true,
                    let type = index(layout["componentType"]),
                    let maxValue = [5121: 255, 5123: 65535, 5120: 127, 5122: 32767][type],
                    values.contains(where: { abs($0) > 1 })
                {
                    values = values.map { max($0 / Float(maxValue), -1) }
                }
                return (values, decoded.components)
            }
            return try readFloats(a, allowed: allowed, what: name)
        }

        guard let positions = try attribute("POSITION", [3]) else {
            warnings.append("\(place): has no POSITION; skipped")
            return nil
        }
        guard positions.values.allSatisfy(\.isFinite) else {
            throw bad("\(place): POSITION contains NaN or infinite values")
        }
        let n = positions.values.count / 3
        for prefix in ["TEXCOORD_", "COLOR_", "JOINTS_", "WEIGHTS_"] {
            let sets = attributes.keys.filter { $0.hasPrefix(prefix) }.map { Int($0.dropFirst(prefix.count)) ?? -1 }
            guard Set(sets) == Set(0..<sets.count) else {
                throw bad("\(place): \(prefix)n attributes must be numbered from 0 without gaps")
            }
        }
        func check(_ count: Int, _ name: String) throws {
            guard count == n else { throw bad("\(place): \(name) has \(count) elements, POSITION has \(n)") }
        }
        var v = VertexStreams()
        v.positions = vectors3(positions.values)
        if let normals = try attribute("NORMAL", [3]) {
            try check(normals.values.count / 3, "NORMAL")
            v.normals = vectors3(normals.values)
        }
        if let tangents = try attribute("TANGENT", [4]) {
            try check(tangents.values.count / 4, "TANGENT")
            v.tangents = stride(from: 0, to: tangents.values.count, by: 4).map {
                SIMD4(tangents.values[$0], tangents.values[$0 + 1], tangents.values[$0 + 2], tangents.values[$0 + 3])
            }
        }
        let sets = attributes.keys.compactMap { $0.hasPrefix("TEXCOORD_") ? Int($0.dropFirst(9)) : nil }.filter {
            $0 >= 0 && $0 < 32
        }
        if let last = sets.max() {
            v.texcoords = [[SIMD2<Float>]](repeating: [], count: last + 1)
            for set in sets {
                let uv = try attribute("TEXCOORD_\(set)", [2])!
                try check(uv.values.count / 2, "TEXCOORD_\(set)")
                v.texcoords[set] = stride(from: 0, to: uv.values.count, by: 2).map {
                    SIMD2(uv.values[$0], uv.values[$0 + 1])
                }
            }
        }
        if let colors = try attribute("COLOR_0", [3, 4]) {
            let c = colors.components
            try check(colors.values.count / c, "COLOR_0")
            v.colors = stride(from: 0, to: colors.values.count, by: c).map {
                SIMD4(
                    colors.values[$0], colors.values[$0 + 1], colors.values[$0 + 2], c == 4 ? colors.values[$0 + 3] : 1)
            }
        }
        try readSkinning(attributes, draco: draco, into: &v, vertexCount: n, place: place, reduced: &reduced)
        primitive.vertices = v

        // Indices, then the mode's elements as lists.
        var indices: [UInt32]
        if let draco {
            indices = draco.mesh.indices
        } else if let accessor = json["indices"] {
            guard let a = index(accessor) else { throw bad("\(place): indices is not an accessor index") }
            let read = try readIntegers(a, what: "indices")
            guard read.components == 1 else { throw bad("\(place): indices must be SCALAR") }
            indices = read.values
        } else {
            indices = (0..<UInt32(clamping: n)).map { $0 }
        }
        if let bad = indices.first(where: { Int($0) >= n }) {
            throw self.bad("\(place): index \(bad) is out of range for \(n) vertices")
        }
        if let multiple = [1: 2, 4: 3][modeValue], indices.count % multiple != 0 {
            throw bad(
                "\(place): \(indices.count) \(json["indices"] == nil ? "vertices" : "indices") is not a multiple of \(multiple) for mode \(modeValue)"
            )
        }
        primitive.indices = listIndices(indices, mode: modeValue)

        for (t, targetValue) in (array(json["targets"]) ?? []).enumerated() {
            guard let target = object(targetValue) else { throw bad("\(place) target \(t) is not an object") }
            var morph = MorphTarget()
            for (name, path) in [("POSITION", 0), ("NORMAL", 1), ("TANGENT", 2)] {
                guard let accessor = target[name] else { continue }
                guard let a = index(accessor) else {
                    throw bad("\(place) target \(t): \(name) is not an accessor index")
                }
                let values = try readFloats(a, allowed: [3], what: "target \(name)").values
                try check(values.count / 3, "target \(t) \(name)")
                switch path {
                case 0: morph.positions = vectors3(values)
                case 1: morph.normals = vectors3(values)
                default: morph.tangents = vectors3(values)
                }
            }
            primitive.targets.append(morph)
        }
        return primitive
    }

    /// Decodes a `KHR_draco_mesh_compression` primitive; its attribute ids by glTF attribute name.
    mutating func decodeDraco(_ ext: JSONObject, place: String) throws -> (mesh: DracoDecodedMesh, ids: [String: Int]) {
        guard let view = index(ext["bufferView"]), let attributes = object(ext["attributes"]) else {
            throw bad("\(place): KHR_draco_mesh_compression needs bufferView and attributes")
        }
        var ids: [String: Int] = [:]
        for (name, value) in attributes {
            guard let id = index(value) else { throw bad("\(place): Draco attribute \(name) has no valid id") }
            ids[name] = id
        }
        let bytes = try viewBytes(view).bytes
        do {
            let mesh = try decodeDracoMesh(Array(bytes))
            inputBytes += mesh.indices.count * 4
            return (mesh, ids)
        } catch {
            throw bad("\(place): Draco data does not decode: \(error.description)")
        }
    }

    /// JOINTS_n / WEIGHTS_n: every set gathered per vertex, more than four influences reduced to the strongest four.
    mutating func readSkinning(
        _ attributes: JSONObject, draco: (mesh: DracoDecodedMesh, ids: [String: Int])?,
        into v: inout VertexStreams, vertexCount n: Int, place: String, reduced: inout Int
    ) throws {
        var jointSets: [[UInt32]] = []
        var weightSets: [[Float]] = []
        for set in 0..<8 {
            guard let jointsAccessor = attributes["JOINTS_\(set)"], let weightsAccessor = attributes["WEIGHTS_\(set)"]
            else { break }
            guard let j = index(jointsAccessor), let w = index(weightsAccessor) else {
                throw bad("\(place): JOINTS_\(set)/WEIGHTS_\(set) are not accessor indices")
            }
            var joints: [UInt32]
            if let draco, let id = draco.ids["JOINTS_\(set)"], let decoded = draco.mesh.attributes[id],
                decoded.components == 4
            {
                joints = decoded.values.map { UInt32(clamping: Int(max(0, min($0.rounded(), 65535)))) }
            } else {
                let read = try readIntegers(j, what: "JOINTS_\(set)")
                guard read.components == 4 else { throw bad("\(place): JOINTS_\(set) must be VEC4") }
                joints = read.values
            }
            let weights: [Float]
            if let draco, let id = draco.ids["WEIGHTS_\(set)"], let decoded = draco.mesh.attributes[id],
                decoded.components == 4
            {
                weights = decoded.values
            } else {
                weights = try readFloats(w, allowed: [4], what: "WEIGHTS_\(set)").values
            }
            guard joints.count == n * 4, weights.count == n * 4 else {
                throw bad("\(place): JOINTS_\(set)/WEIGHTS_\(set) do not have one element per vertex")
            }
            if let big = joints.first(where: { $0 > UInt32(UInt16.max) }) {
                throw bad("\(place): joint index \(big) is too large")
            }
            jointSets.append(joints)
            weightSets.append(weights)
        }
        guard !jointSets.isEmpty else { return }
        v.joints.reserveCapacity(n)
        v.weights.reserveCapacity(n)
        var influences: [(joint: UInt32, weight: Float)] = []
        for vertex in 0..<n {
            influences.removeAll(keepingCapacity: true)
            for s in jointSets.indices {
                for k in 0..<4 where weightSets[s][vertex * 4 + k] > 0 {
                    influences.append((jointSets[s][vertex * 4 + k], weightSets[s][vertex * 4 + k]))
                }
            }
            if influences.count > 4 {
                reduced += 1
                influences.sort { $0.weight != $1.weight ? $0.weight > $1.weight : $0.joint < $1.joint }
                influences.removeLast(influences.count - 4)
                let sum = influences.reduce(0) { $0 + $1.weight }
                influences = influences.map { ($0.joint, $0.weight / sum) }
            }
            var joint = SIMD4<UInt16>(repeating: 0)
            var weight = SIMD4<Float>(repeating: 0)
            if jointSets.count == 1 {
                for k in 0..<4 {
                    joint[k] = UInt16(jointSets[0][vertex * 4 + k])
                    weight[k] = weightSets[0][vertex * 4 + k]
                }
            } else {
                for (k, influence) in influences.enumerated() {
                    joint[k] = UInt16(influence.joint)
                    weight[k] = influence.weight
                }
            }
            v.joints.append(joint)
            v.weights.append(weight)
        }
    }
}

/// Mode 0–6 indices as points, lines or triangle lists (strips, fans and loops expanded as glTF defines them).
func listIndices(_ indices: [UInt32], mode: Int) -> [UInt32] {
    let n = indices.count
    switch mode {
    case 0: return indices
    case 1: return Array(indices.prefix(n - n % 2))
    case 2, 3:  // line loop, line strip
        guard n >= 2 else { return [] }
        var out: [UInt32] = []
        out.reserveCapacity(n * 2)
        for i in 0..<(n - 1) { out += [indices[i], indices[i + 1]] }
        if mode == 2 { out += [indices[n - 1], indices[0]] }
        return out
    case 4: return Array(indices.prefix(n - n % 3))
    case 5:  // strip: odd triangles reversed to keep the winding
        guard n >= 3 else { return [] }
        var out: [UInt32] = []
        out.reserveCapacity((n - 2) * 3)
        for i in 0..<(n - 2) {
            out +=
                i % 2 == 0 ? [indices[i], indices[i + 1], indices[i + 2]] : [indices[i], indices[i + 2], indices[i + 1]]
        }
        return out
    default:  // fan
        guard n >= 3 else { return [] }
        var out: [UInt32] = []
        out.reserveCapacity((n - 2) * 3)
        for i in 1..<(n - 1) { out += [indices[i], indices[i + 1], indices[0]] }
        return out
    }
}

func vectors3(_ values: [Float]) -> [SIMD3<Float>] {
    stride(from: 0, to: values.count - values.count % 3, by: 3).map {
        SIMD3(values[$0], values[$0 + 1], values[$0 + 2])
    }
}
