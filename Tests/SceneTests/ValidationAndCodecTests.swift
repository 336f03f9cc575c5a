import Testing

@testable import Scene

/// One triangle under a chain of `depth` nodes (the leaf draws it).
func chainScene(depth: Int) -> Scene {
    var scene = Scene()
    var primitive = Primitive()
    primitive.vertices.positions = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    primitive.indices = [0, 1, 2]
    var mesh = Mesh(name: "tri")
    mesh.primitives = [primitive]
    scene.meshes = [mesh]
    for i in 0..<depth {
        var node = Node(name: "n\(i)")
        node.transform = .trs(translation: [0, 0.001, 0], rotation: [0, 0, 0, 1], scale: .one)
        if i + 1 < depth { node.children = [i + 1] } else { node.mesh = 0 }
        scene.nodes.append(node)
    }
    scene.roots = [0]
    return scene
}

/// A scene using every kind of object the model has, for the codec round trip.
func everythingScene() -> Scene {
    var scene = chainScene(depth: 3)
    var p = scene.meshes[0].primitives[0]
    p.vertices.normals = [[0, 0, 1], [0, 0, 1], [0, 0, 1]]
    p.vertices.tangents = [[1, 0, 0, 1], [1, 0, 0, -1], [1, 0, 0, 1]]
    p.vertices.texcoords = [[[0, 0], [1, 0], [0, 1]], [[0.5, 0.5], [0.25, 0], [0, 0.125]]]
    p.vertices.colors = [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 0.5]]
    p.vertices.joints = [[0, 1, 0, 0], [1, 0, 0, 0], [65535 % 2, 0, 0, 0]]
    p.vertices.weights = [[0.5, 0.5, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]
    var target = MorphTarget(name: "smile")
    target.positions = [[0, 0, 1], [0, 0, 0], [0, 0, -1]]
    p.targets = [target]
    p.material = 0
    scene.meshes[0].primitives = [p, Primitive(mode: .points)]
    scene.meshes[0].weights = [0.25]
    var material = Material(name: "m")
    material.baseColorTexture = TextureRef(texture: 0, texCoord: 1)
    material.alphaMode = .mask
    material.emissiveFactor = [0.1, 0.2, 0.3]
    scene.materials = [material]
    scene.images = [Image(name: "i", mimeType: "image/png", data: [0x89, 0x50, 0x4E, 0x47, 0, 255])]
    scene.samplers = [Sampler(magFilter: 9729, wrapS: Sampler.clampToEdge)]
    scene.textures = [Texture(image: 0, sampler: 0)]
    var skin = Skin(name: "s")
    skin.joints = [1, 2]
    skin.inverseBindMatrices = [.identity, Matrix4(translation: [1, 2, 3], rotation: [0, 0, 0, 1], scale: [2, 2, 2])]
    scene.skins = [skin]
    scene.nodes[2].skin = 0
    scene.nodes[1].transform = .matrix(Matrix4(translation: [4, 5, 6], rotation: [0, 0.6, 0, 0.8], scale: .one))
    scene.nodes[0].camera = 0
    scene.nodes[0].light = 0
    scene.nodes[0].instances = [InstanceTransform(translation: [1, 0, 0]), InstanceTransform(scale: [2, 2, 2])]
    var channel = Animation.Channel(node: 1, path: .rotation)
    channel.interpolation = .step
    channel.times = [0, 1]
    channel.values = [0, 0, 0, 1, 0, 1, 0, 0]
    var animation = Animation(name: "spin")
    animation.channels = [channel]
    scene.animations = [animation]
    scene.cameras = [.perspective(name: "cam", yfov: 0.8, aspectRatio: nil, znear: 0.1, zfar: 100)]
    var light = Light(name: "sun", kind: .spot)
    light.range = 12
    scene.lights = [light]
    scene.warnings = ["a warning", ""]
    return scene
}

@Suite struct SceneCodecTests {
    @Test func roundTripKeepsEveryField() throws {
        let scene = everythingScene()
        let bytes = try SceneCodec.encode(scene)
        #expect(try SceneCodec.decode(bytes) == scene)
    }

    @Test func arraysArePackedWithoutPerElementFraming() throws {
        var scene = chainScene(depth: 1)
        scene.meshes[0].primitives[0].vertices.positions = Array(repeating: [1, 2, 3], count: 100_000)
        scene.meshes[0].primitives[0].indices = Array(repeating: 0, count: 300_000)
        let bytes = try SceneCodec.encode(scene)
        // 12 bytes per position and 4 per index, plus a small fixed overhead.
        #expect(bytes.count < 100_000 * 12 + 300_000 * 4 + 2_000)
        #expect(try SceneCodec.decode(bytes) == scene)
    }

