import FoundationEssentials
import Scene

/// One violation of the glTF 2.0 rules, located by a JSON pointer into the document ("" = the container itself).
public struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    /// JSON pointer, e.g. "/accessors/3".
    public var pointer: String
    public var message: String

    public init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    public var description: String { "\(pointer.isEmpty ? "GLB" : pointer): \(message)" }
}

/// Checks a GLB against the glTF 2.0 rules (container, references, node graph, buffers, accessors, attribute
/// formats, index ranges, unit normals, skin weights, animation times, extension declarations); empty = valid.
///
/// Works on any GLB and never traps on hostile input. `EXT_meshopt_compression` views are checked against the
/// extension's rules, decoded and filtered, and their data is then checked like uncompressed data (and compared
/// with the uncompressed copy when the file has one). Data in other buffers than the BIN chunk, compressed by
/// other extensions, or behind sparse accessors is not read; `KHR_draco_mesh_compression` data is decoded and
/// checked against its accessors.
public func validateGLB(_ bytes: [UInt8]) -> [ValidationIssue] {
    var validator = GLBValidator(bytes: bytes)
    validator.run()
    return validator.issues
}

private typealias J = JSONAccess

/// Where an accessor's elements are in the file, once its bounds have been checked.
struct AccessorData {
    var start: Int
    var stride: Int
    var count: Int
    var componentType: Int
    var components: Int
    var normalized: Bool
}

/// Reads accessor components; only built over ranges that were checked to lie inside the file.
struct ComponentReader {
    let base: UnsafeRawPointer
    let data: AccessorData

    /// The stored value, as a number (no normalization).
    func raw(_ element: Int, _ component: Int) -> Double {
        let p = base + data.start + element * data.stride
        switch data.componentType {
        case GL.byte: return Double(p.loadUnaligned(fromByteOffset: component, as: Int8.self))
        case GL.unsignedByte: return Double(p.loadUnaligned(fromByteOffset: component, as: UInt8.self))
        case GL.short:
            return Double(Int16(littleEndian: p.loadUnaligned(fromByteOffset: component * 2, as: Int16.self)))
        case GL.unsignedShort:
            return Double(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: component * 2, as: UInt16.self)))
        case GL.unsignedInt:
            return Double(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: component * 4, as: UInt32.self)))
        default:
            return Double(
                Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: component * 4, as: UInt32.self)))
            )
        }
    }

    /// The value a shader sees: normalized integers mapped to [0, 1] or [-1, 1].
    func value(_ element: Int, _ component: Int) -> Double {
        let v = raw(element, component)
        guard data.normalized else { return v }
        switch data.componentType {
        case GL.byte: return max(v / 127, -1)
        case GL.unsignedByte: return v / 255
        case GL.short: return max(v / 32767, -1)
        case GL.unsignedShort: return v / 65535
        default: return v
        }
    }
}

struct GLBValidator {
    /// The file, followed by the decoded contents of compressed bufferViews (see `decodedViews`).
    var bytes: [UInt8]
    /// Start in `bytes` of each compressed bufferView's decoded (and filtered) data.
    var decodedViews: [Int: Int] = [:]
    var issues: [ValidationIssue] = []
    var root: [String: Any] = [:]
    /// The BIN chunk's data range in `bytes`.
    var bin: Range<Int>?
    /// Whether buffer 0 is the BIN chunk and fits in it, so views on it can be read.
    var binBufferUsable = false
    /// Accessors whose bytes were checked to be in bounds and readable.
    var readable: [Int: AccessorData] = [:]
    /// Accessor indices by use, for the bufferView byteStride rule.
    var vertexAccessors: Set<Int> = [], otherAccessors: Set<Int> = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func issue(_ pointer: String, _ message: String) {
        issues.append(ValidationIssue(pointer: pointer, message: message))
    }

    mutating func run() {
        guard parseContainer() else { return }
        checkAsset()
        checkReferences()
        checkNodeGraph()
        checkBuffers()
        checkBufferViews()
        checkMeshoptViews()
        checkAccessors()
        checkMeshes()
        checkInstancing()
        checkSkins()
        checkAnimations()
        checkImages()
        checkBufferViewUsage()
        checkExtensions()
    }

    func items(_ name: String) -> [Any] { J.array(root[name]) ?? [] }

    /// Item `index` of a root collection, when it exists and is an object.
    func item(_ name: String, _ index: Int?) -> [String: Any]? {
        guard let index, let all = J.array(root[name]), index >= 0, index < all.count else { return nil }
        return J.object(all[index])
    }

    // MARK: Container

