import CAssimp
import FoundationEssentials
import ImportSupport
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// Converts one imported `aiScene` into a `Scene`.
///
/// Mapping:
/// - aiNode tree → nodes in depth-first pre-order; a transform becomes TRS when it decomposes without shear, else a
///   matrix. Animated nodes always get TRS.
/// - A node's list of aiMeshes → one Mesh with one Primitive per aiMesh, shared by all nodes with the same list.
/// - Bones → one Skin per mesh node: joints are the nodes named like the bones (first match in node order), inverse
///   bind matrices are the bones' offset matrices, weights keep the 4 largest and are normalized. Vertices without
///   any weight are bound to one extra joint, the mesh's own node, with an identity inverse bind matrix.
/// - Anim meshes → morph targets as deltas from the base mesh; primitives with fewer targets get zero targets.
/// - Cameras and lights attach to the node with their name; a local position or direction other than glTF's
///   (origin, looking down -Z, +Y up) becomes an extra child node carrying it.
/// - Units and axes: Assimp already converts COLLADA up-axis and units and glTF is native; OBJ, STL and PLY carry no
///   units and are taken as meters, Y-up. FBX is normalized by one extra root node (see `fbxConversion`).
/// - Colors from non-glTF files (vertex colors and material colors) are treated as sRGB and linearized.
struct SceneConverter {
    let ai: UnsafePointer<aiScene>
    let format: InputFormat
    let path: String
    let folder: ModelFolder

    private var scene = Scene()
    private var aiNodes: [UnsafeMutablePointer<aiNode>] = []
    private var restTRS: [(SIMD3<Float>, SIMD4<Float>, SIMD3<Float>)] = []
    private var nodeByName: [String: Int] = [:]
    private var meshCache: [[UInt32]: CachedMesh] = [:]
    private var warned = Set<String>()

    private struct CachedMesh {
        var mesh: Int
        var skin: Int?
        var skinUsesOwnNode: Bool
    }

    init(ai: UnsafePointer<aiScene>, format: InputFormat, path: String, folder: ModelFolder) {
        self.ai = ai
        self.format = format
        self.path = path
        self.folder = folder
    }

    private var isGLTF: Bool { format == .gltf || format == .glb }

    mutating func convert() throws -> Scene {
        guard let root = ai.pointee.mRootNode else {
            throw ProcessingError(.badInput, file: path, "contains no geometry")
        }
        convertNodes(root: root)
        var materials = MaterialConverter(ai: ai, sourceIsGLTF: isGLTF, isOBJ: format == .obj, folder: folder)
        scene.materials = materials.convertAll()
        scene.images = materials.table.images
        scene.samplers = materials.table.samplers
        scene.textures = materials.table.textures
        for warning in materials.warnings { warn(warning) }

        try convertMeshes()
        guard scene.meshes.contains(where: { $0.primitives.contains { $0.vertexCount > 0 } }) else {
            throw ProcessingError(.badInput, file: path, "contains no geometry")
        }
        convertCameras()
        convertLights()
        convertAnimations()
        if format == .fbx { applyFBXConversion() }
        return scene
    }

    private mutating func warn(_ message: String) {
        if warned.insert(message).inserted { scene.warnings.append(message) }
    }

    // MARK: Nodes

    private mutating func convertNodes(root: UnsafeMutablePointer<aiNode>) {
        var stack: [(UnsafeMutablePointer<aiNode>, Int?)] = [(root, nil)]
        while let (aiNode, parent) = stack.popLast() {
            let index = scene.nodes.count
            var node = Node(name: aiNode.pointee.mName.string)
            let (transform, trs) = Self.transform(aiNode.pointee.mTransformation)
            node.transform = transform
            scene.nodes.append(node)
            aiNodes.append(aiNode)
            restTRS.append(trs)
            if let parent { scene.nodes[parent].children.append(index) } else { scene.roots.append(index) }
            if nodeByName[node.name] == nil { nodeByName[node.name] = index }
            for child in pointers(aiNode.pointee.mChildren, aiNode.pointee.mNumChildren).reversed() {
                if let child { stack.append((child, index)) }
            }
        }
    }

