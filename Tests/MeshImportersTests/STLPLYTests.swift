import Foundation
import PLYImporter
import STLImporter
import Scene
import TestSupport
import Testing

private func expectBadInput(_ fragment: String, _ body: () throws -> Scene) {
    do {
        _ = try body()
        Issue.record("expected a bad-input error containing '\(fragment)'")
    } catch let error as ProcessingError {
        #expect(error.kind == .badInput)
        #expect("\(error)".contains(fragment), "\(error)")
        #expect(!"\(error)".contains("\n"))
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

/// A binary STL of `triangles` (corner triples) with the given 80-byte header text and attribute words.
private func binarySTL(
    _ triangles: [[SIMD3<Float>]], header: String = "binary", attributes: [UInt16]? = nil,
    declared: Int? = nil
) -> Data {
    var data = Data(header.utf8.prefix(80))
    data.append(Data(count: 80 - data.count))
    data.append(UInt32(declared ?? triangles.count))
    for (index, triangle) in triangles.enumerated() {
        for _ in 0..<3 { data.append(Float(0)) }
        for corner in triangle {
            data.append(corner.x)
            data.append(corner.y)
            data.append(corner.z)
        }
        data.append(attributes?[index] ?? 0)
    }
    return data
}

private let square: [[SIMD3<Float>]] = [
    [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(1, 1, 0)],
    [SIMD3(0, 0, 0), SIMD3(1, 1, 0), SIMD3(0, 1, 0)]
]

@Suite("STL reader on generated edge cases")
struct STLTests {
    @Test("binary: welded positions, no facet normals; a header starting with 'solid' is still binary")
    func binary() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let scene = try importSTL(from: try folder.write("a.stl", binarySTL(square, header: "solid but binary")))
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 2 && primitive.vertexCount == 4)
        #expect(primitive.vertices.normals.isEmpty && primitive.vertices.colors.isEmpty)
    }

    @Test("binary colors: VisCAM/SolidView (bit 15 set, blue low) and Materialise (COLOR= header, red low)")
    func colors() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let viscam = try importSTL(from: try folder.write("v.stl", binarySTL(square, attributes: [0x8000 | 31, 0])))
        let v = try #require(viscam.meshes.first?.primitives.first?.vertices.colors)
        #expect(v.count == 6)  // the diagonal's corners differ in color now
        #expect(v[0] == SIMD4(0, 0, 1, 1) && v[3] == SIMD4(1, 1, 1, 1))
        var header = "COLOR="
        header += String(decoding: [255, 0, 0, 255], as: UTF8.self)
        var data = binarySTL(square, attributes: [31, 0x8000])
        data.replaceSubrange(0..<6, with: Data("COLOR=".utf8))
        data.replaceSubrange(6..<10, with: Data([255, 0, 0, 255]))
        let magics = try importSTL(from: try folder.write("m.stl", data))
        let m = try #require(magics.meshes.first?.primitives.first?.vertices.colors)
        #expect(m[0] == SIMD4(1, 0, 0, 1))
        #expect(m[3] == SIMD4(1, 0, 0, 1))  // bit 15 set: the header's default color
    }

    @Test(
        "a large binary file welds alike on 1, 2 and 3 threads, colors splitting vertices across chunks",
        arguments: [false, true])
    func largeBinary(scrambled: Bool) throws {
        // A 300 × 300 grid of squares (180,000 facets: several chunks of the weld), the left half blue; scrambled,
        // neighbouring facets are far apart in the file, so few corners weld within a block of facets.
        let side = 300
        var triangles: [[SIMD3<Float>]] = []
        var attributes: [UInt16] = []
        for y in 0..<side {
            for x in 0..<side {
                let (a, b) = (SIMD3<Float>(Float(x), Float(y), 0), SIMD3<Float>(Float(x + 1), Float(y), 0))
                let (c, d) = (SIMD3<Float>(Float(x + 1), Float(y + 1), 0), SIMD3<Float>(Float(x), Float(y + 1), 0))
                triangles += [[a, b, c], [a, c, d]]
                attributes += Array(repeating: x < side / 2 ? 0x8000 | 31 : 0, count: 2)
            }
        }
        if scrambled {
            let order = triangles.indices.map { $0 * 7919 % triangles.count }  // 7919 is prime to 180,000
            (triangles, attributes) = (order.map { triangles[$0] }, order.map { attributes[$0] })
        }
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try folder.write("grid.stl", binarySTL(triangles, attributes: attributes))
        let one = try importSTL(from: url, threads: 1)
        let (two, three) = (try importSTL(from: url, threads: 2), try importSTL(from: url, threads: 3))
        let (sameOnTwo, sameOnThree) = (one == two, one == three)
        #expect(sameOnTwo && sameOnThree)
        let primitive = try #require(one.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 2 * side * side)
        // Every grid point once, the column where the colors meet twice.
        #expect(primitive.vertexCount == (side + 1) * (side + 1) + (side + 1))
        #expect(primitive.vertices.colors.count == primitive.vertexCount)
        // Each facet's corners, through the indices, are the file's.
        let positions = primitive.vertices.positions
        let wrong = triangles.indices.count { t in
            (0..<3).contains { k in
                let index = Int(primitive.indices[3 * t + k])
                return index >= positions.count || positions[index] != triangles[t][k]
            }
        }
        #expect(wrong == 0, "facets read wrong")
        // Vertices are numbered in order of first use, as the serial welder numbers them.
        var seen = 0
        let outOfOrder = primitive.indices.count { index in
            defer { seen = max(seen, Int(index) + 1) }
            return Int(index) > seen
        }
        #expect(outOfOrder == 0)
    }

    @Test("ASCII: several solids become several meshes; polygons in a loop are triangulated")
    func ascii() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let text = """
            solid first
            facet normal 0 0 1
             outer loop
              vertex 0 0 0
              vertex 1 0 0
              vertex 1 1 0
             endloop
            endfacet
            endsolid first
            SOLID second
            FACET NORMAL 0 0 1
             OUTER LOOP
              VERTEX 0 0 1
              VERTEX 2 0 1
              VERTEX 2 2 1
              VERTEX 0 2 1
             ENDLOOP
            ENDFACET
            ENDSOLID second
            solid empty
            endsolid empty
            """
        let scene = try importSTL(from: try folder.write("a.stl", text))
        #expect(scene.meshes.map(\.name) == ["first", "second"])
        #expect(Summary(scene).triangles == 3)
        #expect(abs(Summary(scene).area - 4.5) < 1e-6)
    }

    @Test("lying counts, truncation, NaN and empty files are one-line bad-input errors")
    func bad() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let lying = try folder.write("l.stl", binarySTL(square, declared: 1_000_000_000))
        expectBadInput("truncated") { try importSTL(from: lying) }
        var cut = binarySTL(square)
        cut.removeLast(20)
        let truncated = try folder.write("t.stl", cut)
        expectBadInput("truncated") { try importSTL(from: truncated) }
        let nan = try folder.write("n.stl", binarySTL([[SIMD3(.nan, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]]))
        expectBadInput("NaN") { try importSTL(from: nan) }
        let empty = try folder.write("e.stl", "solid nothing\nendsolid nothing\n")
        expectBadInput("no geometry") { try importSTL(from: empty) }
    }
}

