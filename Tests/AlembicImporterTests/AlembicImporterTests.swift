import Foundation
import Scene
import Testing

@testable import AlembicImporter

/// Cube corners: vertex i is at (±1, ±1, ±1) with x from bit 0, y from bit 1, z from bit 2.
private let cubePoints: [Float] = (0..<8).flatMap { (i: Int) -> [Float] in
    [1, 2, 4].map { (bit: Int) -> Float in i & bit == 0 ? -1 : 1 }
}
/// Faces counter-clockwise seen from outside, with their outward normals.
private let cubeFacesCCW: [([Int32], [Float])] = [
    ([0, 2, 3, 1], [0, 0, -1]), ([4, 5, 7, 6], [0, 0, 1]), ([0, 4, 6, 2], [-1, 0, 0]),
    ([1, 3, 7, 5], [1, 0, 0]), ([0, 1, 5, 4], [0, -1, 0]), ([2, 6, 7, 3], [0, 1, 0])
]

private func writeTemp(_ bytes: [UInt8], _ name: String = "test.abc") throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alembic-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

private let xformSchema = "schema=AbcGeom_Xform_v3;schemaObjTitle=AbcGeom_Xform_v3:.xform"
private let meshSchema =
    "schema=AbcGeom_PolyMesh_v1;schemaBaseType=AbcGeom_GeomBase_v1;schemaObjTitle=AbcGeom_PolyMesh_v1:.geom"

/// An Xform with the given ops (type << 4) and one `.vals` sample per entry of `vals`.
private func xform(
    _ name: String, ops: [UInt8], vals: [[Double]], inherits: Bool = true,
    children: [TestObject] = []
) -> TestObject {
    TestObject(
        name: name, metadata: xformSchema,
        properties: [
            .compound(
                ".xform",
                [
                    .scalar(".inherits", .bool, extent: 1, samples: [[inherits ? 1 : 0]]),
                    .scalar(".ops", .uint8, extent: ops.count, samples: [ops]),
                    .scalar(".vals", .float64, extent: vals[0].count, samples: vals.map { bytes($0) })
                ], metadata: xformSchema)
        ], children: children)
}

/// The cube as Alembic writes it: faces clockwise seen from outside, face-varying normals, indexed UVs
/// (each face maps its corners to (0,0), (1,0), (1,1), (0,1) in CCW order).
private func cubeMesh(_ name: String = "cubeShape") -> TestObject {
    let facesCW = cubeFacesCCW.map { (Array($0.0.reversed()), $0.1) }
    let uvIndicesCW: [UInt32] = Array(repeating: [3, 2, 1, 0] as [UInt32], count: 6).flatMap { $0 }
    return TestObject(
        name: name, metadata: meshSchema,
        properties: [
            .compound(
                ".geom",
                [
                    .array(
                        "P", .float32, extent: 3, samples: [bytes(cubePoints)],
                        metadata: "geoScope=vtx;interpretation=point"),
                    .array(".faceIndices", .int32, extent: 1, samples: [bytes(facesCW.flatMap(\.0))]),
                    .array(".faceCounts", .int32, extent: 1, samples: [bytes([Int32](repeating: 4, count: 6))]),
                    .array(
                        "N", .float32, extent: 3,
                        samples: [bytes(facesCW.flatMap { face in (0..<4).flatMap { _ in face.1 } })],
                        metadata: "geoScope=fvr;interpretation=normal;isGeomParam=true"),
                    .compound(
                        "uv",
                        [
                            .array(".vals", .float32, extent: 2, samples: [bytes([0, 0, 1, 0, 1, 1, 0, 1] as [Float])]),
                            .array(".indices", .uint32, extent: 1, samples: [bytes(uvIndicesCW)])
                        ], metadata: "geoScope=fvr;interpretation=vector;isGeomParam=true;podExtent=2")
                ], metadata: meshSchema)
        ])
}

private func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

private func dot(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (a * b).sum() }