    /// TRS when the matrix decomposes without shear (checked by recomposing), else the raw matrix.
    static func transform(_ m: aiMatrix4x4) -> (Transform, (SIMD3<Float>, SIMD4<Float>, SIMD3<Float>)) {
        var matrix = m
        var s = aiVector3D()
        var q = aiQuaternion()
        var t = aiVector3D()
        cassimp_decomposeMatrix(&matrix, &s, &q, &t)
        var rotation = SIMD4<Float>(q.x, q.y, q.z, q.w)
        let length = (rotation * rotation).sum().squareRoot()
        rotation = length > 0 ? rotation / length : SIMD4(0, 0, 0, 1)
        let trs = (t.simd, rotation, s.simd)
        let original = m.matrix4
        if original == .identity { return (.identity, trs) }
        let recomposed = Matrix4(translation: trs.0, rotation: trs.1, scale: trs.2)
        let magnitude = original.columnMajor.reduce(Float(1)) { max($0, abs($1)) }
        let matches = zip(original.columnMajor, recomposed.columnMajor).allSatisfy { abs($0 - $1) <= 1e-4 * magnitude }
        let finite = original.columnMajor.allSatisfy(\.isFinite)
        return (matches && finite ? .trs(translation: trs.0, rotation: trs.1, scale: trs.2) : .matrix(original), trs)
    }

    // MARK: Meshes

    private mutating func convertMeshes() throws {
        let aiMeshes = pointers(ai.pointee.mMeshes, ai.pointee.mNumMeshes)
        for index in scene.nodes.indices {
            let list = Array(buffer(aiNodes[index].pointee.mMeshes, aiNodes[index].pointee.mNumMeshes))
            guard !list.isEmpty else { continue }
            if let cached = meshCache[list] {
                scene.nodes[index].mesh = cached.mesh
                if let skin = cached.skin {
                    if cached.skinUsesOwnNode {
                        var copy = scene.skins[skin]
                        copy.joints[copy.joints.count - 1] = index
                        scene.skins.append(copy)
                        scene.nodes[index].skin = scene.skins.count - 1
                    } else {
                        scene.nodes[index].skin = skin
                    }
                }
                continue
            }
            var meshes: [UnsafeMutablePointer<aiMesh>] = []
            for meshIndex in list {
                guard Int(meshIndex) < aiMeshes.count, let mesh = aiMeshes[Int(meshIndex)] else {
                    throw ProcessingError(
                        .badInput, file: path, "node '\(scene.nodes[index].name)' refers to a missing mesh")
                }
                meshes.append(mesh)
            }
            meshCache[list] = try buildMesh(meshes, node: index)
        }
    }

    private mutating func buildMesh(_ meshes: [UnsafeMutablePointer<aiMesh>], node: Int) throws -> CachedMesh {
        // Joints: the union of all bones of the node's meshes, in order of first appearance.
        var jointNames: [String] = []
        var jointIndex: [String: Int] = [:]
        var inverseBinds: [Matrix4] = []
        for mesh in meshes {
            for bone in pointers(mesh.pointee.mBones, mesh.pointee.mNumBones) {
                guard let bone else { continue }
                let name = bone.pointee.mName.string
                guard jointIndex[name] == nil else { continue }
                guard nodeByName[name] != nil else {
                    warn("bone '\(name)' has no node of that name; its weights were dropped")
                    continue
                }
                jointIndex[name] = jointNames.count
                jointNames.append(name)
                inverseBinds.append(bone.pointee.mOffsetMatrix.matrix4)
            }
        }
        let isSkinned = !jointNames.isEmpty
        var result = Mesh(name: scene.nodes[node].name)
        var usedOwnNode = false
        var targetWeights: [Float] = []
        for mesh in meshes {
            guard
                let converted = try convertPrimitive(
                    mesh, joints: isSkinned ? jointIndex : nil, fallbackJoint: jointNames.count)
            else { continue }
            var primitive = converted.0
            let (usedFallback, weights) = (converted.1, converted.2)
            usedOwnNode = usedOwnNode || usedFallback
            if weights.count > targetWeights.count { targetWeights = weights }
            if result.primitives.isEmpty, meshes.count == 1 { result.name = mesh.pointee.mName.string }
            primitive.material = primitive.material.flatMap { $0 < scene.materials.count ? $0 : nil }
            result.primitives.append(primitive)
        }
        // glTF needs the same number of targets on every primitive of a mesh.
        for i in result.primitives.indices {
            let count = result.primitives[i].vertexCount
            while result.primitives[i].targets.count < targetWeights.count {
                var empty = MorphTarget()
                empty.positions = Array(repeating: .zero, count: count)
                result.primitives[i].targets.append(empty)
            }
        }
        result.weights = targetWeights
        scene.meshes.append(result)
        let meshIndex = scene.meshes.count - 1
        scene.nodes[node].mesh = meshIndex
        guard isSkinned else { return CachedMesh(mesh: meshIndex, skin: nil, skinUsesOwnNode: false) }

        var skin = Skin(name: scene.nodes[node].name)
        skin.joints = jointNames.map { nodeByName[$0]! }
        skin.inverseBindMatrices = inverseBinds
        if usedOwnNode {
            skin.joints.append(node)
            skin.inverseBindMatrices.append(.identity)
        }
        scene.skins.append(skin)
        scene.nodes[node].skin = scene.skins.count - 1
        return CachedMesh(mesh: meshIndex, skin: scene.skins.count - 1, skinUsesOwnNode: usedOwnNode)
    }