    mutating func parseContainer() -> Bool {
        func word(_ offset: Int) -> Int {
            Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3])
                << 24
        }
        guard bytes.count >= 12 else {
            issue("", "file is \(bytes.count) bytes, shorter than the 12-byte GLB header")
            return false
        }
        guard word(0) == 0x4654_6C67 else {
            issue("", "bad magic: not a GLB file")
            return false
        }
        guard word(4) == 2 else {
            issue("", "GLB version \(word(4)), expected 2")
            return false
        }
        let declared = word(8)
        if declared != bytes.count {
            issue("", "header length \(declared) does not match the file size \(bytes.count)")
        }
        let end = min(declared, bytes.count)

        var json: Range<Int>?
        var offset = 12
        var chunk = 0
        while offset < end {
            guard offset + 8 <= end else {
                issue("", "chunk \(chunk) header is truncated")
                break
            }
            let length = word(offset)
            let type = word(offset + 4)
            let data = offset + 8
            guard length <= end - data else {
                issue("", "chunk \(chunk) of \(length) bytes runs past the end of the file")
                break
            }
            if length % 4 != 0 || offset % 4 != 0 {
                issue("", "chunk \(chunk) is not 4-byte aligned (length \(length))")
            }
            if chunk == 0 {
                guard type == 0x4E4F_534A else {
                    issue("", "the first chunk is not JSON")
                    return false
                }
                json = data..<data + length
            } else if type == 0x004E_4942 {
                if chunk == 1 {
                    bin = data..<data + length
                } else {
                    issue("", "BIN chunk \(chunk) is not the second chunk")
                }
            }
            offset = data + length
            chunk += 1
        }
        guard let json else {
            issue("", "no JSON chunk")
            return false
        }
        let parsed: Any
        do {
            parsed = try bytes.withUnsafeBytes { try parseJSON(UnsafeRawBufferPointer(rebasing: $0[json])) }
        } catch {
            issue("", "JSON chunk is not valid JSON")
            return false
        }
        guard let object = J.object(parsed) else {
            issue("", "JSON root is not an object")
            return false
        }
        root = object
        return true
    }

    mutating func checkAsset() {
        guard let asset = J.object(root["asset"]) else { return issue("/asset", "missing asset object") }
        if J.string(asset["version"]) != "2.0" { issue("/asset/version", "asset.version must be \"2.0\"") }
    }

    // MARK: References and nodes

    mutating func checkReferences() {
        for rule in ValidationRules.references {
            let owners: [(Any, String)] =
                rule.collection.isEmpty
                ? [(root, "")]
                : items(rule.collection).enumerated().map { ($1, "/\(rule.collection)/\($0)") }
            let path = ArraySlice(rule.path.split(separator: "/"))
            for (owner, ownerPointer) in owners {
                for (value, pointer) in J.resolve(owner, path: path, pointer: ownerPointer) {
                    guard let index = J.index(value) else {
                        issue(pointer, "must be a non-negative integer index")
                        continue
                    }
                    let count: Int
                    switch rule.target {
                    case .root(let targetPath): count = J.array(at: targetPath, in: root)?.count ?? 0
                    case .sibling(let key): count = J.array(J.object(owner)?[key])?.count ?? 0
                    }
                    if index >= count {
                        issue(pointer, "index \(index) is out of range: \(rule.target.name) has \(count) items")
                    }
                }
            }
        }
    }

    mutating func checkNodeGraph() {
        let nodes = items("nodes")
        var parent = [Int?](repeating: nil, count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for child in J.array(J.object(node)?["children"]) ?? [] {
                guard let c = J.index(child), c < nodes.count else { continue }
                if let existing = parent[c], existing != i {
                    issue("/nodes/\(c)", "node has two parents (nodes \(existing) and \(i))")
                } else {
                    parent[c] = i
                }
            }
        }
        // Depth-first search over child edges: reaching a node still on the stack closes a cycle.
        let children: [[Int]] = nodes.map { node in
            (J.array(J.object(node)?["children"]) ?? []).compactMap(J.index).filter { $0 < nodes.count }
        }
        var state = [UInt8](repeating: 0, count: nodes.count)  // 0 unseen, 1 on the stack, 2 done
        var reported: Set<Int> = []
        for start in nodes.indices where state[start] == 0 {
            var stack: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let (node, next) = stack.last {
                guard next < children[node].count else {
                    state[node] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let child = children[node][next]
                if state[child] == 1 {
                    if reported.insert(child).inserted {
                        issue("/nodes/\(child)", "node hierarchy has a cycle through node \(child)")
                    }
                } else if state[child] == 0 {
                    state[child] = 1
                    stack.append((child, 0))
                }
            }
        }
        for (s, scene) in items("scenes").enumerated() {
            for (k, node) in (J.array(J.object(scene)?["nodes"]) ?? []).enumerated() {
                if let n = J.index(node), n < nodes.count, parent[n] != nil {
                    issue("/scenes/\(s)/nodes/\(k)", "node \(n) is not a root node")
                }
            }
        }
    }

    // MARK: Buffers and views

    mutating func checkBuffers() {
        let buffers = items("buffers")
        for (i, value) in buffers.enumerated() {
            let pointer = "/buffers/\(i)"
            guard let buffer = J.object(value), let length = J.index(buffer["byteLength"]), length >= 1 else {
                issue(pointer, "byteLength must be a positive integer")
                continue
            }
            guard buffer["uri"] == nil else { continue }
            if i == 0 {
                guard let bin else {
                    issue(pointer, "buffer 0 has no uri but the GLB has no BIN chunk")
                    continue
                }
                if length > bin.count {
                    issue(pointer, "byteLength \(length) exceeds the BIN chunk's \(bin.count) bytes")
                } else if bin.count - length > 3 {
                    issue(
                        pointer,
                        "the BIN chunk (\(bin.count) bytes) is more than 3 bytes longer than byteLength \(length)")
                } else {
                    binBufferUsable = true
                }
            } else if J.bool(J.object(J.object(buffer["extensions"])?["EXT_meshopt_compression"])?["fallback"]) != true
            {
                issue(pointer, "buffer has no uri, and only buffer 0 can refer to the BIN chunk")
            }
        }
        if bin != nil, buffers.isEmpty || J.object(buffers[0])?["uri"] != nil {
            issue("", "the BIN chunk is not used by buffer 0")
        }
    }

    mutating func checkBufferViews() {
        for (i, value) in items("bufferViews").enumerated() {
            let pointer = "/bufferViews/\(i)"
            guard let view = J.object(value), let length = J.index(view["byteLength"]), length >= 1 else {
                issue(pointer, "byteLength must be a positive integer")
                continue
            }
            let offset = J.index(view["byteOffset"] ?? 0) ?? 0
            if let bufferLength = J.index(item("buffers", J.index(view["buffer"]))?["byteLength"]),
                offset + length > bufferLength
            {
                issue(
                    pointer,
                    "bytes \(offset)..<\(offset + length) exceed buffer \(J.index(view["buffer"]) ?? 0) of \(bufferLength) bytes"
                )
            }
            if let strideValue = view["byteStride"] {
                let stride = J.index(strideValue) ?? 0
                if stride < 4 || stride > 252 || stride % 4 != 0 {
                    issue("\(pointer)/byteStride", "byteStride must be a multiple of 4 in 4...252")
                }
                if J.index(view["target"]) == GL.elementArrayBuffer {
                    issue("\(pointer)/byteStride", "an index bufferView must not have byteStride")
                }
            }
            if let target = view["target"], ![GL.arrayBuffer, GL.elementArrayBuffer].contains(J.index(target)) {
                issue("\(pointer)/target", "target must be 34962 or 34963")
            }
        }
    }

    /// The bufferView, when `index` names one.
    func view(_ index: Int?) -> [String: Any]? { item("bufferViews", index) }

    func isCompressed(_ view: [String: Any]) -> Bool {
        guard let extensions = J.object(view["extensions"]) else { return false }
        return !ValidationRules.compressedBufferViewExtensions.isDisjoint(with: extensions.keys)
    }

    // MARK: Accessors

    mutating func checkAccessors() {
        for (i, value) in items("accessors").enumerated() {
            let pointer = "/accessors/\(i)"
            guard let accessor = J.object(value) else {
                issue(pointer, "accessor is not an object")
                continue
            }
            guard let componentType = J.index(accessor["componentType"]),
                let componentSize = ValidationRules.componentSizes[componentType]
            else {
                issue("\(pointer)/componentType", "invalid componentType")
                continue
            }
            guard let type = J.string(accessor["type"]), let components = ValidationRules.componentCounts[type] else {
                issue("\(pointer)/type", "invalid type")
                continue
            }
            guard let count = J.index(accessor["count"]), count >= 1 else {
                issue("\(pointer)/count", "count must be a positive integer")
                continue
            }
            let normalized = J.bool(accessor["normalized"]) ?? false
            if normalized && (componentType == GL.float || componentType == GL.unsignedInt) {
                issue("\(pointer)/normalized", "only 8- and 16-bit integer accessors can be normalized")
            }
            for key in ["min", "max"] where accessor[key] != nil {
                let values = J.array(accessor[key]) ?? []
                if values.count != components || values.contains(where: { J.number($0) == nil }) {
                    issue("\(pointer)/\(key)", "\(key) must hold \(components) numbers")
                }
            }
            let byteOffset = J.index(accessor["byteOffset"] ?? 0) ?? 0
            if byteOffset % componentSize != 0 {
                issue(
                    "\(pointer)/byteOffset",
                    "byteOffset \(byteOffset) is not a multiple of the component size \(componentSize)")
            }
            guard let viewIndex = J.index(accessor["bufferView"]), let view = view(viewIndex),
                let viewLength = J.index(view["byteLength"])
            else { continue }
            let viewOffset = J.index(view["byteOffset"] ?? 0) ?? 0
            if (viewOffset + byteOffset) % componentSize != 0 {
                issue(
                    pointer,
                    "data offset \(viewOffset + byteOffset) is not aligned to the component size \(componentSize)")
            }
            let elementSize = Self.elementSize(type: type, components: components, componentSize: componentSize)
            var stride = elementSize
            if let declared = J.index(view["byteStride"]), (4...252).contains(declared) {
                if declared % componentSize != 0 {
                    issue(
                        pointer,
                        "bufferView \(viewIndex) byteStride \(declared) is not a multiple of the component size")
                }
                if declared < elementSize {
                    issue(
                        pointer,
                        "bufferView \(viewIndex) byteStride \(declared) is smaller than the \(elementSize)-byte element"
                    )
                }
                stride = declared
            }
            let end = byteOffset + stride * (count - 1) + elementSize  // operands ≤ 2^40 · 252: no overflow
            guard end <= viewLength else {
                issue(
                    pointer,
                    "data (\(end) bytes from the view start) exceeds bufferView \(viewIndex) of \(viewLength) bytes")
                continue
            }
            var start: Int?
            if let decoded = decodedViews[viewIndex] {
                start = decoded + byteOffset
            } else if let bin, binBufferUsable, J.index(view["buffer"]) == 0, !isCompressed(view),
                viewOffset + viewLength <= bin.count
            {
                start = bin.lowerBound + viewOffset + byteOffset
            }
            if let start, accessor["sparse"] == nil, type == "SCALAR" || type.hasPrefix("VEC") {
                let data = AccessorData(
                    start: start, stride: stride, count: count,
                    componentType: componentType, components: components, normalized: normalized)
                readable[i] = data
                checkMinMax(accessor, data, pointer: pointer)
            }
        }
    }

    static func elementSize(type: String, components: Int, componentSize: Int) -> Int {
        // Matrix columns start on 4-byte boundaries.
        switch (type, componentSize) {
        case ("MAT2", 1): return 8
        case ("MAT3", 1): return 12
        case ("MAT3", 2): return 24
        default: return components * componentSize
        }
    }

    func read<R>(_ data: AccessorData, _ body: (ComponentReader) -> R) -> R {
        bytes.withUnsafeBytes { body(ComponentReader(base: $0.baseAddress!, data: data)) }
    }

    /// Declared min/max must equal the data's (raw stored values, as the spec defines them).
    mutating func checkMinMax(_ accessor: [String: Any], _ data: AccessorData, pointer: String) {
        let declaredMin = J.array(accessor["min"])?.compactMap(J.number)
        let declaredMax = J.array(accessor["max"])?.compactMap(J.number)
        guard declaredMin?.count == data.components || declaredMax?.count == data.components else { return }
        let (lo, hi) = read(data) { r in
            var lo = [Double](repeating: .infinity, count: data.components)
            var hi = [Double](repeating: -.infinity, count: data.components)
            for e in 0..<data.count {
                for c in 0..<data.components {
                    let v = r.raw(e, c)
                    if v < lo[c] { lo[c] = v }
                    if v > hi[c] { hi[c] = v }
                }
            }
            return (lo, hi)
        }
        func matches(_ declared: Double, _ actual: Double) -> Bool {
            if data.componentType != GL.float { return declared == actual }
            return abs(Double(Float(declared)) - actual) <= 1e-6 * max(1, abs(actual))
        }
        for (key, declared, actual) in [("min", declaredMin, lo), ("max", declaredMax, hi)] {
            guard let declared, declared.count == data.components else { continue }
            if let c = (0..<data.components).first(where: { !matches(declared[$0], actual[$0]) }) {
                issue("\(pointer)/\(key)", "\(key)[\(c)] is \(declared[c]) but the data's \(key) is \(actual[c])")
            }
        }
    }

    // MARK: Meshes

    mutating func checkMeshes() {
        let used = Set((J.array(root["extensionsUsed"]) ?? []).compactMap(J.string))
        var attributeRules = ValidationRules.coreAttributes
        var targetRules = ValidationRules.coreTargetAttributes
        for (name, extra) in ValidationRules.extensionFormats where used.contains(name) {
            for (semantic, formats) in extra.attributes { attributeRules[semantic]?.formats.formUnion(formats) }
            for (semantic, formats) in extra.targets { targetRules[semantic]?.formats.formUnion(formats) }
        }
        for (m, value) in items("meshes").enumerated() {
            let meshPointer = "/meshes/\(m)"
            guard let mesh = J.object(value), let primitives = J.array(mesh["primitives"]), !primitives.isEmpty else {
                issue(meshPointer, "mesh must have at least one primitive")
                continue
            }
            var targetCount: Int?
            for (p, primitiveValue) in primitives.enumerated() {
                let pointer = "\(meshPointer)/primitives/\(p)"
                guard let primitive = J.object(primitiveValue) else { continue }
                let targets = J.array(primitive["targets"]) ?? []
                if let expected = targetCount, expected != targets.count {
                    issue("\(pointer)/targets", "\(targets.count) morph targets, but primitive 0 has \(expected)")
                }
                targetCount = targetCount ?? targets.count
                checkPrimitive(primitive, pointer: pointer, attributeRules: attributeRules, targetRules: targetRules)
            }
            if let weights = J.array(mesh["weights"]), weights.count != targetCount ?? 0 {
                issue("\(meshPointer)/weights", "\(weights.count) weights for \(targetCount ?? 0) morph targets")
            }
        }
    }

    static func rule(for semantic: String, in rules: [String: ValidationRules.Attribute]) -> ValidationRules.Attribute?
    {
        if let exact = rules[semantic] { return exact }
        guard let underscore = semantic.lastIndex(of: "_") else { return nil }
        let suffix = semantic[semantic.index(after: underscore)...]
        guard !suffix.isEmpty, suffix.allSatisfy(\.isASCII), suffix.allSatisfy(\.isNumber) else { return nil }
        return rules[String(semantic[...underscore])]
    }

    /// Checks an attribute map's formats and counts; returns the common count and the accessor of each semantic.
    mutating func checkAttributes(
        _ attributes: [String: Any], pointer: String, rules: [String: ValidationRules.Attribute],
        unknownIsIssue: Bool, expectedCount: Int?
    ) -> (count: Int?, accessors: [String: Int]) {
        var count = expectedCount
        var found: [String: Int] = [:]
        for semantic in attributes.keys.sorted() {
            let attributePointer = "\(pointer)/\(J.escape(semantic))"
            guard let index = J.index(attributes[semantic]), let accessor = item("accessors", index) else { continue }
            vertexAccessors.insert(index)
            found[semantic] = index
            if let rule = Self.rule(for: semantic, in: rules) {
                let type = J.string(accessor["type"]) ?? ""
                let format = ValidationRules.Format(
                    componentType: J.index(accessor["componentType"]) ?? 0,
                    normalized: J.bool(accessor["normalized"]) ?? false)
                if !rule.types.contains(type) {
                    issue(
                        attributePointer,
                        "\(semantic) must be \(rule.types.sorted().joined(separator: " or ")), not \(type)")
                } else if !rule.formats.contains(format) {
                    issue(
                        attributePointer,
                        "\(semantic) cannot use componentType \(format.componentType)\(format.normalized ? " normalized" : "")"
                    )
                }
            } else if unknownIsIssue && !semantic.hasPrefix("_") {
                issue(attributePointer, "unknown attribute semantic \(semantic)")
            }
            if let n = J.index(accessor["count"]) {
                if let expected = count, expected != n {
                    issue(attributePointer, "\(semantic) has \(n) elements, other attributes \(expected)")
                } else {
                    count = n
                }
            }
        }
        return (count, found)
    }

    mutating func checkPrimitive(
        _ primitive: [String: Any], pointer: String,
        attributeRules: [String: ValidationRules.Attribute],
        targetRules: [String: ValidationRules.Attribute]
    ) {
        guard let attributes = J.object(primitive["attributes"]), !attributes.isEmpty else {
            return issue("\(pointer)/attributes", "primitive has no attributes")
        }
        let (vertexCount, accessors) = checkAttributes(
            attributes, pointer: "\(pointer)/attributes", rules: attributeRules,
            unknownIsIssue: true, expectedCount: nil)
        issues += dracoPrimitiveIssues(
            primitive, pointer: pointer, root: root, bytes: bytes, bin: binBufferUsable ? bin : nil)
        if let position = accessors["POSITION"], let accessor = item("accessors", position),
            accessor["min"] == nil || accessor["max"] == nil
        {
            issue("\(pointer)/attributes/POSITION", "POSITION accessor must have min and max")
        }
        let mode = primitive["mode"].map { J.index($0) ?? -1 } ?? 4
        if !(0...6).contains(mode) { issue("\(pointer)/mode", "mode must be 0...6") }

        if let indicesValue = primitive["indices"] {
            if let index = J.index(indicesValue), let accessor = item("accessors", index) {
                checkIndices(
                    accessor, index: index, pointer: "\(pointer)/indices", mode: mode, vertexCount: vertexCount)
            }
        } else if let n = vertexCount {
            checkElementCount(n, mode: mode, pointer: pointer, what: "vertex")
        }

        if let normal = accessors["NORMAL"], let data = readable[normal] {
            checkUnitLength(data, pointer: "\(pointer)/attributes/NORMAL", what: "normal")
        }
        if let tangent = accessors["TANGENT"], let data = readable[tangent] {
            checkUnitLength(data, pointer: "\(pointer)/attributes/TANGENT", what: "tangent")
        }
        let weightSets = accessors.keys.filter { $0.hasPrefix("WEIGHTS_") }.sorted()
        let weightData = weightSets.compactMap { accessors[$0].flatMap { readable[$0] } }
        if !weightSets.isEmpty && weightData.count == weightSets.count {
            checkWeightSums(weightData, pointer: "\(pointer)/attributes/\(weightSets[0])")
        }

        for (t, targetValue) in (J.array(primitive["targets"]) ?? []).enumerated() {
            let targetPointer = "\(pointer)/targets/\(t)"
            guard let target = J.object(targetValue) else { continue }
            let (_, targetAccessors) = checkAttributes(
                target, pointer: targetPointer, rules: targetRules,
                unknownIsIssue: false, expectedCount: vertexCount)
            if let position = targetAccessors["POSITION"], let accessor = item("accessors", position),
                accessor["min"] == nil || accessor["max"] == nil
            {
                issue("\(targetPointer)/POSITION", "morph target POSITION accessor must have min and max")
            }
        }
    }

    mutating func checkElementCount(_ count: Int, mode: Int, pointer: String, what: String) {
        if let multiple = ValidationRules.modeMultiples[mode], count % multiple != 0 {
            issue(pointer, "\(count) \(what)s is not a multiple of \(multiple) for mode \(mode)")
        } else if let minimum = ValidationRules.modeMinimums[mode], count < minimum {
            issue(pointer, "\(count) \(what)s is fewer than mode \(mode) needs")
        }
    }

    mutating func checkIndices(_ accessor: [String: Any], index: Int, pointer: String, mode: Int, vertexCount: Int?) {
        otherAccessors.insert(index)
        let componentType = J.index(accessor["componentType"]) ?? 0
        guard J.string(accessor["type"]) == "SCALAR",
            [GL.unsignedByte, GL.unsignedShort, GL.unsignedInt].contains(componentType),
            J.bool(accessor["normalized"]) != true
        else {
            return issue(pointer, "indices must be SCALAR unsigned byte, short or int")
        }
        if let view = view(J.index(accessor["bufferView"])) {
            if view["byteStride"] != nil { issue(pointer, "the indices' bufferView must not have byteStride") }
            if let target = view["target"], J.index(target) != GL.elementArrayBuffer {
                issue(pointer, "the indices' bufferView target must be 34963")
            }
        }
        if let count = J.index(accessor["count"]) {
            checkElementCount(count, mode: mode, pointer: pointer, what: "index")
        }
        guard let data = readable[index], let vertexCount else { return }
        let restart =
            componentType == GL.unsignedByte ? 255.0 : componentType == GL.unsignedShort ? 65535.0 : 4294967295.0
        let bad = read(data) { r in
            (0..<data.count).first {
                let v = r.raw($0, 0)
                return v >= Double(vertexCount) || v == restart
            }
        }
        if let bad {
            let value = Int(read(data) { $0.raw(bad, 0) })
            issue(
                pointer,
                value >= vertexCount
                    ? "index \(value) at element \(bad) is out of range for \(vertexCount) vertices"
                    : "index \(value) at element \(bad) is the primitive restart value")
        }
    }

    mutating func checkUnitLength(_ data: AccessorData, pointer: String, what: String) {
        guard data.components >= 3 else { return }
        let tolerance = data.componentType == GL.float ? 1e-3 : 2e-2
        let result: (Int, Double, Double?)? = read(data) { r in
            for e in 0..<data.count {
                let x = r.value(e, 0)
                let y = r.value(e, 1)
                let z = r.value(e, 2)
                let length = (x * x + y * y + z * z).squareRoot()
                if !(abs(length - 1) <= tolerance) { return (e, length, nil) }
                if data.components == 4 {
                    let w = r.value(e, 3)
                    if w != 1 && w != -1 { return (e, length, w) }
                }
            }
            return nil
        }
        guard let (element, length, w) = result else { return }
        if let w {
            issue(pointer, "\(what) \(element) has w = \(w); it must be 1 or -1")
        } else {
            issue(pointer, "\(what) \(element) has length \(length); it must be unit length")
        }
    }

    mutating func checkWeightSums(_ sets: [AccessorData], pointer: String) {
        guard let count = sets.first?.count, sets.allSatisfy({ $0.count == count && $0.components == 4 }) else {
            return
        }
        let tolerance = sets.allSatisfy { $0.componentType == GL.float } ? 2e-3 : 1.5 / 255
        let bad: (Int, Double)? = bytes.withUnsafeBytes { raw in
            let readers = sets.map { ComponentReader(base: raw.baseAddress!, data: $0) }
            for e in 0..<count {
                var sum = 0.0
                for r in readers { for c in 0..<4 { sum += r.value(e, c) } }
                if !(abs(sum - 1) <= tolerance) { return (e, sum) }
            }
            return nil
        }
        if let (element, sum) = bad { issue(pointer, "weights of vertex \(element) sum to \(sum), not 1") }
    }

    // MARK: Instancing

    /// `EXT_mesh_gpu_instancing`: the node draws a mesh; attributes have the allowed formats and one count;
    /// rotations are unit quaternions.
    mutating func checkInstancing() {
        for (n, value) in items("nodes").enumerated() {
            guard let node = J.object(value),
                let instancing = J.object(J.object(node["extensions"])?["EXT_mesh_gpu_instancing"])
            else {
                continue
            }
            let pointer = "/nodes/\(n)/extensions/EXT_mesh_gpu_instancing"
            if node["mesh"] == nil { issue(pointer, "an instanced node must have a mesh") }
            guard let attributes = J.object(instancing["attributes"]), !attributes.isEmpty else {
                issue("\(pointer)/attributes", "instancing needs at least one attribute")
                continue
            }
            let (_, accessors) = checkAttributes(
                attributes, pointer: "\(pointer)/attributes", rules: ValidationRules.instancingAttributes,
                unknownIsIssue: true, expectedCount: nil)
            guard let rotation = accessors["ROTATION"], let data = readable[rotation], data.components == 4 else {
                continue
            }
            let tolerance = data.componentType == GL.float ? 1e-3 : 2e-2
            let bad: (Int, Double)? = read(data) { r in
                for e in 0..<data.count {
                    let length = (0..<4).reduce(0.0) { $0 + r.value(e, $1) * r.value(e, $1) }.squareRoot()
                    if !(abs(length - 1) <= tolerance) { return (e, length) }
                }
                return nil
            }
            if let (element, length) = bad {
                issue(
                    "\(pointer)/attributes/ROTATION",
                    "rotation of instance \(element) has length \(length); it must be a unit quaternion")
            }
        }
    }

    // MARK: Skins, animations, images

    mutating func checkSkins() {
        for (s, value) in items("skins").enumerated() {
            guard let skin = J.object(value) else { continue }
            let joints = J.array(skin["joints"])?.count ?? 0
            if joints == 0 { issue("/skins/\(s)/joints", "skin must have joints") }
            guard let index = J.index(skin["inverseBindMatrices"]), let accessor = item("accessors", index) else {
                continue
            }
            otherAccessors.insert(index)
            if J.string(accessor["type"]) != "MAT4" || J.index(accessor["componentType"]) != GL.float {
                issue("/skins/\(s)/inverseBindMatrices", "inverseBindMatrices must be float MAT4")
            }
            if let count = J.index(accessor["count"]), count < joints {
                issue("/skins/\(s)/inverseBindMatrices", "\(count) inverse bind matrices for \(joints) joints")
            }
        }
    }

    mutating func checkAnimations() {
        for (a, value) in items("animations").enumerated() {
            guard let animation = J.object(value) else { continue }
            let pointer = "/animations/\(a)"
            let samplers = J.array(animation["samplers"]) ?? []
            for (s, samplerValue) in samplers.enumerated() {
                let samplerPointer = "\(pointer)/samplers/\(s)"
                guard let sampler = J.object(samplerValue) else { continue }
                let interpolation = J.string(sampler["interpolation"]) ?? "LINEAR"
                if !["LINEAR", "STEP", "CUBICSPLINE"].contains(interpolation) {
                    issue("\(samplerPointer)/interpolation", "unknown interpolation \(interpolation)")
                }
                if let output = J.index(sampler["output"]) { otherAccessors.insert(output) }
                guard let inputIndex = J.index(sampler["input"]), let input = item("accessors", inputIndex) else {
                    continue
                }
                otherAccessors.insert(inputIndex)
                if J.string(input["type"]) != "SCALAR" || J.index(input["componentType"]) != GL.float {
                    issue("\(samplerPointer)/input", "animation input must be float SCALAR")
                }
                if input["min"] == nil || input["max"] == nil {
                    issue("\(samplerPointer)/input", "animation input accessor must have min and max")
                }
                if let data = readable[inputIndex], data.componentType == GL.float {
                    let bad = read(data) { r in (1..<max(data.count, 1)).first { !(r.raw($0, 0) > r.raw($0 - 1, 0)) } }
                    if let bad {
                        issue("\(samplerPointer)/input", "key times are not strictly increasing at key \(bad)")
                    }
                }
            }
            for (c, channelValue) in (J.array(animation["channels"]) ?? []).enumerated() {
                guard let channel = J.object(channelValue),
                    let samplerIndex = J.index(channel["sampler"]), samplerIndex < samplers.count,
                    let sampler = J.object(samplers[samplerIndex])
                else { continue }
                let channelPointer = "\(pointer)/channels/\(c)"
                let path = J.string(J.object(channel["target"])?["path"]) ?? ""
                let expectedType: String
                switch path {
                case "translation", "scale": expectedType = "VEC3"
                case "rotation": expectedType = "VEC4"
                case "weights": expectedType = "SCALAR"
                default:
                    issue("\(channelPointer)/target/path", "unknown target path \(path)")
                    continue
                }
                guard let output = item("accessors", J.index(sampler["output"])),
                    let input = item("accessors", J.index(sampler["input"]))
                else { continue }
                if J.string(output["type"]) != expectedType {
                    issue("\(channelPointer)", "\(path) output must be \(expectedType)")
                }
                let keys =
                    (J.index(input["count"]) ?? 0) * (J.string(sampler["interpolation"]) == "CUBICSPLINE" ? 3 : 1)
                var perKey = 1
                if path == "weights" {
                    let node = item("nodes", J.index(J.object(channel["target"])?["node"]))
                    let mesh = item("meshes", J.index(node?["mesh"]))
                    perKey = J.array(J.object(J.array(mesh?["primitives"])?.first)?["targets"])?.count ?? 0
                }
                let (expected, overflow) = keys.multipliedReportingOverflow(by: perKey)
                if let count = J.index(output["count"]), perKey > 0, overflow || count != expected {
                    issue(
                        "\(channelPointer)",
                        "output has \(count) elements, expected \(overflow ? "fewer" : String(expected))")
                }
            }
        }
    }

    mutating func checkImages() {
        for (i, value) in items("images").enumerated() {
            guard let image = J.object(value) else { continue }
            let pointer = "/images/\(i)"
            switch (image["uri"], image["bufferView"]) {
            case (nil, nil): issue(pointer, "image needs a uri or a bufferView")
            case (.some, .some): issue(pointer, "image cannot have both a uri and a bufferView")
            case (nil, .some(let viewValue)):
                if J.string(image["mimeType"]) == nil { issue(pointer, "image in a bufferView needs a mimeType") }
                if view(J.index(viewValue))?["byteStride"] != nil {
                    issue(pointer, "the image's bufferView must not have byteStride")
                }
            default: break
            }
        }
    }

    /// byteStride is only for vertex attributes.
    mutating func checkBufferViewUsage() {
        var nonVertexViews: Set<Int> = []
        for index in otherAccessors.subtracting(vertexAccessors) {
            if let view = J.index(item("accessors", index)?["bufferView"]) { nonVertexViews.insert(view) }
        }
        for v in nonVertexViews.sorted() where view(v)?["byteStride"] != nil {
            issue("/bufferViews/\(v)/byteStride", "byteStride is only allowed on vertex attribute bufferViews")
        }
    }

    // MARK: Extensions

    mutating func checkExtensions() {
        let usedList = J.array(root["extensionsUsed"]) ?? []
        let used = Set(usedList.compactMap(J.string))
        // Every extension object anywhere in the document, with the first place it appears.
        var found: [(String, String)] = []
        var seen: Set<String> = []
        var stack: [(Any, String)] = [(root, "")]
        while let (value, pointer) = stack.popLast() {
            if let object = J.object(value) {
                if let extensions = J.object(object["extensions"]) {
                    for name in extensions.keys.sorted() where seen.insert(name).inserted {
                        found.append((name, "\(pointer)/extensions/\(J.escape(name))"))
                    }
                }
                for key in object.keys.sorted().reversed() where key != "extras" {
                    stack.append((object[key]!, "\(pointer)/\(J.escape(key))"))
                }
            } else if let array = J.array(value) {
                for (i, element) in array.enumerated().reversed() { stack.append((element, "\(pointer)/\(i)")) }
            }
        }
        for (name, pointer) in found where !used.contains(name) {
            issue(pointer, "extension \(name) is used but not declared in extensionsUsed")
        }
        for (i, value) in (J.array(root["extensionsRequired"]) ?? []).enumerated() {
            guard let name = J.string(value) else { continue }
            if !used.contains(name) {
                issue("/extensionsRequired/\(i)", "required extension \(name) is not in extensionsUsed")
            }
            if !ValidationRules.knownExtensions.contains(name) {
                issue("/extensionsRequired/\(i)", "required extension \(name) is not supported")
            }
        }
    }
}
