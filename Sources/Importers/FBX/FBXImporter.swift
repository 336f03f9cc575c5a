import FoundationEssentials
import ImportSupport
import Scene

/// What the native FBX reader reports for a file it does not read (a binary version it does not know): the caller
/// may read the file with another importer instead. Corrupt input is a `ProcessingError(.badInput)` instead, never
/// this.
public struct FBXUnsupported: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reads a binary or ASCII FBX into a Scene (glTF conventions: meters, Y-up).
///
/// Mapping:
/// - Every `Model` reachable from the scene root through `Connections` → one node; its FBX transform chain
///   (translation, rotation offset/pivot, pre-rotation, rotation in its `RotationOrder`, inverse post-rotation,
///   scaling offset/pivot, scaling; `InheritType` Rrs drops the parent's scale) → TRS, or a matrix when it shears.
///   Geometric transforms are baked into the mesh's vertices.
/// - Each `Geometry` → one Mesh with one triangle primitive per material slot, polygons triangulated by ear
///   clipping, vertices welded (one per distinct position/normal/tangent/UV/color tuple).
/// - Materials (Lambert/Phong) follow the Assimp path's rules (see `FBXMaterials`).
/// - `GlobalSettings` axes and unit: one extra root node "FBX axis and unit conversion", as the Assimp path adds.
/// - Cameras and lights (`FBXCamerasLights.swift`) on child nodes of their Models.
/// - Skins and blend shapes (`FBXDeformers.swift`) → joints, weights and morph targets; animation stacks
///   (`FBXAnimation.swift`) → glTF animations (FBX 6.x and older keep animation in `Takes`: dropped with a warning).
///
/// Binary arrays stay in the mapped file until a reader asks for them; a geometry's arrays are then decoded on up to
/// `threads` workers, its per-corner layer arrays block by block alongside the weld.
public func importFBX(from url: URL, threads: Int) throws -> Scene {
    let file = try MappedFile(url)
    var document: FBXDocument
    if file.bytes.starts(with: fbxBinaryMagic) {
        document = try parseBinaryFBX(file.bytes, file: file.path)
        document.storage = file
    } else {
        document = try parseASCIIFBX(file.bytes, file: file.path)
    }
    file.release(0..<file.count)  // the parse's pages: arrays read their own again when decoded
    var builder = FBXSceneBuilder(document: document, folder: ModelFolder(modelURL: url), threads: threads)
    return try builder.build()
}

/// Identifies an FBX object: 7.x files use 64-bit ids, 6.x files unique "Class::Name" strings.
enum FBXKey: Hashable {
    case id(Int64)
    case name(String)
}

struct FBXObject {
    var node: Int
    /// "Model", "Geometry", "Material", … (the node name under `Objects`).
    var kind: String
    var name: String
    /// "Mesh", "LimbNode", "Null", "Skin", … (the last value).
    var subclass: String
}

struct FBXConnection {
    var child: FBXKey
    var parent: FBXKey
    /// The property name of an "OP" connection (texture → material slot).
    var property: String?
}

/// Splits "Name\0\u{1}Class" (binary) or "Class::Name" (ASCII) into (class, name).
func splitObjectName(_ raw: String) -> (kind: String, name: String) {
    if let range = raw.firstRange(of: "\u{0}\u{1}") {
        return (String(raw[range.upperBound...]), String(raw[..<range.lowerBound]))
    }
    if let range = raw.firstRange(of: "::") {
        return (String(raw[..<range.lowerBound]), String(raw[range.upperBound...]))
    }
    return ("", raw)
}

/// 6.x key for an object name in either spelling: "Class::Name".
private func nameKey(_ raw: String) -> FBXKey {
    let (kind, name) = splitObjectName(raw)
    return .name(kind.isEmpty ? name : kind + "::" + name)
}

struct FBXSceneBuilder {
    let doc: FBXDocument
    let folder: ModelFolder
    var scene = Scene()
    var objects: [FBXKey: FBXObject] = [:]
    var objectOrder: [FBXKey] = []
    var childrenOf: [FBXKey: [FBXConnection]] = [:]
    var parentsOf: [FBXKey: [FBXConnection]] = [:]
    /// Property templates from `Definitions`, by object kind ("Model", "Material", …).
    var templates: [String: [String: [FBXValue]]] = [:]
    private var warned = Set<String>()
    /// Nodes whose FBX `InheritType` is Rrs (Maya's segment scale compensation): the inverse of their parent's
    /// scale, which they do not inherit (it still moves them: it scales their translation).
    var parentScaleUndo: [Int: DMatrix] = [:]
    let isLegacy: Bool
    /// Workers for decoding a geometry's arrays.
    let threads: Int
    static let root = FBXKey.id(0)