    @Test func refusesDataItDidNotWrite() throws {
        let bytes = try SceneCodec.encode(everythingScene())
        #expect(throws: ProcessingError.self) { try SceneCodec.decode(Array(bytes.prefix(bytes.count / 2))) }
        #expect(throws: ProcessingError.self) {
            try SceneCodec.decode(Array("OPTSCN1\n".utf8) + [1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        }
        #expect(throws: (any Error).self) { try SceneCodec.decode(Array("nonsense".utf8)) }
    }

    @Test func deepHierarchyRoundTrips() throws {
        let scene = chainScene(depth: 20_000)
        #expect(try SceneCodec.decode(try SceneCodec.encode(scene)) == scene)
    }
}

@Suite struct SceneValidationTests {
    func problem(_ scene: Scene) -> String? {
        do {
            try validateScene(scene, file: "in.x")
            return nil
        } catch let error as ProcessingError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func acceptsWellFormedScenes() {
        #expect(problem(everythingScene()) == nil)
        #expect(problem(chainScene(depth: 100_000)) == nil)
    }

    @Test func refusesCyclesAndSharedChildren() {
        var cycle = chainScene(depth: 4)
        cycle.nodes[3].children = [1]
        #expect(problem(cycle)?.contains("more than one parent") == true)
        var loop = chainScene(depth: 3)
        loop.roots = []
        loop.nodes[2].children = [0]
        #expect(problem(loop)?.contains("cycle") == true)
        var selfLoop = chainScene(depth: 2)
        selfLoop.nodes.append(Node(name: "alone"))
        selfLoop.nodes[2].children = [2]
        #expect(problem(selfLoop)?.contains("cycle") == true)
        var shared = chainScene(depth: 3)
        shared.nodes[0].children = [1, 2]
        #expect(problem(shared)?.contains("more than one parent") == true)
    }

    @Test func refusesIndicesOutOfRange() {
        var badRoot = chainScene(depth: 2)
        badRoot.roots = [5]
        #expect(problem(badRoot) != nil)
        var badMesh = chainScene(depth: 2)
        badMesh.nodes[1].mesh = 3
        #expect(problem(badMesh)?.contains("mesh") == true)
        var badIndex = chainScene(depth: 1)
        badIndex.meshes[0].primitives[0].indices = [0, 1, 3]
        #expect(problem(badIndex)?.contains("index 3") == true)
        var badCount = chainScene(depth: 1)
        badCount.meshes[0].primitives[0].indices = [0, 1]
        #expect(problem(badCount) != nil)
        var unindexed = chainScene(depth: 1)
        unindexed.meshes[0].primitives[0].indices = []
        unindexed.meshes[0].primitives[0].vertices.positions.append([1, 1, 1])
        #expect(problem(unindexed)?.contains("multiple of 3") == true)
        var badStream = chainScene(depth: 1)
        badStream.meshes[0].primitives[0].vertices.normals = [[0, 0, 1]]
        #expect(problem(badStream)?.contains("length") == true)
        var badTexture = everythingScene()
        badTexture.textures[0].image = 9
        #expect(problem(badTexture) != nil)
        var badJoint = everythingScene()
        badJoint.meshes[0].primitives[0].vertices.joints[0] = [7, 0, 0, 0]
        #expect(problem(badJoint)?.contains("joint") == true)
    }

    @Test func refusesNonFiniteAndOverflowingTransforms() {
        var huge = chainScene(depth: 2)
        huge.nodes[1].transform = .trs(translation: .zero, rotation: [0, 0, 0, 1], scale: [Float("1e39")!, 1, 1])
        #expect(problem(huge)?.contains("non-finite") == true)
        var overflow = chainScene(depth: 3)
        for n in 0..<3 {
            overflow.nodes[n].transform = .trs(translation: .zero, rotation: [0, 0, 0, 1], scale: [1e20, 1e20, 1e20])
        }
        #expect(problem(overflow)?.contains("overflows") == true)
        var nan = chainScene(depth: 1)
        nan.meshes[0].primitives[0].vertices.positions[1].y = .nan
        #expect(problem(nan)?.contains("non-finite") == true)
    }
}
