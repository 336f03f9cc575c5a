import FBXImporter
import Foundation
import Scene
import TestSupport
import Testing

/// World-space bounds of every mesh instance.
func worldBounds(_ scene: Scene) -> (SIMD3<Float>, SIMD3<Float>) {
    var lo = SIMD3<Float>(repeating: .infinity)
    var hi = SIMD3<Float>(repeating: -.infinity)
    var stack: [(Int, Matrix4)] = scene.roots.map { ($0, .identity) }
    while let (index, parent) = stack.popLast() {
        let node = scene.nodes[index]
        let world = parent * node.transform.matrix
        if let mesh = node.mesh {
            for p in scene.meshes[mesh].primitives.flatMap(\.vertices.positions) {
                let w = world.transformPoint(p)
                lo = pointwiseMin(lo, w)
                hi = pointwiseMax(hi, w)
            }
        }
        stack += node.children.map { ($0, world) }
    }
    return (lo, hi)
}

func close(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ tolerance: Float = 1e-4) -> Bool {
    let scale = max(1, max(abs(a).max(), abs(b).max()))
    return abs(a - b).max() <= tolerance * scale
}

private func abs(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(Swift.abs(v.x), Swift.abs(v.y), Swift.abs(v.z)) }

private func read(_ data: Data, name: String = "model.fbx") throws -> Scene {
    let folder = try TemporaryFolder()
    defer { folder.cleanup() }
    return try importFBX(from: folder.write(name, data), threads: 2)
}