    /// One aiMesh → one primitive; nil when it has no vertices. Also reports whether any vertex needed the
    /// fallback joint and the default morph weights.
    private mutating func convertPrimitive(
        _ mesh: UnsafeMutablePointer<aiMesh>, joints: [String: Int]?,
        fallbackJoint: Int
    ) throws -> (Primitive, Bool, [Float])? {
        let m = mesh.pointee
        let count = Int(m.mNumVertices)
        guard count > 0, let vertices = m.mVertices else { return nil }
        let name = m.mName.string
        var primitive = Primitive()
        var streams = VertexStreams()

        streams.positions = convertArray(vertices, count: count) { $0.simd }
        guard streams.positions.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else {
            throw ProcessingError(.badInput, file: path, "mesh '\(name)' has vertex positions that are NaN or infinite")
        }
        if let normals = m.mNormals { streams.normals = convertArray(normals, count: count) { unitOrUp($0.simd) } }
        if let tangents = m.mTangents, let bitangents = m.mBitangents, !streams.normals.isEmpty {
            let n = streams.normals
            streams.tangents = (0..<count).map { i in
                let t = unitOrUp(tangents[i].simd)
                let handedness: Float = dot(cross(n[i], t), bitangents[i].simd) < 0 ? -1 : 1
                return SIMD4(t, handedness)
            }
        }
        let uvChannels = withUnsafeBytes(of: m.mTextureCoords) {
            Array($0.bindMemory(to: UnsafeMutablePointer<aiVector3D>?.self))
        }
        for channel in uvChannels.prefix(2) {
            guard let channel else { break }
            streams.texcoords.append(
                convertArray(channel, count: count) {
                    SIMD2($0.x.isFinite ? $0.x : 0, $0.y.isFinite ? 1 - $0.y : 0)
                })
        }
        let colorSets = withUnsafeBytes(of: m.mColors) {
            Array($0.bindMemory(to: UnsafeMutablePointer<aiColor4D>?.self))
        }
        if let colors = colorSets[0] {
            let linearize = !isGLTF
            streams.colors = convertArray(colors, count: count) { c in
                func channel(_ v: Float, _ color: Bool) -> Float {
                    let clamped = v.isFinite ? min(max(v, 0), 1) : 1
                    return color && linearize ? srgbToLinear(clamped) : clamped
                }
                return SIMD4(channel(c.r, true), channel(c.g, true), channel(c.b, true), channel(c.a, false))
            }
        }

        // Indices, one primitive type per aiMesh (SortByPType).
        let types = m.mPrimitiveTypes
        let faces = buffer(m.mFaces, m.mNumFaces)
        if faces.isEmpty {
            primitive.mode = .points
            primitive.indices = (0..<UInt32(count)).map { $0 }
        } else {
            primitive.mode =
                types & aiPrimitiveType_TRIANGLE.rawValue != 0
                ? .triangles
                : types & aiPrimitiveType_LINE.rawValue != 0 ? .lines : .points
            let kinds =
                aiPrimitiveType_POINT.rawValue | aiPrimitiveType_LINE.rawValue | aiPrimitiveType_TRIANGLE.rawValue
            if (types & kinds).nonzeroBitCount > 1 {
                warn("mesh '\(name)' mixes primitive types; only its \(primitive.mode) were kept")
            }
            var indices: [UInt32] = []
            indices.reserveCapacity(faces.count * (primitive.mode == .triangles ? 3 : 2))
            for face in faces {
                let n = Int(face.mNumIndices)
                guard n > 0, let source = face.mIndices else { continue }
                for k in 0..<n where source[k] >= UInt32(count) {
                    throw ProcessingError(.badInput, file: path, "mesh '\(name)' has a face index out of range")
                }
                switch primitive.mode {
                case .triangles:
                    if n == 3 { indices.append(contentsOf: [source[0], source[1], source[2]]) }
                case .lines:
                    if n >= 2 { for k in 1..<n { indices.append(contentsOf: [source[k - 1], source[k]]) } }
                case .points:
                    for k in 0..<n { indices.append(source[k]) }
                }
            }
            // Assimp (unvalidated) may declare a type its faces do not have (an OBJ point face in a "triangle"
            // mesh): without matching faces there is nothing to draw, and empty indices would mean "unindexed".
            guard !indices.isEmpty else {
                warn("mesh '\(name)' has no faces of its declared primitive type; dropped")
                return nil
            }
            primitive.indices = indices
        }

        var usedFallback = false
        if let joints { usedFallback = skinWeights(m, joints: joints, fallback: fallbackJoint, into: &streams) }

        var defaultWeights: [Float] = []
        for animMesh in pointers(m.mAnimMeshes, m.mNumAnimMeshes) {
            guard let animMesh, Int(animMesh.pointee.mNumVertices) == count else { continue }
            let a = animMesh.pointee
            var target = MorphTarget(name: a.mName.string)
            if let positions = a.mVertices {
                target.positions = (0..<count).map { finiteOrZero(positions[$0].simd - streams.positions[$0]) }
            }
            if let normals = a.mNormals, let base = m.mNormals {
                target.normals = (0..<count).map { finiteOrZero(normals[$0].simd - base[$0].simd) }
            }
            if let tangents = a.mTangents, let base = m.mTangents {
                target.tangents = (0..<count).map { finiteOrZero(tangents[$0].simd - base[$0].simd) }
            }
            if target.positions.isEmpty && target.normals.isEmpty && target.tangents.isEmpty {
                target.positions = Array(repeating: .zero, count: count)
            }
            primitive.targets.append(target)
            defaultWeights.append(a.mWeight.isFinite ? a.mWeight : 0)
        }

        primitive.vertices = streams
        primitive.material = Int(m.mMaterialIndex)
        return (primitive, usedFallback, defaultWeights)
    }

