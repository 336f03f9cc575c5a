import Foundation
import ImportSupport
import Scene
import TestSupport
import Testing
import Textures

@testable import Importers

/// A 2×2 PNG made by the texture stage's encoder.
private let tinyPNG = Data(try! encodePNG(Bitmap(width: 2, height: 2, pixels: [UInt8](repeating: 200, count: 16))))

private func expectBadInput(
    _ url: URL, containing text: String, options: ImportOptions = ImportOptions(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        _ = try importScene(from: url, options: options)
        Issue.record("import of \(url.lastPathComponent) should fail", sourceLocation: sourceLocation)
    } catch let error as ProcessingError {
        #expect(error.kind == .badInput, sourceLocation: sourceLocation)
        #expect(error.file == url.path, sourceLocation: sourceLocation)
        #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

private let cubeOBJ = """
    v 0 0 0
    v 1 0 0
    v 1 1 0
    v 0 1 0
    vt 0 0
    vt 1 0
    vt 1 1
    vt 0 1
    usemtl Painted
    f 1/1 2/2 3/3 4/4

    """

@Suite struct FailureTests {
    @Test func emptyFileIsBadInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        expectBadInput(try folder.write("empty.obj", ""), containing: "empty")
    }

    @Test func unrecognizedContentIsBadInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        expectBadInput(try folder.write("notes.obj", "hello world\nthis is not a model\n"), containing: "unrecognized")
    }

    /// Through Assimp only: the native PLY reader reads strips (MeshImportersTests).
    @Test func plyTriangleStripsAreRefusedByAssimp() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let ply = """
            ply
            format ascii 1.0
            element vertex 4
            property float x
            property float y
            property float z
            element tristrips 1
            property list int int vertex_indices
            end_header
            0 0 0
            1 0 0
            0 1 0
            1 1 0
            4 0 1 2 3

            """
        var assimp = ImportOptions()
        assimp.importer = .assimp
        expectBadInput(
            try folder.write("strip.ply", ply), containing: "PLY triangle strips are not supported",
            options: assimp)
    }

    @Test func sceneWithoutMeshesIsBadInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let gltf = #"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"name":"empty"}]}"#
        expectBadInput(try folder.write("nodes.gltf", gltf), containing: "contains no geometry")
    }

    @Test func assimpErrorsAreOneLineBadInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // Valid GLB magic, then garbage.
        var bytes = Data("glTF".utf8) + Data([2, 0, 0, 0, 40, 0, 0, 0])
        bytes += Data(repeating: 0xAB, count: 28)
        var assimp = ImportOptions()
        assimp.importer = .assimp  // glTF goes to the native reader by default
        expectBadInput(try folder.write("broken.glb", bytes), containing: "Assimp", options: assimp)
    }

    /// USD goes to its converter plugin (PluginTests, USDImporterTests); Alembic to the native reader.
    @Test func usdIsDetectedAndAlembicGoesToItsPlugin() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let usda = try folder.write("stage", "#usda 1.0\n(\n    upAxis = \"Y\"\n)\n")
        #expect(try detectFormat(of: usda) == .usd)
        let usdc = try folder.write("crate.bin", Data("PXR-USDC".utf8) + Data(repeating: 0, count: 80))
        #expect(try detectFormat(of: usdc) == .usd)
        let ogawa = try folder.write("cache", Data("Ogawa".utf8) + Data([0xFF, 0, 1]) + Data(repeating: 0, count: 64))
        #expect(try detectFormat(of: ogawa) == .alembic)
        expectBadInput(ogawa, containing: "Alembic")
        let hdf5 = try folder.write(
            "legacy.abc", Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) + Data(repeating: 0, count: 64))
        #expect(try detectFormat(of: hdf5) == .alembic)
        expectBadInput(hdf5, containing: "unsupported: HDF5-based Alembic")
    }

    @Test func unreadableFileIsIOError() throws {
        #expect(throws: ProcessingError.self) { try detectFormat(of: URL(fileURLWithPath: "/nonexistent/model.fbx")) }
        do {
            _ = try detectFormat(of: URL(fileURLWithPath: "/nonexistent/model.fbx"))
        } catch let error as ProcessingError {
            #expect(error.kind == .io)
        }
    }
}