@Suite struct FBXReaderTests {
    @Test(arguments: [(7400, false), (7400, true), (7500, false), (7500, true), (6100, false), (7700, true)])
    func binaryCube(version: Int, compress: Bool) throws {
        let scene = try read(binaryFBX(cubeDocument(version: version), version: version, compress: compress))
        #expect(scene.meshes.count == 1)
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 12)
        // 6 faces × 4 corners, each a distinct (position, normal, UV) tuple: welded to 24, not 36.
        #expect(primitive.vertexCount == 24)
        #expect(primitive.vertices.normals.count == 24)
        #expect(primitive.vertices.texcoords.count == 1)
        #expect(scene.materials.count == 1)
        #expect(primitive.material == 0)
        #expect(scene.materials[0].baseColorFactor == SIMD4(1, 0, 0, 1))
        // Default UnitScaleFactor 1 (centimeters): one conversion root scaling by 0.01.
        let (lo, hi) = worldBounds(scene)
        #expect(close(lo, .zero) && close(hi, SIMD3(repeating: 0.01)), "\(lo) \(hi)")
        #expect(scene.nodes.map(\.name).sorted() == ["CubeModel", "FBX axis and unit conversion", "RootNode"])
    }

    @Test func asciiMatchesBinary() throws {
        let document = cubeDocument(modelProperties: [
            vectorProp("Lcl Translation", (1, 2, 3)),
            prop("Lcl Rotation", "Lcl Rotation", [0.0, 45.0, 0.0])
        ])
        let binary = try read(binaryFBX(document))
        let ascii = try read(Data(asciiFBX(document).utf8))
        #expect(binary.statistics == ascii.statistics)
        #expect(binary.meshes == ascii.meshes)
        #expect(binary.materials == ascii.materials)
        let (lb, hb) = worldBounds(binary)
        let (la, ha) = worldBounds(ascii)
        #expect(close(lb, la) && close(hb, ha))
    }

    @Test func concavePolygonIsEarClipped() throws {
        // An L-shaped hexagon (area 3) and a U-shaped octagon (area 5); a fan from corner 0 would cover area outside.
        let v: [Double] = [
            0, 0, 0, 2, 0, 0, 2, 1, 0, 1, 1, 0, 1, 2, 0, 0, 2, 0,
            10, 0, 0, 13, 0, 0, 13, 2, 0, 12, 2, 0, 12, 1, 0, 11, 1, 0, 11, 2, 0, 10, 2, 0
        ]
        let polygons: [Int32] = [3, 4, 5, 0, 1, ~2, 6, 7, 8, 9, 10, 11, 12, ~13]
        let document = fbxDocument(
            objects: [model(1, "L"), geometry(2, "L", vertices: v, polygons: polygons)],
            connections: [("OO", 1, 0, nil), ("OO", 2, 1, nil)],
            globals: [prop("UnitScaleFactor", "double", [100.0])])
        let scene = try read(binaryFBX(document))
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 4 + 6)
        let p = primitive.vertices.positions
        var areas: [Float] = []
        for t in 0..<primitive.triangleCount {
            let (a, b, c) = (
                p[Int(primitive.indices[3 * t])], p[Int(primitive.indices[3 * t + 1])],
                p[Int(primitive.indices[3 * t + 2])]
            )
            let z = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
            #expect(z > 0, "triangle \(t) is clockwise or degenerate")  // same winding as the polygon
            areas.append(z / 2)
        }
        #expect(Swift.abs(areas.prefix(4).reduce(0, +) - 3) < 1e-5)
        #expect(Swift.abs(areas.dropFirst(4).reduce(0, +) - 5) < 1e-5)
    }

    @Test func largeConcavePolygonIsEarClipped() throws {
        // A comb with 1,500 teeth (6,002 corners): every tooth gap is a concavity a fan would fill.
        let teeth = 1_500
        // Walk the bottom edge left to right, then each tooth back right to left: base y ∈ [-1, 0], teeth up to 10.
        var corners: [SIMD2<Double>] = [SIMD2(0, -1), SIMD2(Double(2 * teeth - 1), -1)]
        for t in (0..<teeth).reversed() {
            let x = Double(2 * t)
            corners += [SIMD2(x + 1, 0), SIMD2(x + 1, 10), SIMD2(x, 10), SIMD2(x, 0)]
        }
        corners.removeLast()  // (0, 0) lies on the edge back to (0, -1)
        let v: [Double] = corners.flatMap { c -> [Double] in [c.x, c.y, 0] }
        let polygon = (0..<Int32(corners.count - 1)).map { $0 } + [~Int32(corners.count - 1)]
        let document = fbxDocument(
            objects: [model(1, "Comb"), geometry(2, "Comb", vertices: v, polygons: polygon)],
            connections: [("OO", 1, 0, nil), ("OO", 2, 1, nil)],
            globals: [prop("UnitScaleFactor", "double", [100.0])])
        let primitive = try #require(try read(binaryFBX(document, compress: true)).meshes.first?.primitives.first)
        #expect(primitive.triangleCount == corners.count - 2)
        let p = primitive.vertices.positions
        var area: Float = 0
        for t in 0..<primitive.triangleCount {
            let (a, b, c) = (
                p[Int(primitive.indices[3 * t])], p[Int(primitive.indices[3 * t + 1])],
                p[Int(primitive.indices[3 * t + 2])]
            )
            let twice: Float = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
            area += twice / 2
        }
        let expected = Float(2 * teeth - 1) + Float(teeth * 10)  // base strip + teeth
        #expect(Swift.abs(area - expected) < 1e-3 * expected, "area \(area), expected \(expected)")
    }

    @Test func transformChainWithPivotsAndPreRotation() throws {
        // T·Roff·Rp·Rpre·R·Rpost⁻¹·Rp⁻¹·Soff·Sp·S·Sp⁻¹ for a known case: rotating 90° about Z around pivot (1,0,0),
        // then translating by (0,0,5); the pre-rotation and post-rotation cancel.
        let document = cubeDocument(
            modelProperties: [
                vectorProp("Lcl Translation", (0, 0, 5)),
                prop("Lcl Rotation", "Lcl Rotation", [0.0, 0.0, 90.0]),
                prop("RotationPivot", "Vector3D", [1.0, 0.0, 0.0]),
                prop("PreRotation", "Vector3D", [30.0, 0.0, 0.0]),
                prop("PostRotation", "Vector3D", [30.0, 0.0, 0.0]),
                prop("ScalingPivot", "Vector3D", [1.0, 0.0, 0.0]),
                prop("Lcl Scaling", "Lcl Scaling", [2.0, 2.0, 2.0])
            ], globals: [prop("UnitScaleFactor", "double", [100.0])])
        let scene = try read(binaryFBX(document))
        // The cube [0,1]³ scaled ×2 around (1,0,0) → [-1,1]×[0,2]×[0,2]; rotated 90° about Z around (1,0,0) → the
        // x range becomes 1 - y ∈ [-1,1], y = x - 1 ∈ [-2,0]; then z + 5.
        // With the pre-rotation (30° about X) and the inverse post-rotation (also 30° about X) around R = Rz:
        // Rx(30)·Rz(90)·Rx(30)⁻¹ ≠ Rz(90), so compute the expected bounds from the chain by hand instead.
        let rx = Matrix4(translation: .zero, rotation: SIMD4(sin(Float.pi / 12), 0, 0, cos(Float.pi / 12)), scale: .one)
        let rxInverse = Matrix4(
            translation: .zero, rotation: SIMD4(-sin(Float.pi / 12), 0, 0, cos(Float.pi / 12)), scale: .one)
        let rz = Matrix4(translation: .zero, rotation: SIMD4(0, 0, sin(Float.pi / 4), cos(Float.pi / 4)), scale: .one)
        func t(_ v: SIMD3<Float>) -> Matrix4 { Matrix4(translation: v, rotation: SIMD4(0, 0, 0, 1), scale: .one) }
        let s = Matrix4(translation: .zero, rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(repeating: 2))
        let pivot = SIMD3<Float>(1, 0, 0)
        let chain = t(SIMD3(0, 0, 5)) * t(pivot) * rx * rz * rxInverse * t(-pivot) * t(pivot) * s * t(-pivot)
        var lo = SIMD3<Float>(repeating: .infinity)
        var hi = SIMD3<Float>(repeating: -.infinity)
        for corner in 0..<8 {
            let p = chain.transformPoint(SIMD3(Float(corner & 1), Float((corner >> 1) & 1), Float(corner >> 2)))
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        let (alo, ahi) = worldBounds(scene)
        #expect(close(alo, lo) && close(ahi, hi), "\(alo) \(ahi) expected \(lo) \(hi)")
    }

    @Test func zUpMetersAndGeometricTransform() throws {
        let document = cubeDocument(
            modelProperties: [
                prop("GeometricTranslation", "Vector3D", [0.0, 0.0, 1.0])
            ],
            globals: [
                prop("UpAxis", "int", [2]), prop("UpAxisSign", "int", [1]),
                prop("FrontAxis", "int", [1]), prop("FrontAxisSign", "int", [-1]),
                prop("CoordAxis", "int", [0]), prop("CoordAxisSign", "int", [1]),
                prop("UnitScaleFactor", "double", [100.0])
            ])
        let scene = try read(binaryFBX(document))
        // File z ∈ [1,2] (geometric offset) becomes glTF y; file y ∈ [0,1] becomes glTF z = -y.
        let (lo, hi) = worldBounds(scene)
        #expect(close(lo, SIMD3(0, 1, -1)) && close(hi, SIMD3(1, 2, 0)), "\(lo) \(hi)")
    }

    @Test func layerMappingsAndMaterialsPerPolygon() throws {
        // Two quads sharing an edge; normals by control point through an index, UVs IndexToDirect by polygon vertex,
        // colors AllSame, materials ByPolygon: two primitives.
        let v: [Double] = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0, 2, 1, 0]
        let polygons: [Int32] = [0, 1, 2, ~3, 1, 4, 5, ~2]
        let materials = WNode(
            "LayerElementMaterial", [0],
            [
                WNode("MappingInformationType", ["ByPolygon"]), WNode("ReferenceInformationType", ["IndexToDirect"]),
                WNode("Materials", [.i32s([0, 1])])
            ])
        let document = fbxDocument(
            objects: [
                model(1, "Quads"),
                geometry(
                    2, "Quads", vertices: v, polygons: polygons,
                    layers: [
                        layer(
                            "LayerElementNormal", "Normals", [0, 0, 1], mapping: "ByVertice",
                            reference: "IndexToDirect",
                            index: ("NormalsIndex", [0, 0, 0, 0, 0, 0])),
                        layer(
                            "LayerElementUV", "UV", [0, 0, 1, 0, 1, 1, 0, 1], mapping: "ByPolygonVertex",
                            reference: "IndexToDirect", index: ("UVIndex", [0, 1, 2, 3, 0, 1, 2, 3])),
                        layer("LayerElementColor", "Colors", [1, 1, 1, 1], mapping: "AllSame"),
                        materials
                    ]),
                material(3, "A", [prop("DiffuseColor", "Color", [0.0, 1.0, 0.0])]),
                material(4, "B", [prop("DiffuseColor", "Color", [0.0, 0.0, 1.0]), prop("Opacity", "double", [0.5])])
            ], connections: [("OO", 1, 0, nil), ("OO", 2, 1, nil), ("OO", 3, 1, nil), ("OO", 4, 1, nil)])
        for data in [binaryFBX(document, compress: true), Data(asciiFBX(document).utf8)] {
            let scene = try read(data)
            let primitives = try #require(scene.meshes.first?.primitives)
            #expect(primitives.count == 2)
            #expect(primitives.map(\.triangleCount) == [2, 2])
            #expect(primitives.map(\.vertexCount) == [4, 4])
            #expect(primitives.allSatisfy { $0.vertices.normals.allSatisfy { $0 == SIMD3(0, 0, 1) } })
            #expect(primitives.allSatisfy { $0.vertices.colors.count == 4 })
            #expect(scene.materials.map(\.alphaMode) == [.opaque, .blend])
            #expect(primitives.map(\.material) == [0, 1])
        }
    }

    @Test func embeddedTexture() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 7, count: 40)
        var document = cubeDocument()
        let objects = 2
        document[objects].children += [
            WNode("Texture", [.i64(40), "Tex\u{0}\u{1}Texture", ""], [WNode("RelativeFilename", ["missing/tex.png"])]),
            WNode("Video", [.i64(50), "Tex\u{0}\u{1}Video", "Clip"], [WNode("Content", [.bytes(png)])])
        ]
        document[objects + 1].children += [
            WNode("C", ["OP", .i64(40), .i64(30), "DiffuseColor"]), WNode("C", ["OO", .i64(50), .i64(40)])
        ]
        for data in [binaryFBX(document), Data(asciiFBX(document).utf8)] {
            let scene = try read(data)
            #expect(scene.images.count == 1)
            #expect(scene.images.first?.data == png)
            #expect(scene.materials.first?.baseColorTexture?.texture == 0)
        }
    }
}