    /// Fills joints/weights with the 4 largest influences per vertex, normalized to sum 1. Returns whether a vertex
    /// without influences was bound to `fallback`.
    private func skinWeights(_ m: aiMesh, joints: [String: Int], fallback: Int, into streams: inout VertexStreams)
        -> Bool
    {
        let count = Int(m.mNumVertices)
        var influences = SkinInfluences(vertices: count)
        for bone in pointers(m.mBones, m.mNumBones) {
            guard let bone, let joint = joints[bone.pointee.mName.string] else { continue }
            for w in buffer(bone.pointee.mWeights, bone.pointee.mNumWeights) where Int(w.mVertexId) < count {
                influences.add(joint: UInt16(joint), weight: w.mWeight, to: Int(w.mVertexId))
            }
        }
        influences.normalize()
        streams.joints = influences.joints
        streams.weights = influences.weights
        var usedFallback = false
        for v in 0..<count where streams.weights[v] == .zero {
            (streams.joints[v], streams.weights[v]) = (SIMD4(UInt16(fallback), 0, 0, 0), SIMD4(1, 0, 0, 0))
            usedFallback = true
        }
        return usedFallback
    }

    // MARK: Cameras and lights

    private mutating func convertCameras() {
        for camera in pointers(ai.pointee.mCameras, ai.pointee.mNumCameras) {
            guard let c = camera?.pointee else { continue }
            let name = c.mName.string
            guard let node = nodeByName[name] else {
                warn("camera '\(name)' has no node of that name and was dropped")
                continue
            }
            let aspect: Float? = c.mAspect > 0 && c.mAspect.isFinite ? c.mAspect : nil
            let znear = c.mClipPlaneNear > 0 ? c.mClipPlaneNear : 0.01
            let zfar: Float? = c.mClipPlaneFar > znear && c.mClipPlaneFar.isFinite ? c.mClipPlaneFar : nil
            if c.mOrthographicWidth > 0 {
                let xmag = c.mOrthographicWidth
                scene.cameras.append(
                    .orthographic(
                        name: name, xmag: xmag, ymag: xmag / (aspect ?? 1), znear: max(znear, 0),
                        zfar: zfar ?? znear + 1000))
            } else {
                // Assimp stores half the horizontal field of view.
                let halfX = min(max(c.mHorizontalFOV, 0.001), Float.pi / 2 - 0.001)
                let yfov = 2 * atan(tan(halfX) / (aspect ?? 1))
                scene.cameras.append(
                    .perspective(name: name, yfov: yfov, aspectRatio: aspect, znear: znear, zfar: zfar))
            }
            let holder = attachmentNode(
                for: node, suffix: "camera", position: c.mPosition.simd,
                forward: c.mLookAt.simd, up: c.mUp.simd)
            scene.nodes[holder].camera = scene.cameras.count - 1
        }
    }