@Suite struct FileAccessTests {
    @Test func texturesResolveBackslashesCaseAndForeignAbsolutePaths() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("Textures/checker.png", tinyPNG)
        try folder.write("normal.png", tinyPNG + Data([0]))  // distinct bytes: a second image
        try folder.write(
            "model.mtl",
            """
            newmtl Painted
            Kd 1 1 1
            map_Kd Textures\\CHECKER.PNG
            norm C:\\Users\\artist\\maps\\normal.png

            """)
        let model = try folder.write("model.obj", "mtllib model.mtl\n" + cubeOBJ)
        let scene = try importScene(from: model)
        let material = try #require(scene.materials.first { $0.name == "Painted" })
        let base = try #require(material.baseColorTexture)
        let normal = try #require(material.normalTexture)
        #expect(scene.images[scene.textures[base.texture].image].data == [UInt8](tinyPNG))
        #expect(scene.images[scene.textures[normal.texture].image].mimeType == "image/png")
        #expect(scene.images.count == 2)
        #expect(scene.warnings.isEmpty, "\(scene.warnings)")
    }

    @Test func texturesOutsideTheFolderAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("secret.png", tinyPNG)
        try folder.write("model/model.mtl", "newmtl Painted\nmap_Kd ../secret.png\nmap_Ke missing.png\n")
        let model = try folder.write("model/model.obj", "mtllib model.mtl\n" + cubeOBJ)
        let scene = try importScene(from: model)
        #expect(scene.images.isEmpty)
        #expect(scene.materials.first { $0.name == "Painted" }?.baseColorTexture == nil)
        #expect(scene.warnings.contains { $0.contains("'../secret.png' not loaded") && $0.contains("outside") })
        #expect(scene.warnings.contains { $0.contains("'missing.png' not loaded") })
    }

    @Test func loaderCannotOpenFilesOutsideTheFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("evil.mtl", "newmtl Painted\nKd 1 0 0\n")
        let model = try folder.write("model/model.obj", "mtllib ../evil.mtl\n" + cubeOBJ)
        let scene = try importScene(from: model)
        #expect(scene.warnings.contains { $0.contains("evil.mtl") }, "\(scene.warnings)")
        // evil.mtl would make "Painted" pure red.
        #expect(!scene.materials.contains { $0.baseColorFactor == SIMD4<Float>(1, 0, 0, 1) })
    }

    @Test func modelFolderResolution() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("outside.txt", "x")
        let inner = try folder.write("model/Maps/Wood.JPG", "x").deletingLastPathComponent().deletingLastPathComponent()
        try FileManager.default.createSymbolicLink(
            atPath: inner.appendingPathComponent("link.txt").path,
            withDestinationPath: folder.url.appendingPathComponent("outside.txt").path)
        let resolver = ModelFolder(modelURL: inner.appendingPathComponent("model.obj"))
        guard case .found(let found) = resolver.resolve("maps\\wood.jpg") else {
            Issue.record("case-insensitive backslash path not found")
            return
        }
        #expect(found.hasSuffix("/model/Maps/Wood.JPG"))
        #expect(resolver.resolve("../outside.txt") == .outside)
        #expect(resolver.resolve("Maps/../../outside.txt") == .outside)
        #expect(resolver.resolve("link.txt") == .outside)
        #expect(resolver.resolve("/etc/passwd") == .outside)
        #expect(resolver.resolve(folder.url.path + "/outside.txt") == .outside)
        #expect(resolver.resolve("D:\\textures\\wood.jpg") == .missing)
        if case .found = resolver.resolve("C:\\work\\Wood.JPG") {
            Issue.record("only files beside the model are tried")
        }
    }

    @Test func percentEscapesDecodeLikeFoundation() {
        #expect(percentDecoded("mesh%20data.bin") == "mesh data.bin")
        #expect(percentDecoded("%C3%A9t%c3%a9.png") == "été.png")
        #expect(percentDecoded("plain.png") == "plain.png")
        // Malformed escapes and bytes that are not UTF-8 give nil, as removingPercentEncoding does.
        #expect(percentDecoded("bad%2") == nil)
        #expect(percentDecoded("bad%zz") == nil)
        #expect(percentDecoded("%FF.png") == nil)
    }

    @Test func importWorksWithoutExtensionIncludingCompanionFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = Paths.fixture("obj/spider")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            let target = name == "spider.obj" ? "spider" : name
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: folder.url.appendingPathComponent(target))
        }
        let scene = try importScene(from: folder.url.appendingPathComponent("spider"))
        #expect(scene.images.count == 4)  // the native reader converts only materials faces use (4 of the 5)
        #expect(scene.images.allSatisfy { $0.mimeType == "image/jpeg" })
        #expect(scene.warnings.isEmpty, "\(scene.warnings)")

        let ply = folder.url.appendingPathComponent("cube.stl")
        try FileManager.default.copyItem(at: Paths.fixture("ply/cube.ply"), to: ply)
        #expect(try importScene(from: ply).statistics.triangles == 12)
    }
}

