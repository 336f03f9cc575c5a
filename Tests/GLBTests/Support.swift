import Foundation
import Scene
import Testing

@testable import GLB

/// Scenes built in code, each exercising one part of the writer.
enum TestScenes {
    /// A 2×2 RGBA PNG (red and green pixels).
    static let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x02,
        0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x00, 0x00, 0x72, 0xB6, 0x0D, 0x24, 0x00, 0x00, 0x00, 0x10, 0x49,
        0x44, 0x41,
        0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x0A, 0x21, 0x14, 0x00, 0x45, 0xCC, 0x07, 0xF9, 0x66,
        0xCB, 0xFF,
        0x39, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82
    ]

    /// A unit cube: 24 vertices with normals and UVs, a textured material.
    static func cube() -> Scene {
        var p = Primitive()
        let faces: [(n: SIMD3<Float>, u: SIMD3<Float>, v: SIMD3<Float>)] = [
            (SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, 1, 0)), (SIMD3(-1, 0, 0), SIMD3(0, 0, 1), SIMD3(0, 1, 0)),
            (SIMD3(0, 1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, -1)), (SIMD3(0, -1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, 1)),
            (SIMD3(0, 0, 1), SIMD3(1, 0, 0), SIMD3(0, 1, 0)), (SIMD3(0, 0, -1), SIMD3(-1, 0, 0), SIMD3(0, 1, 0))
        ]
        var uvs: [SIMD2<Float>] = []
        for face in faces {
            let base = UInt32(p.vertices.positions.count)
            for (a, b) in [(-1, -1), (1, -1), (1, 1), (-1, 1)] as [(Float, Float)] {
                p.vertices.positions.append((face.n + face.u * a + face.v * b) * 0.5)
                p.vertices.normals.append(face.n * 3)  // not unit on purpose: the writer normalizes
                uvs.append(SIMD2((a + 1) / 2, (1 - b) / 2))
            }
            p.indices += [base, base + 1, base + 2, base, base + 2, base + 3]
        }
        p.vertices.texcoords = [uvs]
        p.material = 0
        var scene = Scene()
        var mesh = Mesh(name: "Cube")
        mesh.primitives = [p]
        scene.meshes = [mesh]
        var material = Material(name: "Checker \"quoted\" é\n")
        material.baseColorTexture = TextureRef(texture: 0)
        material.roughnessFactor = 0.5
        material.doubleSided = true
        scene.materials = [material]
        scene.images = [Image(name: "checker", mimeType: "image/png", data: png)]
        scene.samplers = [Sampler(magFilter: 9729, minFilter: 9987, wrapS: Sampler.clampToEdge)]
        scene.textures = [Texture(image: 0, sampler: 0)]
        var node = Node(name: "Cube")
        node.mesh = 0
        node.transform = .trs(translation: SIMD3(0, 1, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        scene.nodes = [node]
        scene.roots = [0]
        return scene
    }

    /// A quad skinned to two joints, with a rotation (LINEAR) and a translation (CUBICSPLINE) animation.
    static func skinnedRig() -> Scene {
        var p = Primitive()
        p.vertices.positions = [SIMD3(-1, 0, 0), SIMD3(1, 0, 0), SIMD3(1, 2, 0), SIMD3(-1, 2, 0)]
        p.vertices.joints = [SIMD4(0, 0, 0, 0), SIMD4(0, 0, 0, 0), SIMD4(1, 0, 0, 0), SIMD4(1, 0, 0, 0)]
        // Not normalized and one all-zero row: the writer renormalizes.
        p.vertices.weights = [SIMD4(2, 0, 0, 0), SIMD4(1, 1, 0, 0), SIMD4(0.3, 0.3, 0.3, 0), SIMD4(0, 0, 0, 0)]
        p.indices = [0, 1, 2, 0, 2, 3]
        var scene = Scene()
        var mesh = Mesh(name: "Skinned")
        mesh.primitives = [p]
        scene.meshes = [mesh]
        var armature = Node(name: "Armature")
        armature.children = [1, 2]
        var body = Node(name: "Body")
        body.mesh = 0
        body.skin = 0
        var hip = Node(name: "Hip")
        hip.children = [3]
        var spine = Node(name: "Spine")
        spine.transform = .trs(translation: SIMD3(0, 1, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        scene.nodes = [armature, body, hip, spine]
        scene.roots = [0]
        var skin = Skin(name: "Rig")
        skin.joints = [2, 3]
        skin.skeleton = 2
        skin.inverseBindMatrices = [
            .identity, Matrix4(translation: SIMD3(0, -1, 0), rotation: SIMD4(0, 0, 0, 1), scale: .one)
        ]
        scene.skins = [skin]
        var animation = Animation(name: "Wave")
        var rotate = Animation.Channel(node: 3, path: .rotation)
        rotate.times = [0, 0.5, 1]
        rotate.values = [0, 0, 0, 1, 0, 0, 0.38268343, 0.9238795, 0, 0, 0, 1]
        var move = Animation.Channel(node: 2, path: .translation)
        move.interpolation = .cubicSpline
        move.times = [0, 0.5, 1]
        move.values = (0..<27).map { Float($0 % 9) * 0.1 }
        var scale = Animation.Channel(node: 2, path: .scale)
        scale.interpolation = .step
        scale.times = [0.25, 2]
        scale.values = [1, 1, 1, 2, 2, 2]
        animation.channels = [rotate, move, scale]
        scene.animations = [animation]
        return scene
    }

    /// A triangle with two named morph targets, default weights and a weights animation.
    static func morph() -> Scene {
        var p = Primitive()
        p.vertices.positions = [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]
        p.vertices.normals = [SIMD3(0, 0, 1), SIMD3(0, 0, 1), SIMD3(0, 0, 1)]
        p.indices = [0, 1, 2]
        var smile = MorphTarget(name: "smile")
        smile.positions = [.zero, SIMD3(0.5, 0, 0), .zero]
        smile.normals = [SIMD3(0, 0.1, 0), .zero, .zero]
        var blink = MorphTarget(name: "blink")
        blink.positions = [.zero, .zero, SIMD3(0, -0.25, 0.5)]
        p.targets = [smile, blink]
        var mesh = Mesh(name: "Face")
        mesh.primitives = [p]
        mesh.weights = [0.25, 0]
        var scene = Scene()
        scene.meshes = [mesh]
        var node = Node(name: "Face")
        node.mesh = 0
        scene.nodes = [node]
        scene.roots = [0]
        var animation = Animation(name: "Talk")
        var channel = Animation.Channel(node: 0, path: .weights)
        channel.times = [0, 1]
        channel.values = [0, 0, 1, 0.5]
        animation.channels = [channel]
        scene.animations = [animation]
        return scene
    }

    /// One mesh with a points primitive and a lines primitive (with vertex colors).
    static func pointsAndLines() -> Scene {
        var points = Primitive(mode: .points)
        points.vertices.positions = [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]
        points.vertices.colors = [SIMD4(1, 0, 0, 1), SIMD4(0, 1, 0, 1), SIMD4(0, 0, 1, 1)]
        points.indices = [0, 1, 2]
        var lines = Primitive(mode: .lines)
        lines.vertices.positions = [SIMD3(0, 0, 0), SIMD3(1, 1, 1), SIMD3(2, 0, 0)]
        lines.indices = [0, 1, 1, 2]
        var mesh = Mesh(name: "Wire")
        mesh.primitives = [points, lines]
        var scene = Scene()
        scene.meshes = [mesh]
        var node = Node()
        node.mesh = 0
        scene.nodes = [node]
        scene.roots = [0]
        return scene
    }

    /// A strip of triangles over `vertexCount` vertices (UInt32 indices once above 65,535).
    static func strip(vertexCount: Int) -> Scene {
        var p = Primitive()
        p.vertices.positions = (0..<vertexCount).map { i in SIMD3(Float(i / 2), Float(i % 2), Float(i % 7) * 0.01) }
        p.vertices.normals = [SIMD3<Float>](repeating: SIMD3(0, 0, 1), count: vertexCount)
        for i in 0..<(vertexCount - 2) {
            let i = UInt32(i)
            p.indices += i % 2 == 0 ? [i, i + 1, i + 2] : [i + 1, i, i + 2]
        }
        var mesh = Mesh(name: "Strip")
        mesh.primitives = [p]
        var scene = Scene()
        scene.meshes = [mesh]
        var node = Node()
        node.mesh = 0
        scene.nodes = [node]
        scene.roots = [0]
        return scene
    }

    /// A cube with a camera, a spot light, a directional light and an unlit material.
    static func cameraAndLights() -> Scene {
        var scene = cube()
        scene.materials[0].unlit = true
        scene.cameras = [
            .perspective(name: "Main", yfov: 0.8, aspectRatio: 1.5, znear: 0.01, zfar: 100),
            .orthographic(name: "", xmag: 2, ymag: 2, znear: 0, zfar: 10)
        ]
        var spot = Light(name: "Spot", kind: .spot)
        spot.color = SIMD3(1, 0.5, 0.25)
        spot.intensity = 20
        spot.range = 10
        spot.innerConeAngle = 0.2
        scene.lights = [spot, Light(kind: .directional)]
        var cameraNode = Node(name: "Camera")
        cameraNode.camera = 0
        cameraNode.transform = .matrix(Matrix4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 5, 1]))
        var spotNode = Node(name: "Spot")
        spotNode.light = 0
        var sunNode = Node(name: "Sun")
        sunNode.light = 1
        sunNode.camera = 1
        scene.nodes += [cameraNode, spotNode, sunNode]
        scene.roots = [0, 1, 2, 3]
        return scene
    }
}