/// A PLY with the given body encoder; `header` lists element and property lines.
private func ply(_ format: String, _ header: [String], _ body: Data) -> Data {
    var data = Data("ply\nformat \(format) 1.0\ncomment generated\n".utf8)
    data.append(header.joined(separator: "\n") + "\nend_header\n")
    data.append(body)
    return data
}

@Suite("PLY reader on generated edge cases")
struct PLYTests {
    /// A concave pentagon and a triangle over six vertices, with every property type, in three encodings.
    @Test("ASCII, binary little- and big-endian read the same; every property type; colors, normals, UVs")
    func encodings() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let header = [
            "element vertex 6", "property double x", "property float y", "property int z",
            "property char nx", "property short ny", "property uint nz", "property uchar red",
            "property uchar green", "property uchar blue", "property ushort quality", "property float s",
            "property float t", "element face 2", "property uchar flags",
            "property list ushort int vertex_indices", "element unknown 2", "property list uint uint8 bytes"
        ]
        let vertices: [(Double, Float, Int32, Int8, Int16, UInt32, UInt8, UInt8, UInt8, UInt16, Float, Float)] = [
            (0, 0, 0, 0, 0, 1, 255, 0, 0, 7, 0, 0), (4, 0, 0, 0, 0, 1, 0, 255, 0, 7, 1, 0),
            (4, 4, 0, 0, 0, 1, 0, 0, 255, 7, 1, 1), (2, 1, 0, 0, 0, 1, 255, 255, 255, 7, 0.5, 0.25),
            (0, 4, 0, 0, 0, 1, 0, 0, 0, 7, 0, 1), (9, 9, 9, 0, 0, 1, 0, 0, 0, 7, 0, 0)
        ]
        let faces: [[Int32]] = [[0, 1, 2, 3, 4], [1, 2, 5]]
        var ascii = Data()
        for v in vertices {
            ascii.append("\(v.0) \(v.1) \(v.2) \(v.3) \(v.4) \(v.5) \(v.6) \(v.7) \(v.8) \(v.9) \(v.10) \(v.11)\n")
        }
        for f in faces { ascii.append("0 \(f.count) " + f.map(String.init).joined(separator: " ") + "\n") }
        ascii.append("2 1 2\n0\n")
        func binary(_ big: Bool) -> Data {
            var d = Data()
            for v in vertices {
                d.append(v.0, bigEndian: big)
                d.append(v.1, bigEndian: big)
                d.append(v.2, bigEndian: big)
                d.append(v.3, bigEndian: big)
                d.append(v.4, bigEndian: big)
                d.append(v.5, bigEndian: big)
                d.append(v.6)
                d.append(v.7)
                d.append(v.8)
                d.append(v.9, bigEndian: big)
                d.append(v.10, bigEndian: big)
                d.append(v.11, bigEndian: big)
            }
            for f in faces {
                d.append(UInt8(0))
                d.append(UInt16(f.count), bigEndian: big)
                for i in f { d.append(i, bigEndian: big) }
            }
            d.append(UInt32(2), bigEndian: big)
            d.append(UInt8(1))
            d.append(UInt8(2))
            d.append(UInt32(0), bigEndian: big)
            return d
        }
        let a = try importPLY(from: try folder.write("a.ply", ply("ascii", header, ascii)))
        let le = try importPLY(from: try folder.write("le.ply", ply("binary_little_endian", header, binary(false))))
        let be = try importPLY(from: try folder.write("be.ply", ply("binary_big_endian", header, binary(true))))
        #expect(a.meshes[0].primitives == le.meshes[0].primitives)
        #expect(a.meshes[0].primitives == be.meshes[0].primitives)
        let primitive = try #require(a.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 4)
        // The concave pentagon (area 10; a fan from corner 0 would fold) plus the triangle (area √1696 / 2).
        #expect(abs(Summary(a).area - (10 + 1696.0.squareRoot() / 2)) < 1e-4, "\(Summary(a).area)")
        let origin = try #require(primitive.vertices.positions.firstIndex(of: .zero))
        let notch = try #require(primitive.vertices.positions.firstIndex(of: SIMD3(2, 1, 0)))
        #expect(primitive.vertices.colors[origin] == SIMD4(1, 0, 0, 1))
        #expect(primitive.vertices.normals[origin] == SIMD3(0, 0, 1))
        #expect(primitive.vertices.texcoords.first?[notch] == SIMD2(0.5, 0.75))
    }

    @Test("binary faces that hold only their index list read the same as ASCII; a cut list keeps whole faces")
    func binaryIndexLists() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let header = [
            "element vertex 5", "property float x", "property float y", "property float z",
            "element face 3", "property list uchar uint vertex_indices"
        ]
        let points: [SIMD3<Float>] = [[0, 0, 0], [4, 0, 0], [4, 4, 0], [2, 1, 0], [0, 4, 0]]
        let faces: [[UInt32]] = [[0, 1, 3], [1, 2, 3], [2, 4, 0, 3]]
        var ascii = Data()
        for p in points { ascii.append("\(p.x) \(p.y) \(p.z)\n") }
        for f in faces { ascii.append("\(f.count) " + f.map(String.init).joined(separator: " ") + "\n") }
        func binary(_ big: Bool, cut: Int = 0) -> Data {
            var d = Data()
            for p in points {
                d.append(p.x, bigEndian: big)
                d.append(p.y, bigEndian: big)
                d.append(p.z, bigEndian: big)
            }
            for f in faces {
                d.append(UInt8(f.count))
                for i in f { d.append(i, bigEndian: big) }
            }
            return d.dropLast(cut)
        }
        let a = try importPLY(from: try folder.write("a.ply", ply("ascii", header, ascii)))
        let le = try importPLY(from: try folder.write("le.ply", ply("binary_little_endian", header, binary(false))))
        let be = try importPLY(from: try folder.write("be.ply", ply("binary_big_endian", header, binary(true))))
        #expect(a.meshes[0].primitives == le.meshes[0].primitives)
        #expect(a.meshes[0].primitives == be.meshes[0].primitives)
        #expect(Summary(le).triangles == 4)
        #expect(abs(Summary(le).area - 16) < 1e-5, "\(Summary(le).area)")
        let cut = try importPLY(
            from: try folder.write("c.ply", ply("binary_little_endian", header, binary(false, cut: 5))))
        #expect(Summary(cut).triangles == 2)
        #expect(cut.warnings.contains { $0.contains("2 of the 3") })
        var badIndex = binary(false)
        badIndex.replaceSubrange((badIndex.count - 4)..<badIndex.count, with: Data([9, 0, 0, 0]))
        expectBadInput("vertex 9") {
            try importPLY(from: try folder.write("i.ply", ply("binary_little_endian", header, badIndex)))
        }
    }

    @Test("triangle strips restart at -1 and alternate their winding")
    func strips() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var text = ""
        for i in 0..<8 { text += "\(i % 4) \(i / 4) 0\n" }
        text += "9 4 0 5 1 -1 6 2 7 3\n"
        let url = try folder.write(
            "s.ply",
            ply(
                "ascii",
                [
                    "element vertex 8", "property float x", "property float y",
                    "property float z", "element tristrips 1",
                    "property list int int vertex_indices"
                ], Data(text.utf8)))
        let scene = try importPLY(from: url)
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == 4)
        let p = primitive.vertices.positions
        for t in 0..<4 {
            let a = p[Int(primitive.indices[t * 3])]
            let b = p[Int(primitive.indices[t * 3 + 1])]
            let c = p[Int(primitive.indices[t * 3 + 2])]
            let z = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
            #expect(z > 0, "strip triangle \(t) is not counter-clockwise")
        }
        #expect(abs(Summary(scene).area - 2) < 1e-6)
    }

    @Test("vertices without faces are a point cloud")
    func pointCloud() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let url = try folder.write(
            "p.ply",
            ply(
                "ascii",
                [
                    "element vertex 3", "property float x", "property float y",
                    "property float z", "element face 0",
                    "property list uchar int vertex_indices"
                ],
                Data("0 0 0\n1 0 0\n0 1 0\n".utf8)))
        let primitive = try #require(try importPLY(from: url).meshes.first?.primitives.first)
        #expect(primitive.mode == .points && primitive.indices.count == 3)
    }

    @Test("lying headers, truncated data, bad indices and NaN are one-line bad-input errors, quickly")
    func bad() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let xyz = ["property float x", "property float y", "property float z"]
        let lying = try folder.write(
            "l.ply", ply("binary_little_endian", ["element vertex 2000000000"] + xyz, Data(count: 36)))
        expectBadInput("2000000000") { try importPLY(from: lying) }
        var listData = Data(count: 36)
        listData.append(UInt32(0xFFFF_FFF0))
        let lyingList = try folder.write(
            "ll.ply",
            ply(
                "binary_little_endian",
                ["element vertex 3"] + xyz
                    + ["element face 1", "property list uint int vertex_indices"], listData))
        expectBadInput("list") { try importPLY(from: lyingList) }
        let cut = try folder.write("c.ply", ply("binary_big_endian", ["element vertex 3"] + xyz, Data(count: 30)))
        expectBadInput("truncated") { try importPLY(from: cut) }
        let noEnd = try folder.write("h.ply", Data("ply\nformat ascii 1.0\nelement vertex 3\n".utf8))
        expectBadInput("end_header") { try importPLY(from: noEnd) }
        let index = try folder.write(
            "i.ply",
            ply(
                "ascii",
                ["element vertex 3"] + xyz
                    + ["element face 1", "property list uchar int vertex_indices"],
                Data("0 0 0\n1 0 0\n0 1 0\n4 0 1 2 3\n".utf8)))
        expectBadInput("vertex 3") { try importPLY(from: index) }
        let nan = try folder.write(
            "n.ply",
            ply(
                "ascii",
                ["element vertex 3"] + xyz
                    + ["element face 1", "property list uchar int vertex_indices"],
                Data("nan 0 0\n1 0 0\n0 1 0\n3 0 1 2\n".utf8)))
        expectBadInput("NaN") { try importPLY(from: nan) }
        // Faces cut short keep the complete ones, with a warning.
        let partial = try folder.write(
            "f.ply",
            ply(
                "ascii",
                ["element vertex 4"] + xyz
                    + ["element face 3", "property list uchar int vertex_indices"],
                Data("0 0 0\n1 0 0\n0 1 0\n1 1 0\n3 0 1 2\n3 1 3 2\n3 0".utf8)))
        let scene = try importPLY(from: partial)
        #expect(Summary(scene).triangles == 2)
        #expect(scene.warnings.contains { $0.contains("2 of the 3") })
    }
}