@Suite struct ContentTests {
    @Test func skinnedFBXHasJointsAndNormalizedWeights() throws {
        let scene = try importScene(from: Paths.fixture("fbx/huesitos.fbx"))
        let skinned = try #require(scene.nodes.first { $0.skin != nil })
        let skin = scene.skins[try #require(skinned.skin)]
        #expect(skin.joints.count >= 9)
        #expect(skin.inverseBindMatrices.count == skin.joints.count)
        let primitives = scene.meshes[try #require(skinned.mesh)].primitives
        for primitive in primitives {
            #expect(primitive.vertices.weights.count == primitive.vertexCount)
            for (weights, joints) in zip(primitive.vertices.weights, primitive.vertices.joints) {
                #expect(abs(weights.sum() - 1) < 1e-4)
                for k in 0..<4 { #expect(Int(joints[k]) < skin.joints.count) }
            }
        }
    }

    @Test func animatedFBXHasChannels() throws {
        let scene = try importScene(from: Paths.fixture("fbx/huesitos.fbx"))
        let animation = try #require(scene.animations.first)
        #expect(!animation.channels.isEmpty)
        for channel in animation.channels {
            #expect(zip(channel.times, channel.times.dropFirst()).allSatisfy { $0 < $1 })
            let width = channel.path == .rotation ? 4 : 3
            #expect(channel.values.count == channel.times.count * width)
            if case .matrix = scene.nodes[channel.node].transform { Issue.record("animated node must be TRS") }
        }
        #expect(animation.channels.contains { $0.path == .rotation })
    }

    @Test func fbxUnitsAndAxesBecomeOneRootNode() throws {
        let huesitos = try importScene(from: Paths.fixture("fbx/huesitos.fbx"))
        #expect(huesitos.roots.count == 1)
        let root = huesitos.nodes[huesitos.roots[0]]
        #expect(root.name == "FBX axis and unit conversion")
        #expect(root.transform.matrix[0, 0] == 0.01)  // centimeters → meters
        // global_settings.fbx declares UnitScaleFactor 500 (5 m per unit).
        let global = try importScene(from: Paths.fixture("fbx/global_settings.fbx"))
        #expect(abs(global.nodes[global.roots[0]].transform.matrix[1, 1] - 5) < 1e-5)
    }

    @Test func embeddedFBXTexturesKeepTheirBytes() throws {
        let scene = try importScene(from: Paths.fixture("fbx/blender_293_embedded_textures_7400_binary.fbx"))
        #expect(!scene.images.isEmpty)
        for image in scene.images {
            #expect(imageMIMEType(image.data) == image.mimeType)
        }
        let material = try #require(scene.materials.first)
        #expect(material.baseColorTexture != nil)
        #expect(material.emissiveTexture != nil)
    }

    @Test(arguments: ["gltf/BoxTextured/BoxTextured.gltf", "glb/BoxTextured.glb"])
    func gltfKeepsPBRAndImages(_ path: String) throws {
        let scene = try importScene(from: Paths.fixture(path))
        let material = try #require(scene.materials.first)
        #expect(material.metallicFactor == 0)
        #expect(material.roughnessFactor == 1)
        let texture = try #require(material.baseColorTexture)
        #expect(scene.images[scene.textures[texture.texture].image].mimeType == "image/png")
        let primitive = try #require(scene.allPrimitives.first)
        #expect(primitive.vertices.texcoords.count == 1)
        // glTF's own UVs must come back unchanged (Assimp flips them on import; the importer flips back).
        #expect(primitive.vertices.texcoords[0].allSatisfy { (0...1).contains($0.y) })
    }

    @Test func pointCloudsAndLinesAreKept() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let points = try importScene(from: try folder.write("cloud.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\np 1 2 3\n"))
        #expect(points.allPrimitives.contains { $0.mode == .points && $0.vertexCount == 3 })
        let mixed = try importScene(
            from: try folder.write("mixed.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nl 1 2 4\nf 1 2 3\n"))
        #expect(mixed.allPrimitives.contains { $0.mode == .lines && $0.indices.count == 4 })
        #expect(mixed.allPrimitives.contains { $0.mode == .triangles && $0.triangleCount == 1 })
    }

    @Test func generatedAsciiSTLImports() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let stl = """
            solid tri
              facet normal 0 0 1
                outer loop
                  vertex 0 0 0
                  vertex 1 0 0
                  vertex 0 1 0
                endloop
              endfacet
            endsolid tri

            """
        let url = try folder.write("tri", stl)
        #expect(try detectFormat(of: url) == .stl)
        #expect(try importScene(from: url).statistics.triangles == 1)
    }

    @Test func colladaLightsBecomePunctualLights() throws {
        let scene = try importScene(from: Paths.fixture("dae/lights.dae"))
        #expect(!scene.lights.isEmpty)
        for (index, light) in scene.lights.enumerated() {
            #expect(scene.nodes.contains { $0.light == index })
            #expect(light.intensity >= 0 && light.outerConeAngle <= .pi / 2)
        }
    }
}