@Test func cubeInTranslatedRotatedScaledXform() throws {
    var writer = AlembicWriter()
    // translate (1,2,3), rotateY 90°, scale 2: the first op is outermost.
    let file = writer.archive(top: [
        xform(
            "cube", ops: [0x10, 0x50, 0x00], vals: [[1, 2, 3, 90, 2, 2, 2]],
            children: [cubeMesh()])
    ])
    let scene = try importAlembic(from: writeTemp(file))

    #expect(scene.nodes.map(\.name) == ["cube", "cubeShape"])
    #expect(scene.roots == [0])
    #expect(scene.nodes[0].children == [1])
    #expect(scene.nodes[1].mesh == 0)
    let m = scene.nodes[0].transform.matrix
    // (1,0,0) → scale (2,0,0) → rotateY 90° (0,0,-2) → translate (1,2,1).
    let p = m.transformPoint(SIMD3(1, 0, 0))
    #expect(abs(p.x - 1) < 1e-5 && abs(p.y - 2) < 1e-5 && abs(p.z - 1) < 1e-5)

    let primitive = try #require(scene.meshes.first?.primitives.first)
    #expect(primitive.triangleCount == 12)
    #expect(primitive.vertexCount == 24)  // 8 corners × 3 faces each, split by normal
    #expect(primitive.vertices.normals.count == 24)
    #expect(primitive.vertices.texcoords.count == 1)
    let positions = primitive.vertices.positions
    #expect(positions.map(\.x).min() == -1 && positions.map(\.y).max() == 1)
    for t in 0..<primitive.triangleCount {
        let i = primitive.indices[3 * t..<3 * t + 3].map { Int($0) }
        let (a, b, c) = (positions[i[0]], positions[i[1]], positions[i[2]])
        let faceNormal = cross(b - a, c - a)
        // glTF winding: counter-clockwise seen from outside, so the geometric normal points away from the center…
        #expect(dot(faceNormal, (a + b + c) / 3) > 0)
        // …and agrees with the normals stored in the file.
        #expect(dot(faceNormal, primitive.vertices.normals[i[0]]) > 0)
    }
    // The -Z face maps its CCW corners 0,2,3,1 to UVs (0,0),(1,0),(1,1),(0,1); glTF flips v.
    let zFaceCorner = try #require(
        positions.indices.first(where: {
            positions[$0] == SIMD3(-1, -1, -1) && primitive.vertices.normals[$0] == SIMD3(0, 0, -1)
        }))
    #expect(primitive.vertices.texcoords[0][zFaceCorner] == SIMD2(0, 1))
}

@Test func sampleIndexSelectsAndClampsAnimatedValues() throws {
    var writer = AlembicWriter()
    let file = writer.archive(top: [xform("moving", ops: [0x10], vals: [[0, 0, 0], [5, 0, 0], [7, 0, 0]])])
    let url = try writeTemp(file)
    var options = AlembicOptions()
    #expect(try importAlembic(from: url, options: options).nodes[0].transform.isIdentity)
    options.sampleIndex = 1
    #expect(try importAlembic(from: url, options: options).nodes[0].transform.matrix[0, 3] == 5)
    options.sampleIndex = 99
    #expect(try importAlembic(from: url, options: options).nodes[0].transform.matrix[0, 3] == 7)
}

@Test func nonInheritingXformIsMadeRelativeToItsParent() throws {
    var writer = AlembicWriter()
    let child = xform("world", ops: [0x10], vals: [[0, 1, 0]], inherits: false)
    let file = writer.archive(top: [xform("parent", ops: [0x10, 0x40], vals: [[10, 0, 0, 90]], children: [child])])
    let scene = try importAlembic(from: writeTemp(file))
    let world = scene.nodes[0].transform.matrix * scene.nodes[1].transform.matrix
    let origin = world.transformPoint(.zero)
    #expect(abs(origin.x) < 1e-5 && abs(origin.y - 1) < 1e-5 && abs(origin.z) < 1e-5)
}

@Test func vertexAndUniformScopesExpandPerCorner() throws {
    // A quad (two triangles) with per-point UVs and one uniform normal (4 UVs would also fit face-varying).
    let points: [Float] = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0]
    let mesh = TestObject(
        name: "quad", metadata: meshSchema,
        properties: [
            .compound(
                ".geom",
                [
                    .array("P", .float32, extent: 3, samples: [bytes(points)]),
                    .array(".faceIndices", .int32, extent: 1, samples: [bytes([3, 2, 1, 0] as [Int32])]),
                    .array(".faceCounts", .int32, extent: 1, samples: [bytes([4] as [Int32])]),
                    .array("N", .float32, extent: 3, samples: [bytes([0, 0, 2] as [Float])], metadata: "geoScope=uni"),
                    .array(
                        "uv", .float32, extent: 2, samples: [bytes([0, 0, 1, 0, 1, 1, 0, 1] as [Float])],
                        metadata: "geoScope=vtx")
                ])
        ])
    var writer = AlembicWriter()
    let scene = try importAlembic(from: writeTemp(writer.archive(top: [mesh])))
    let primitive = try #require(scene.meshes.first?.primitives.first)
    #expect(primitive.vertexCount == 4)
    #expect(primitive.triangleCount == 2)
    #expect(primitive.vertices.normals.allSatisfy { $0 == SIMD3(0, 0, 1) })  // normalized
    for (p, uv) in zip(primitive.vertices.positions, primitive.vertices.texcoords[0]) {
        #expect(uv == SIMD2(p.x, 1 - p.y))
    }
    #expect(scene.warnings.isEmpty)
}