@Suite struct FBXBadInputTests {
    private func expectBadInput(_ data: Data, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try folder.write("bad.fbx", data)
        do {
            _ = try importFBX(from: url, threads: 2)
            Issue.record("should fail", sourceLocation: sourceLocation)
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput, sourceLocation: sourceLocation)
            #expect(error.file == url.path, sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedAndLyingBinary() throws {
        let good = [UInt8](binaryFBX(cubeDocument(), compress: true))
        try expectBadInput(Data(good.prefix(good.count / 2)), "corrupt")
        // A compressed array claiming 2^32-1 elements is refused before anything is allocated.
        var lying = good
        let vertices = try #require(lying.firstRange(of: Array("Vertices".utf8)))
        let count = vertices.upperBound + 1
        lying.replaceSubrange(count..<(count + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        try expectBadInput(Data(lying), "claims")
        try expectBadInput(Data("; FBX 7.4.0\nObjects: {\n Model: 1, \"Model::x\", \"Mesh\" {\n".utf8), "not closed")
    }

    /// A per-corner array that breaks off past the first block (decoded while the blocks before it are welded).
    @Test func perCornerArrayCorruptPastTheFirstBlock() throws {
        var bytes = [UInt8](binaryFBX(Grid(side: 150).document(), compress: true))
        let name = try #require(bytes.firstRange(of: [7] + Array("Normals".utf8) + [UInt8(ascii: "d")]))
        let data = name.upperBound + 12  // count, encoding and length come first
        // Stored deflate blocks of 65,535 bytes behind a 2-byte header: break the length check of the 30th.
        bytes[data + 2 + 29 * 65_540 + 3] ^= 0xFF
        try expectBadInput(Data(bytes), "compressed array of 'Normals' does not inflate")
    }

    @Test func polygonIndexOutOfRange() throws {
        let document = fbxDocument(
            objects: [model(1, "M"), geometry(2, "G", vertices: [0, 0, 0, 1, 0, 0, 0, 1, 0], polygons: [0, 1, ~7])],
            connections: [("OO", 1, 0, nil), ("OO", 2, 1, nil)])
        try expectBadInput(binaryFBX(document), "beyond its 3 vertices")
    }

    /// A camera (looking down the Model's +X), a directional light (down its −Y) and a point light, read natively.
    @Test func camerasAndLights() throws {
        func object(_ kind: String, _ id: Int64, _ name: String, _ subclass: String, _ properties: [WNode]) -> WNode {
            WNode(
                kind, [.i64(id), .string(name + "\u{0}\u{1}" + kind), .string(subclass)],
                [WNode("Properties70", [], properties)])
        }
        var document = cubeDocument()
        document[2].children += [
            object("Model", 40, "Cam", "Camera", [vectorProp("Lcl Translation", (0, 0, 5))]),
            object(
                "NodeAttribute", 50, "CamShape", "Camera",
                [
                    prop("FieldOfView", "double", [60.0]), prop("AspectWidth", "double", [16.0]),
                    prop("AspectHeight", "double", [9.0]), prop("NearPlane", "double", [0.5]),
                    prop("FarPlane", "double", [100.0])
                ]),
            object("Model", 60, "Sun", "Light", [vectorProp("Lcl Rotation", (0, 0, 90))]),
            object(
                "NodeAttribute", 70, "SunShape", "Light",
                [
                    prop("LightType", "enum", [1]), prop("Color", "Color", [1.0, 0.5, 0.25]),
                    prop("Intensity", "Number", [200.0])
                ]),
            object("Model", 80, "Bulb", "Light", []),
            object("NodeAttribute", 90, "BulbShape", "Light", [prop("LightType", "enum", [0])])
        ]
        document[3].children += [(40, 0), (50, 40), (60, 0), (70, 60), (80, 0), (90, 80)].map { c in
            WNode("C", ["OO", .i64(c.0), .i64(c.1)])
        }
        let scene = try read(binaryFBX(document))
        // World rotation of each node (the document has no axis conversion beyond Y-up centimeters).
        var world: [Int: Matrix4] = [:]
        var stack: [(Int, Matrix4)] = scene.roots.map { ($0, .identity) }
        while let (index, parent) = stack.popLast() {
            world[index] = parent * scene.nodes[index].transform.matrix
            stack += scene.nodes[index].children.map { ($0, world[index]!) }
        }
        func forward(_ node: Int) -> SIMD3<Float> {
            let m = world[node]!
            return normalize(SIMD3(m.transformPoint(SIMD3(0, 0, -1)) - m.transformPoint(.zero)))
        }
        func node(_ name: String) throws -> Int { try #require(scene.nodes.firstIndex { $0.name == name }) }

        #expect(scene.cameras.count == 1 && scene.lights.count == 2)
        guard case let .perspective(_, yfov, aspect, znear, zfar) = scene.cameras[0] else {
            Issue.record("not a perspective camera")
            return
        }
        #expect(abs(yfov - 2 * atan(tan(Float.pi / 6) * 9 / 16)) < 1e-5)
        #expect(aspect == 16 / 9 && znear == 0.5 && zfar == 100)
        let camera = try node("Cam.camera")
        let cameraModel = try node("Cam")
        #expect(scene.nodes[camera].camera == 0 && scene.nodes[cameraModel].children == [camera])
        #expect(close(forward(camera), SIMD3(1, 0, 0)))  // FBX cameras look down +X

        let sun = try node("Sun.light")
        let sunLight = scene.lights[try #require(scene.nodes[sun].light)]
        #expect(sunLight.kind == .directional && sunLight.intensity == 2 && sunLight.color == SIMD3(1, 0.5, 0.25))
        #expect(close(forward(sun), SIMD3(1, 0, 0)))  // FBX lights shine down −Y: the Model's 90° Z turn makes it +X
        let bulb = try node("Bulb")
        #expect(scene.nodes[bulb].light.map { scene.lights[$0].kind } == .point)
        #expect(scene.warnings.isEmpty)
    }

    /// Hostile camera and light values still give what glTF allows: 0 < znear < zfar, 0 < yfov < π, finite
    /// positive aspect and magnifications, finite light intensity and color.
    @Test func hostileCameraAndLightValuesStayValid() throws {
        func object(_ kind: String, _ id: Int64, _ subclass: String, _ properties: [WNode]) -> WNode {
            WNode(
                kind, [.i64(id), .string("\(id)\u{0}\u{1}" + kind), .string(subclass)],
                [WNode("Properties70", [], properties)])
        }
        let cameras: [[WNode]] = [
            [prop("NearPlane", "double", [1e-300]), prop("FarPlane", "double", [1e-300])],
            [prop("AspectWidth", "double", [1e300]), prop("AspectHeight", "double", [1e-300])],
            [prop("AspectWidth", "double", [1e-300]), prop("AspectHeight", "double", [1e300])],
            [prop("FieldOfView", "double", [1e300]), prop("NearPlane", "double", [1e300])],
            [prop("CameraProjectionType", "enum", [1]), prop("OrthoZoom", "double", [1e300])]
        ]
        var document = cubeDocument()
        for (n, properties) in cameras.enumerated() {
            let id = Int64(100 + 2 * n)
            document[2].children += [
                object("Model", id, "Camera", []), object("NodeAttribute", id + 1, "Camera", properties)
            ]
            document[3].children += [WNode("C", ["OO", .i64(id), 0]), WNode("C", ["OO", .i64(id + 1), .i64(id)])]
        }
        document[2].children += [
            object("Model", 200, "Light", []),
            object(
                "NodeAttribute", 201, "Light",
                [
                    prop("LightType", "enum", [2]), prop("Color", "Color", [1e300, 1, -5]),
                    prop("Intensity", "Number", [1e300])
                ])
        ]
        document[3].children += [WNode("C", ["OO", 200, 0]), WNode("C", ["OO", 201, 200])]
        let scene = try read(binaryFBX(document))
        #expect(scene.cameras.count == cameras.count)
        for camera in scene.cameras {
            switch camera {
            case let .perspective(_, yfov, aspect, znear, zfar):
                #expect(yfov > 0 && yfov < .pi && znear > 0 && znear.isFinite)
                #expect(aspect.map { $0 > 0 && $0.isFinite } ?? true && zfar.map { $0 > znear && $0.isFinite } ?? true)
            case let .orthographic(_, xmag, ymag, znear, zfar):
                #expect(xmag > 0 && xmag.isFinite && ymag > 0 && ymag.isFinite && znear > 0 && zfar > znear)
                #expect(zfar.isFinite)
            }
        }
        let light = try #require(scene.lights.first)
        #expect(light.intensity.isFinite && light.intensity > 0)
        #expect(light.color.x.isFinite && light.color.y.isFinite && light.color.z.isFinite && light.color.z == 0)
    }

    /// A mesh of several weld blocks (> 65,536 corners; a polygon straddling a block end, a two-corner polygon, a
    /// last polygon without its closing negative index, normal and UV seams, compressed arrays over the 64 KiB
    /// inflate window; normals given per corner and UVs through a per-corner index, both decoded block by block)
    /// reads the same with 1, 2 and 8 threads, and as the sequential reading of the polygons says.
    @Test func largeMeshReadsTheSameAtEveryThreadCount() throws {
        let grid = Grid(side: 150)  // 22,500 quads: 90,000 corners
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try folder.write("grid.fbx", binaryFBX(grid.document(), compress: true))
        let scenes = try [1, 2, 8].map { try importFBX(from: url, threads: $0) }
        #expect(scenes[0] == scenes[1] && scenes[1] == scenes[2])
        let primitive = try #require(scenes[0].meshes.first?.primitives.first)
        #expect(primitive.indices.count == grid.side * grid.side * 6)  // every quad, the unterminated last one too
        #expect(scenes[0].warnings.contains { $0.contains("1 point or line polygon") })
        #expect(!scenes[0].warnings.contains { $0.contains("out of range") })
        // One vertex per (point, normal, UV) that occurs.
        var triples = Set<[Int32]>()
        var k = 2
        for quad in 0..<grid.side * grid.side {
            for corner in 0..<4 {
                let raw = grid.polygons[k + corner]
                triples.insert([raw < 0 ? ~raw : raw, Int32(grid.up(quad)), Int32(corner)])
            }
            k += 4
        }
        #expect(primitive.vertexCount == triples.count && triples.count > 2 * (grid.side + 1) * (grid.side + 1))
        #expect(Set(primitive.vertices.normals) == [SIMD3(0, 0, 1), SIMD3(0, 0, -1)])
        let uvs = Set(primitive.vertices.texcoords.first ?? []).map { [$0.x, $0.y] }.sorted {
            $0.lexicographicallyPrecedes($1)
        }
        #expect(uvs == [[0, 0], [0, 1], [1, 0], [1, 1]])
    }

    /// A polygon of 3,000 corners across the end of the first block (the polygons are read a block at a time, a
    /// block ending where a polygon does) is read whole, in binary and in ASCII.
    @Test func longPolygonAcrossABlockEnd() throws {
        let n = 3_000
        var vertices: [Double] = []
        for i in 0..<n {
            let angle = Double(i) / Double(n) * 2 * .pi
            vertices += [cos(angle), sin(angle), 0]
        }
        var polygons: [Int32] = []
        let triangles = 21_844  // 65,532 corners: the long polygon starts 4 corners before the block's end
        for t in 0..<triangles + 10 {
            if t == triangles { polygons += (0..<Int32(n - 1)) + [~Int32(n - 1)] }
            let a = Int32(t % (n - 2))
            polygons += [a, a + 1, ~(a + 2)]
        }
        let document = fbxDocument(
            objects: [model(1, "Disc"), geometry(2, "Disc", vertices: vertices, polygons: polygons)],
            connections: [("OO", 1, 0, nil), ("OO", 2, 1, nil)])
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let binary = try importFBX(from: folder.write("disc.fbx", binaryFBX(document, compress: true)), threads: 2)
        let ascii = try importFBX(from: folder.write("ascii.fbx", Data(asciiFBX(document).utf8)), threads: 1)
        #expect(binary.meshes == ascii.meshes)
        #expect(binary.meshes.first?.primitives.first?.triangleCount == triangles + 10 + n - 2)
    }

    /// A per-corner array shorter than the corners leaves the last ones without values (zeroed, with a warning);
    /// a longer one is read to its end; both match what the whole-array reading (ASCII) gives.
    @Test func perCornerArraysOfTheWrongLength() throws {
        let grid = Grid(side: 150)
        for (extra, warns) in [(-12, true), (9, false)] {
            let document = grid.document(extraNormals: extra)
            let folder = try TemporaryFolder()
            defer { folder.cleanup() }
            let binary = try importFBX(
                from: folder.write("grid.fbx", binaryFBX(document, compress: true)), threads: 2)
            let ascii = try importFBX(from: folder.write("ascii.fbx", Data(asciiFBX(document).utf8)), threads: 2)
            #expect(binary.meshes == ascii.meshes)
            #expect(binary.warnings.contains { $0.contains("out of range") } == warns)
        }
    }

    @Test func unknownBinaryVersionIsUnsupported() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        #expect(throws: FBXUnsupported.self) {
            try importFBX(from: folder.write("future.fbx", binaryFBX(cubeDocument(), version: 8100)), threads: 2)
        }
    }
}

/// A grid of quads big enough for several weld blocks, with a two-corner polygon first and the last quad left
/// unterminated; normals per corner (up or down by quad), UVs through a per-corner index (one per quad corner).
private struct Grid {
    let side: Int
    var vertices: [Double] = []
    var polygons: [Int32] = [0, ~1]  // a line: dropped

    init(side: Int) {
        self.side = side
        for y in 0...side { for x in 0...side { vertices += [Double(x), Double(y), Double((x * y) % 7) * 0.1] } }
        for y in 0..<side {
            for x in 0..<side {
                let a = Int32(y * (side + 1) + x)
                let corners = [a, a + 1, a + 1 + Int32(side + 1), a + Int32(side + 1)]
                let last = y == side - 1 && x == side - 1
                polygons += corners.dropLast() + [last ? corners[3] : ~corners[3]]
            }
        }
    }

    /// Quad `q`'s normal's z: seams where it changes.
    func up(_ q: Int) -> Int { (q % side + q / side) % 3 == 0 ? -1 : 1 }

    /// The document, its normals array `extraNormals` values longer (or shorter) than the corners need.
    func document(extraNormals: Int = 0) -> [WNode] {
        var normals: [Double] = [0, 0, 1, 0, 0, 1]
        var uvIndex: [Int32] = [0, 0]
        for q in 0..<side * side {
            for corner in 0..<4 {
                normals += [0, 0, Double(up(q))]
                uvIndex.append(Int32(corner))
            }
        }
        normals =
            extraNormals < 0
            ? Array(normals.dropLast(-extraNormals)) : normals + Array(repeating: 0, count: extraNormals)
        return fbxDocument(
            objects: [
                model(10, "Grid"),
                geometry(
                    20, "Grid", vertices: vertices, polygons: polygons,
                    layers: [
                        layer("LayerElementNormal", "Normals", normals, mapping: "ByPolygonVertex"),
                        layer(
                            "LayerElementUV", "UV", [0, 0, 1, 0, 1, 1, 0, 1], mapping: "ByPolygonVertex",
                            reference: "IndexToDirect", index: ("UVIndex", uvIndex))
                    ])
            ], connections: [("OO", 10, 0, nil), ("OO", 20, 10, nil)])
    }
}