    init(document: FBXDocument, folder: ModelFolder, threads: Int) {
        doc = document
        self.folder = folder
        self.threads = threads
        isLegacy = document.version > 0 && document.version < 7000
    }

    mutating func warn(_ message: String) {
        if warned.insert(message).inserted { scene.warnings.append(message) }
    }

    /// Object properties over their template's defaults.
    func properties(_ object: FBXObject) -> [String: [FBXValue]] {
        let own = doc.properties(of: object.node)
        guard let template = templates[object.kind] else { return own }
        return template.merging(own) { $1 }
    }

    mutating func build() throws -> Scene {
        guard doc.child(nil, "Objects") != nil || doc.child(nil, "Model") != nil else {
            throw doc.badInput("not an FBX file (no Objects section)")
        }
        readDefinitions()
        readObjects()
        readConnections()
        if isLegacy { warnLegacyAnimation() }
        let modelNodes = buildHierarchy()
        let nodeOfModel = Dictionary(modelNodes, uniquingKeysWith: { first, _ in first })
        var meshes = FBXMeshes()
        try meshes.build(&self, modelNodes: modelNodes, nodeOfModel: nodeOfModel)
        readCamerasAndLights(modelNodes: modelNodes)
        if !isLegacy {
            try readAnimations(modelNodes: modelNodes, nodeOfModel: nodeOfModel, morphChannels: meshes.morphChannels)
        }
        guard scene.meshes.contains(where: { $0.primitives.contains { $0.vertexCount > 0 } }) else {
            throw doc.badInput("contains no geometry")
        }
        applyAxisAndUnitConversion()
        return scene
    }

    // MARK: Objects and connections

    private mutating func readDefinitions() {
        guard let definitions = doc.child(nil, "Definitions") else { return }
        for type in doc.children(definitions, "ObjectType") {
            guard let kind = doc[type].values.first?.text, let template = doc.child(type, "PropertyTemplate") else {
                continue
            }
            templates[kind] = doc.properties(of: template)
        }
    }

    /// `Objects` children; FBX 5 and older keep Models at the top level instead.
    private mutating func readObjects() {
        let list = doc.child(nil, "Objects").map { doc[$0].children } ?? doc.roots.filter { doc[$0].name == "Model" }
        for index in list {
            let node = doc[index]
            let values = node.values
            let key: FBXKey
            let raw: String
            if let id = values.first?.int, values.count >= 2 {
                key = .id(id)
                raw = values[1].text ?? ""
            } else if let name = values.first?.text {
                key = nameKey(name)
                raw = name
            } else {
                continue
            }
            let subclass = values.count >= 2 ? (values.last?.text ?? "") : ""
            let name = splitObjectName(raw).name
            if objects[key] == nil { objectOrder.append(key) }
            objects[key] = FBXObject(node: index, kind: node.name, name: name, subclass: subclass)
        }
    }

    private mutating func readConnections() {
        guard let section = doc.child(nil, "Connections") else { return }
        for index in doc[section].children where doc[index].name == "C" || doc[index].name == "Connect" {
            let values = doc[index].values
            guard values.count >= 3, let type = values[0].text else { continue }
            func key(_ v: FBXValue) -> FBXKey? {
                if let id = v.int { return .id(id) }
                guard let text = v.text else { return nil }
                let k = nameKey(text)
                return k == .name("Model::Scene") ? Self.root : k
            }
            guard let child = key(values[1]), let parent = key(values[2]) else { continue }
            let property = type == "OP" && values.count >= 4 ? values[3].text : nil
            let connection = FBXConnection(child: child, parent: parent, property: property)
            childrenOf[parent, default: []].append(connection)
            parentsOf[child, default: []].append(connection)
        }
    }

    /// The objects connected below `key`, optionally of one kind, in file order.
    func children(of key: FBXKey, kind: String? = nil) -> [(FBXKey, FBXObject, String?)] {
        (childrenOf[key] ?? []).compactMap { c in
            guard let object = objects[c.child], kind == nil || object.kind == kind else { return nil }
            return (c.child, object, c.property)
        }
    }

    /// FBX 6.x and older keep animation in `Takes` (laid out unlike 7.x's stacks): not converted, dropped with a warning.
    private mutating func warnLegacyAnimation() {
        let takes = doc.child(nil, "Takes").map { doc.children($0, "Take") } ?? []
        guard takes.contains(where: { doc.child($0, "Model") != nil }) else { return }
        warn("FBX \(doc.version) animation (Takes) is not converted by the native reader; dropped")
    }

    // MARK: Nodes