@Test func recognizesAndRejectsHDF5() throws {
    let hdf5: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
    #expect(isAlembic(hdf5))
    #expect(isAlembic(Array("Ogawa".utf8) + [0xFF, 0, 1]))
    #expect(!isAlembic(Array("glTF".utf8)))
    #expect(!isAlembic([]))
    let error = try #require(throws: ProcessingError.self) { try importAlembic(from: writeTemp(hdf5)) }
    #expect(error.kind == .badInput)
    #expect(error.message.contains("unsupported: HDF5-based Alembic"))
}

@Test func rejectsNonAlembicAndMissingFiles() throws {
    let error = try #require(throws: ProcessingError.self) {
        try importAlembic(from: writeTemp(Array("solid cube\nendsolid\n".utf8)))
    }
    #expect(error.kind == .badInput)
    let missing = try #require(throws: ProcessingError.self) {
        try importAlembic(from: URL(fileURLWithPath: "/nonexistent/x.abc"))
    }
    #expect(missing.kind == .io)
    #expect(missing.description.hasPrefix("/nonexistent/x.abc: "))
}

@Test func cyclicHierarchyFailsCleanly() throws {
    // An object whose only child is itself.
    var ogawa = OgawaWriter()
    let headers = ogawa.data(le(UInt32(4)) + Array("loop".utf8) + [0] + [UInt8](repeating: 0, count: 32))
    let loop = ogawa.nextOffset
    _ = ogawa.group([0, loop, headers])
    let root = ogawa.group([
        ogawa.data(bytes([Int32(1)])), ogawa.data(bytes([Int32(10709)])), loop,
        ogawa.data([]), ogawa.data([]), ogawa.data([])
    ])
    let error = try #require(throws: ProcessingError.self) {
        try importAlembic(from: writeTemp(ogawa.finished(root: root)))
    }
    #expect(error.kind == .badInput)
    #expect(error.message.contains("deeper than"))
}

@Test func sharedObjectGroupsBecomeOneSharedMesh() throws {
    // 5000 children that all point at one stored mesh object: one mesh, many nodes, no repeated work.
    var writer = AlembicWriter()
    let shared = writer.object(cubeMesh())
    var headers: [UInt8] = []
    for i in 0..<5000 {
        let name = Array("c\(i)".utf8)
        headers += le(UInt32(name.count)) + name + [0xFF] + le(UInt32(meshSchema.utf8.count)) + Array(meshSchema.utf8)
    }
    headers += [UInt8](repeating: 0, count: 32)
    let top = writer.ogawa.group(
        [writer.compound([])] + Array(repeating: shared, count: 5000) + [writer.ogawa.data(headers)])
    let scene = try importAlembic(from: writeTemp(writer.archive(topGroup: top)))
    #expect(scene.nodes.count == 5000)
    #expect(scene.meshes.count == 1)
    #expect(scene.nodes.allSatisfy { $0.mesh == 0 })
}

@Test func corruptAndTruncatedCopiesNeverCrash() throws {
    var writer = AlembicWriter()
    let file = writer.archive(top: [
        xform(
            "cube", ops: [0x10, 0x20, 0x30], vals: [[1, 2, 3, 0, 1, 0, 45] + identity4],
            children: [cubeMesh()])
    ])
    #expect(try importAlembic(from: writeTemp(file)).meshes.count == 1)
    let dir = try writeTemp([]).deletingLastPathComponent()
    let url = dir.appendingPathComponent("mutant.abc")
    func check(_ bytes: [UInt8]) throws {
        try Data(bytes).write(to: url)
        do {
            let scene = try importAlembic(from: url)
            for primitive in scene.meshes.flatMap(\.primitives) {
                #expect(primitive.indices.allSatisfy { Int($0) < primitive.vertexCount })
            }
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput || error.kind == .resourceLimit)
            #expect(!error.message.isEmpty)
        }
    }
    for length in stride(from: 0, to: file.count, by: 7) { try check(Array(file.prefix(length))) }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(truncatingIfNeeded: state >> 33)
    }
    for _ in 0..<1500 {
        var mutant = file
        for _ in 0..<(1 + next() % 4) {
            let at = 16 + next() % (mutant.count - 16)
            mutant[at] = next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: next())
        }
        try check(mutant)
    }
}