    private mutating func convertLights() {
        for light in pointers(ai.pointee.mLights, ai.pointee.mNumLights) {
            guard let l = light?.pointee else { continue }
            let name = l.mName.string
            let kind: Light.Kind
            switch l.mType {
            case aiLightSource_DIRECTIONAL: kind = .directional
            case aiLightSource_POINT: kind = .point
            case aiLightSource_SPOT: kind = .spot
            default:
                warn("light '\(name)' is an ambient or area light, which glTF cannot express; it was dropped")
                continue
            }
            guard let node = nodeByName[name] else {
                warn("light '\(name)' has no node of that name and was dropped")
                continue
            }
            var out = Light(name: name, kind: kind)
            var color = SIMD3<Float>(l.mColorDiffuse.r, l.mColorDiffuse.g, l.mColorDiffuse.b)
            color = SIMD3(
                color.x.isFinite ? max(color.x, 0) : 0, color.y.isFinite ? max(color.y, 0) : 0,
                color.z.isFinite ? max(color.z, 0) : 0)
            let intensity = max(color.x, color.y, color.z)
            out.intensity = intensity
            out.color = intensity > 0 ? color / intensity : .one
            if kind == .spot {
                // glTF's importer stores glTF's half angles; the other loaders store full cone angles.
                let divisor: Float = isGLTF ? 1 : 2
                let outer = min(max(l.mAngleOuterCone / divisor, 0.001), Float.pi / 2)
                out.outerConeAngle = outer.isFinite ? outer : Float.pi / 4
                let inner = l.mAngleInnerCone / divisor
                out.innerConeAngle = inner.isFinite ? min(max(inner, 0), out.outerConeAngle * 0.999) : 0
            }
            scene.lights.append(out)
            let forward = kind == .point ? SIMD3<Float>(0, 0, -1) : l.mDirection.simd
            let holder = attachmentNode(
                for: node, suffix: "light", position: l.mPosition.simd,
                forward: forward, up: l.mUp.simd)
            scene.nodes[holder].light = scene.lights.count - 1
        }
    }