    /// Creates one node per Model reachable from the root; returns (model key, node index) pairs in node order.
    private mutating func buildHierarchy() -> [(FBXKey, Int)] {
        var result: [(FBXKey, Int)] = []
        var visited = Set<FBXKey>()
        var scales: [Int: DMatrix] = [:]
        // (model, parent node)
        var stack: [(FBXKey, Int)] = []
        var rootModels = children(of: Self.root, kind: "Model").map(\.0)
        // Models connected to nothing also hang from the root in 6.x files, which may leave the scene root implicit
        // (7.x files keep unused objects there, such as MotionBuilder's producer cameras: the Assimp route skips them).
        for key in objectOrder where isLegacy && objects[key]?.kind == "Model" {
            if !(parentsOf[key] ?? []).contains(where: { objects[$0.parent]?.kind == "Model" || $0.parent == Self.root }
            ) {
                rootModels.append(key)
            }
        }
        // One "RootNode" above the models, as the Assimp path has (both paths give the same node tree).
        scene.nodes.append(Node(name: "RootNode"))
        scene.roots = [0]
        for key in rootModels.reversed() { stack.append((key, 0)) }
        while let (key, parent) = stack.popLast() {
            guard visited.insert(key).inserted, let object = objects[key] else { continue }
            let props = properties(object)
            let index = scene.nodes.count
            if props.int("InheritType") == 2, let undo = scales[parent]?.inverse { parentScaleUndo[index] = undo }
            let (matrix, scale) = localTransform(props, undoingParentScale: parentScaleUndo[index])
            var node = Node(name: object.name)
            node.transform = matrix.transform
            scene.nodes.append(node)
            scales[index] = scale
            scene.nodes[parent].children.append(index)
            result.append((key, index))
            for (child, _, _) in children(of: key, kind: "Model").reversed() { stack.append((child, index)) }
        }
        return result
    }

    /// The FBX local transform T·Roff·Rp·Rpre·R·Rpost⁻¹·Rp⁻¹·Soff·Sp·S·Sp⁻¹, and its S; `translation`, `rotation`
    /// (Euler degrees) and `scaling` replace the properties' (animation samples). `undoingParentScale` (Rrs
    /// inheritance) goes right after T.
    func localTransform(
        _ p: [String: [FBXValue]], translation: SIMD3<Double>? = nil, rotation: SIMD3<Double>? = nil,
        scaling: SIMD3<Double>? = nil, undoingParentScale: DMatrix? = nil
    ) -> (DMatrix, DMatrix) {
        func v(_ name: String, _ fallback: SIMD3<Double> = .zero) -> SIMD3<Double> { p.vector(name) ?? fallback }
        let t = DMatrix.translation(translation ?? v("Lcl Translation"))
        let r = DMatrix.rotation(degrees: rotation ?? v("Lcl Rotation"), order: p.int("RotationOrder") ?? 0)
        let s = DMatrix.scale(scaling ?? v("Lcl Scaling", .one))
        let pre = DMatrix.rotation(degrees: v("PreRotation"))
        let post = DMatrix.rotation(degrees: v("PostRotation")).inverse ?? .identity
        let rOff = DMatrix.translation(v("RotationOffset"))
        let rPivot = v("RotationPivot")
        let sOff = DMatrix.translation(v("ScalingOffset"))
        let sPivot = v("ScalingPivot")
        let m =
            t * (undoingParentScale ?? .identity) * rOff * .translation(rPivot) * pre * r * post * .translation(-rPivot)
            * sOff * .translation(sPivot) * s * .translation(-sPivot)
        return (m, s)
    }

    /// Geometric translation·rotation·scaling of a model: applied to its geometry only.
    func geometricTransform(_ model: FBXObject) -> DMatrix {
        let p = properties(model)
        let t = p.vector("GeometricTranslation") ?? .zero
        let r = p.vector("GeometricRotation") ?? .zero
        let s = p.vector("GeometricScaling") ?? .one
        return .translation(t) * .rotation(degrees: r) * .scale(s)
    }

    // MARK: Axes and units

    /// The file's axes and unit as one root node (`FBXAxisConversion`, the Assimp route's rule too).
    private mutating func applyAxisAndUnitConversion() {
        var settings: [String: [FBXValue]] = [:]
        if let global = doc.child(nil, "GlobalSettings") { settings = doc.properties(of: global) }
        guard let conversion = FBXAxisConversion({ settings.double($0) }) else { return }
        var root = Node(name: FBXAxisConversion.nodeName)
        root.transform = conversion.transform
        root.children = scene.roots
        scene.nodes.append(root)
        scene.roots = [scene.nodes.count - 1]
    }
}