/// Splits and rebuilds GLB files so tests can inspect and corrupt them.
enum GLBFile {
    static func split(_ bytes: [UInt8]) throws -> (json: [String: Any], bin: [UInt8]) {
        let jsonLength = Int(word(bytes, 12))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes[20..<20 + jsonLength])) as? [String: Any])
        let binStart = 20 + jsonLength
        let bin = binStart < bytes.count ? Array(bytes[binStart + 8..<binStart + 8 + Int(word(bytes, binStart))]) : []
        return (json, bin)
    }

    static func join(json: [String: Any], bin: [UInt8]) throws -> [UInt8] {
        var text = [UInt8](try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
        while text.count % 4 != 0 { text.append(0x20) }
        var out: [UInt8] = []
        func put(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        let total = 12 + 8 + text.count + (bin.isEmpty ? 0 : 8 + bin.count)
        put(0x4654_6C67)
        put(2)
        put(UInt32(total))
        put(UInt32(text.count))
        put(0x4E4F_534A)
        out += text
        if !bin.isEmpty {
            put(UInt32(bin.count))
            put(0x004E_4942)
            out += bin
        }
        return out
    }

    static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(
            bytes[offset + 3]) << 24
    }

    /// Reads float `index` of accessor `accessor` (tightly packed float data) from the BIN chunk.
    static func float(_ json: [String: Any], _ bin: [UInt8], accessor: Int, index: Int) -> Float {
        let (start, _) = floatOffset(json, accessor: accessor, index: index)
        return bin[start..<start + 4].withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
    }

    static func floatOffset(_ json: [String: Any], accessor: Int, index: Int) -> (Int, Int) {
        let a = (json["accessors"] as! [[String: Any]])[accessor]
        let view = (json["bufferViews"] as! [[String: Any]])[a["bufferView"] as! Int]
        let start = (view["byteOffset"] as? Int ?? 0) + (a["byteOffset"] as? Int ?? 0) + index * 4
        return (start, start + 4)
    }

    static func setFloat(_ bin: inout [UInt8], _ json: [String: Any], accessor: Int, index: Int, _ value: Float) {
        let (start, _) = floatOffset(json, accessor: accessor, index: index)
        withUnsafeBytes(of: value) { bin.replaceSubrange(start..<start + 4, with: $0) }
    }
}

extension [String: Any] {
    func array(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}