    /// The node itself when the local placement is glTF's default, else a new child node carrying it.
    private mutating func attachmentNode(
        for node: Int, suffix: String, position: SIMD3<Float>, forward: SIMD3<Float>,
        up: SIMD3<Float>
    ) -> Int {
        let rotation = orientation(forward: forward, up: up)
        let identity = SIMD4<Float>(0, 0, 0, 1)
        let needsChild = position != .zero || abs(dot(rotation, identity)) < 0.99999
        let occupied = suffix == "camera" ? scene.nodes[node].camera != nil : scene.nodes[node].light != nil
        guard needsChild || occupied else { return node }
        var child = Node(name: scene.nodes[node].name + "." + suffix)
        child.transform = .trs(translation: position.x.isFinite ? position : .zero, rotation: rotation, scale: .one)
        scene.nodes.append(child)
        scene.nodes[node].children.append(scene.nodes.count - 1)
        return scene.nodes.count - 1
    }

    // MARK: Animations

    private mutating func convertAnimations() {
        var animated = Set<Int>()
        for animation in pointers(ai.pointee.mAnimations, ai.pointee.mNumAnimations) {
            guard let a = animation?.pointee else { continue }
            let ticks = a.mTicksPerSecond > 0 ? a.mTicksPerSecond : 25
            var out = Animation(name: a.mName.string)
            for channel in pointers(a.mChannels, a.mNumChannels) {
                guard let c = channel?.pointee else { continue }
                let nodeName = c.mNodeName.string
                guard let node = nodeByName[nodeName] else {
                    warn("animation '\(out.name)' targets missing node '\(nodeName)'; that channel was dropped")
                    continue
                }
                let positions = buffer(c.mPositionKeys, c.mNumPositionKeys)
                if let ch = Self.channel(
                    node, .translation, positions.map { ($0.mTime, [$0.mValue.x, $0.mValue.y, $0.mValue.z]) }, ticks)
                {
                    out.channels.append(ch)
                }
                var previous = SIMD4<Float>(0, 0, 0, 1)
                let rotations = buffer(c.mRotationKeys, c.mNumRotationKeys).map { key -> (Double, [Float]) in
                    var q = SIMD4<Float>(key.mValue.x, key.mValue.y, key.mValue.z, key.mValue.w)
                    let length = (q * q).sum().squareRoot()
                    q = length > 0 && length.isFinite ? q / length : SIMD4(0, 0, 0, 1)
                    if dot(q, previous) < 0 { q = -q }  // keep neighbouring keys on the same hemisphere
                    previous = q
                    return (key.mTime, [q.x, q.y, q.z, q.w])
                }
                if let ch = Self.channel(node, .rotation, rotations, ticks) { out.channels.append(ch) }
                let scales = buffer(c.mScalingKeys, c.mNumScalingKeys)
                if let ch = Self.channel(
                    node, .scale, scales.map { ($0.mTime, [$0.mValue.x, $0.mValue.y, $0.mValue.z]) }, ticks)
                {
                    out.channels.append(ch)
                }
            }
            for channel in pointers(a.mMorphMeshChannels, a.mNumMorphMeshChannels) {
                guard let c = channel?.pointee else { continue }
                guard let node = morphTargetNode(c.mName.string), let mesh = scene.nodes[node].mesh else {
                    warn("animation '\(out.name)' morphs missing mesh '\(c.mName.string)'; that channel was dropped")
                    continue
                }
                let targets = scene.meshes[mesh].weights.count
                let keys = buffer(c.mKeys, c.mNumKeys).map { key -> (Double, [Float]) in
                    var weights = [Float](repeating: 0, count: targets)
                    for (value, weight) in zip(
                        buffer(key.mValues, key.mNumValuesAndWeights),
                        buffer(key.mWeights, key.mNumValuesAndWeights))
                    where Int(value) < targets && weight.isFinite {
                        weights[Int(value)] = Float(weight)
                    }
                    return (key.mTime, weights)
                }
                if targets > 0, let ch = Self.channel(node, .weights, keys, ticks) { out.channels.append(ch) }
            }
            if buffer(a.mMeshChannels, a.mNumMeshChannels).count > 0 {
                warn(
                    "animation '\(out.name)' has vertex (mesh) keyframes, which glTF cannot express; they were dropped")
            }
            guard !out.channels.isEmpty else {
                warn("animation '\(out.name)' has no usable channels and was dropped")
                continue
            }
            for channel in out.channels where channel.path != .weights { animated.insert(channel.node) }
            scene.animations.append(out)
        }
        for node in animated.sorted() {
            if case .matrix = scene.nodes[node].transform, node < restTRS.count {
                let (t, r, s) = restTRS[node]
                scene.nodes[node].transform = .trs(translation: t, rotation: r, scale: s)
            }
        }
    }

    /// Keyframes with times in seconds, strictly increasing (later duplicates of a time are dropped), finite values.
    private static func channel(_ node: Int, _ path: Animation.Path, _ keys: [(Double, [Float])], _ ticks: Double)
        -> Animation.Channel?
    {
        var channel = Animation.Channel(node: node, path: path)
        for (time, values) in keys {
            let seconds = Float(time / ticks)
            guard seconds.isFinite, values.allSatisfy(\.isFinite) else { continue }
            if let last = channel.times.last, seconds <= last { continue }
            channel.times.append(seconds)
            channel.values.append(contentsOf: values)
        }
        return channel.times.isEmpty ? nil : channel
    }

    /// The node a morph animation channel targets: a mesh node with that name, else a node using an aiMesh of that name.
    private func morphTargetNode(_ name: String) -> Int? {
        if let node = nodeByName[name], scene.nodes[node].mesh != nil { return node }
        let meshes = pointers(ai.pointee.mMeshes, ai.pointee.mNumMeshes)
        return aiNodes.indices.first { index in
            buffer(aiNodes[index].pointee.mMeshes, aiNodes[index].pointee.mNumMeshes).contains { i in
                Int(i) < meshes.count && meshes[Int(i)]?.pointee.mName.string == name
            } && scene.nodes[index].mesh != nil
        }
    }

    // MARK: FBX axes and units

    /// FBX files declare their axes and unit in GlobalSettings, which Assimp 5.2.5 passes through as scene metadata
    /// without applying (vertices stay in file units and axes): one extra root node carries `FBXAxisConversion`,
    /// and camera clip distances are scaled likewise. Nothing is added when the conversion is the identity.
    private mutating func applyFBXConversion() {
        let meta = numericMetadata(ai.pointee.mMetaData)
        guard let conversion = FBXAxisConversion({ meta[$0] }) else { return }
        let unit = conversion.unit
        var root = Node(name: FBXAxisConversion.nodeName)
        root.transform = conversion.transform
        root.children = scene.roots
        scene.nodes.append(root)
        scene.roots = [scene.nodes.count - 1]
        // Clip planes and orthographic extents are distances, which node scale does not reach.
        scene.cameras = scene.cameras.map { camera in
            switch camera {
            case let .perspective(name, yfov, aspect, znear, zfar):
                return .perspective(
                    name: name, yfov: yfov, aspectRatio: aspect, znear: znear * unit, zfar: zfar.map { $0 * unit })
            case let .orthographic(name, xmag, ymag, znear, zfar):
                return .orthographic(
                    name: name, xmag: xmag * unit, ymag: ymag * unit, znear: znear * unit, zfar: zfar * unit)
            }
        }
    }

    // MARK: Math helpers

    /// The rotation taking -Z to `forward` and +Y towards `up` (identity when degenerate).
    private func orientation(forward: SIMD3<Float>, up: SIMD3<Float>) -> SIMD4<Float> {
        let identity = SIMD4<Float>(0, 0, 0, 1)
        let f = length(forward)
        let u = length(up)
        guard f > 0, f.isFinite, u.isFinite else { return identity }
        let z = -forward / f
        var upVector = u > 0 ? up / u : SIMD3<Float>(0, 1, 0)
        if abs(dot(upVector, z)) > 0.9999 { upVector = abs(z.y) < 0.9 ? SIMD3(0, 1, 0) : SIMD3(1, 0, 0) }
        let x = normalize(cross(upVector, z))
        let y = cross(z, x)
        return rotationQuaternion(columns: x, y, z) ?? identity
    }
}

private func unitOrUp(_ v: SIMD3<Float>) -> SIMD3<Float> {
    let length = length(v)
    return length > 0 && length.isFinite ? v / length : SIMD3(0, 0, 1)
}

private func finiteOrZero(_ v: SIMD3<Float>) -> SIMD3<Float> {
    v.x.isFinite && v.y.isFinite && v.z.isFinite ? v : .zero
}
