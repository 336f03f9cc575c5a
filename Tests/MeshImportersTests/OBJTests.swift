import Foundation
import OBJImporter
import Scene
import TestSupport
import Testing

@Suite("OBJ reader on generated edge cases")
struct OBJTests {
    func read(_ text: String, threads: Int = 2, extra: [String: String] = [:]) throws -> Scene {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        for (name, content) in extra { try folder.write(name, content) }
        return try importOBJ(from: try folder.write("model.obj", text), threads: threads)
    }

    func expectBadInput(_ text: String, _ fragment: String) throws {
        do {
            _ = try read(text)
            Issue.record("expected a bad-input error containing '\(fragment)'")
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput)
            #expect("\(error)".contains(fragment), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test("a concave polygon is ear-clipped on its plane: n − 2 triangles, its exact area, its winding")
    func concavePolygon() throws {
        // A comb (concave, 12 corners) in a tilted plane, counter-clockwise seen from +normal.
        let outline: [SIMD2<Float>] = [
            (0, 0), (5, 0), (5, 3), (4, 3), (4, 1), (3, 1), (3, 3), (2, 3), (2, 1), (1, 1),
            (1, 3), (0, 3)
        ].map { SIMD2($0.0, $0.1) }
        // Shoelace area of the outline.
        var area: Float = 0
        for i in outline.indices {
            let a = outline[i]
            let b = outline[(i + 1) % outline.count]
            area += a.x * b.y - b.x * a.y
        }
        area /= 2
        let u = SIMD3<Float>(1, 0, 1) / Float(2).squareRoot()
        let v = SIMD3<Float>(0, 1, 0)
        let normal = SIMD3<Float>(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
        var text = ""
        for p in outline {
            let q = u * p.x + v * p.y + SIMD3(2, 3, 4)
            text += "v \(q.x) \(q.y) \(q.z)\n"
        }
        text += "f " + (1...outline.count).map(String.init).joined(separator: " ") + "\n"
        let scene = try read(text)
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == outline.count - 2)
        let summary = Summary(scene)
        #expect(abs(summary.area - Double(area)) < 1e-4, "area \(summary.area), polygon \(area)")
        let p = primitive.vertices.positions
        for t in stride(from: 0, to: primitive.indices.count, by: 3) {
            let a = p[Int(primitive.indices[t])]
            let b = p[Int(primitive.indices[t + 1])]
            let c = p[Int(primitive.indices[t + 2])]
            let x = b - a
            let y = c - a
            let n = SIMD3(x.y * y.z - x.z * y.y, x.z * y.x - x.x * y.z, x.x * y.y - x.y * y.x)
            #expect((n * normal).sum() > 0, "triangle \(t / 3) is flipped or folded")
        }
    }

    @Test("a concave quad takes the diagonal that keeps it inside")
    func concaveQuad() throws {
        let scene = try read("v 0 0 0\nv 2 1 0\nv 4 0 0\nv 2 4 0\nf 1 2 3 4\n")
        #expect(abs(Summary(scene).area - 6) < 1e-6)  // a fan from corner 0 would give 8 with a fold
    }

    @Test("a convex face is fanned from corner 0, as other tools do, even when it is not planar")
    func convexFan() throws {
        // A regular hexagon with one corner lifted: the fan from corner 0 is the surface Assimp, Blender, trimesh
        // and gltfpack make of it.
        var text = ""
        for k in 0..<6 {
            let angle = Double(k) / 6 * 2 * .pi
            text += "v \(cos(angle)) \(sin(angle)) \(k == 3 ? 0.5 : 0)\n"
        }
        let scene = try read(text + "f 1 2 3 4 5 6\n")
        let primitive = try #require(scene.meshes.first?.primitives.first)
        let p = primitive.vertices.positions
        let triangles = stride(from: 0, to: primitive.indices.count, by: 3).map { t in
            Set([p[Int(primitive.indices[t])], p[Int(primitive.indices[t + 1])], p[Int(primitive.indices[t + 2])]])
        }
        let corner = { (k: Int) -> SIMD3<Float> in
            let angle = Double(k) / 6 * 2 * .pi
            return SIMD3(Float(cos(angle)), Float(sin(angle)), k == 3 ? 0.5 : 0)
        }
        #expect(Set(triangles) == Set((1..<5).map { Set([corner(0), corner($0), corner($0 + 1)]) }))
        // A pentagram (every corner turns alike, but it winds twice) is not fanned.
        var star = ""
        for k in 0..<5 {
            let angle = Double(k * 2 % 5) / 5 * 2 * .pi
            star += "v \(cos(angle)) \(sin(angle)) 0\n"
        }
        let stars = try read(star + "f 1 2 3 4 5\n")
        let corners = try #require(stars.meshes.first?.primitives.first).indices
        #expect(corners.count == 9 && Array(corners.prefix(6)) != [0, 1, 2, 0, 2, 3])
        // A square with a fifth corner raised above one side (corpus trimesh polygonfaces.obj): its projection
        // folds back along that side, and it is fanned from corner 0 like Assimp, trimesh and gltfpack do.
        let folded = try read(
            "v -1 0 1\nv 1 0 1\nv 1 0 -1\nv -1 0 -1\nv 0 1 -1\nf 1 2 3 4 5\n")
        let fold = try #require(folded.meshes.first?.primitives.first)
        let q = fold.vertices.positions
        let foldTriangles = stride(from: 0, to: fold.indices.count, by: 3).map { t in
            Set((t..<t + 3).map { q[Int(fold.indices[$0])] })
        }
        let v: [SIMD3<Float>] = [SIMD3(-1, 0, 1), SIMD3(1, 0, 1), SIMD3(1, 0, -1), SIMD3(-1, 0, -1), SIMD3(0, 1, -1)]
        #expect(Set(foldTriangles) == Set((1..<4).map { Set([v[0], v[$0], v[$0 + 1]]) }))
    }

    @Test("negative indices read like their positive equivalents; 0 and past-the-end are errors")
    func negativeIndices() throws {
        let positive = try read("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\nv 1 1 0\nf 2 4 3\n")
        let negative = try read(
            "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf -3/-3 -2/-2 -1/-1\nv 1 1 0\nf -3 -1 -2\n")
        #expect(positive == negative)
        try expectBadInput("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "index 0")
        try expectBadInput("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "index 4")
        try expectBadInput("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -4 1 2\n", "index -4")
    }

    @Test("faces, lines and points go to separate primitives per material, welded per index triple")
    func mixedElements() throws {
        let mtl = "newmtl red\nKd 1 0 0\nnewmtl blue\nKd 0 0 1\n"
        let text = """
            mtllib m.mtl
            v 0 0 0
            v 1 0 0
            v 1 1 0
            v 0 1 0
            vn 0 0 1
            usemtl red
            f 1//1 2//1 3//1 4//1
            l 1 2 3
            p 1 3
            f 1 2
            usemtl blue
            f 1//1 2//1 3//1
            o second
            usemtl red
            f 3//1 4//1 1//1
            """
        let scene = try read(text, extra: ["m.mtl": mtl])
        let primitives = try #require(scene.meshes.first?.primitives)
        #expect(primitives.map(\.mode) == [.triangles, .lines, .points, .triangles])
        #expect(primitives.map { $0.indices.count } == [9, 6, 2, 3])
        #expect(primitives[0].vertexCount == 4)  // the quad and the last triangle share their corners
        #expect(scene.materials.map(\.name) == ["red", "blue"])
        #expect(primitives.map(\.material) == [0, 0, 0, 1])
        #expect(primitives[0].vertices.normals.count == 4)
    }

    @Test("texture-coordinate and normal indices that follow the position index, then do not, read as written")
    func indicesFollowingPositions() throws {
        let vertices =
            "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
            + "vn 0 0 1\nvn 0 1 0\nvn 1 0 0\nvn 0 0 -1\n"
        func primitive(_ faces: String) throws -> Primitive {
            try #require(try read(vertices + faces).meshes.first?.primitives.first)
        }
        // Following, then a corner whose normal is another: position 1 makes two vertices.
        let diverging = try primitive("f 1/1/1 2/2/2 3/3/3\nf 1/1/2 3/3/3 4/4/4\n")
        #expect(diverging.vertexCount == 5)
        let atOrigin = diverging.vertices.positions.indices.filter { diverging.vertices.positions[$0] == .zero }
        #expect(Set(atOrigin.map { diverging.vertices.normals[$0] }) == [SIMD3(0, 0, 1), SIMD3(0, 1, 0)])
        #expect(diverging.vertices.texcoords.first?.count == 5)
        // No normals first, then following: the first corners have none, so the primitive keeps none.
        let late = try primitive("f 1/1 2/2 3/3\nf 1/1/1 3/3/3 4/4/4\n")
        #expect(late.vertices.normals.isEmpty)
        #expect(late.vertexCount == 6)
        // Following throughout: each corner has the normal of its position's number.
        let following = try primitive("f 1//1 2//2 3//3\nf 1//1 3//3 4//4\n")
        #expect(following.vertexCount == 4)
        for v in 0..<4 {
            let expected: [SIMD3<Float>: SIMD3<Float>] = [
                SIMD3(0, 0, 0): SIMD3(0, 0, 1), SIMD3(1, 0, 0): SIMD3(0, 1, 0), SIMD3(1, 1, 0): SIMD3(1, 0, 0),
                SIMD3(0, 1, 0): SIMD3(0, 0, -1)
            ]
            #expect(following.vertices.normals[v] == expected[following.vertices.positions[v]])
        }
        // Following, then a corner without a normal: normals are dropped, vertices still split by index triple.
        let stopping = try primitive("f 1//1 2//2 3//3\nf 1 3 4\n")
        #expect(stopping.vertices.normals.isEmpty)
        #expect(stopping.vertexCount == 6)
    }

    @Test("vertex colors are linearized; vertices without color are white")
    func vertexColors() throws {
        let scene = try read("v 0 0 0 1 0 0\nv 1 0 0 0.5 0.5 0.5\nv 0 1 0\nf 1 2 3\n")
        let colors = try #require(scene.meshes.first?.primitives.first?.vertices.colors)
        #expect(colors[0] == SIMD4(1, 0, 0, 1))
        #expect(abs(colors[1].x - 0.214) < 0.001)
        #expect(colors[2] == SIMD4(1, 1, 1, 1))
    }

    @Test("NaN or infinite positions a face uses are bad input; unused ones are ignored")
    func nonFinite() throws {
        try expectBadInput("v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN")
        try expectBadInput("v inf 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN")
        let scene = try read("v 0 0 0\nv 1 0 0\nv 0 1 0\nv -inf 0 0\nf 1 2 3\n")
        #expect(Summary(scene).triangles == 1)
    }

    @Test("malformed statements and empty files are one-line bad-input errors")
    func malformed() throws {
        try expectBadInput("v 0 0\nf 1 1 1\n", "three numbers")
        try expectBadInput("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 x 3\n", "malformed face")
        try expectBadInput("# only a comment\n", "no geometry")
    }

    @Test("the result does not depend on the thread count, across many pieces")
    func threadIndependence() throws {
        // About 3 MiB: several 1 MiB pieces, negative indices across piece borders, materials switching.
        var text = "mtllib m.mtl\n"
        var count = 0
        for row in 0..<300 {
            for column in 0..<300 {
                text += "v \(column) \(row) \(Float(column * row) * 0.001)\n"
                count += 1
                if row > 0, column > 0 {
                    if column % 97 == 0 { text += "usemtl \(row % 2 == 0 ? "a" : "b")\n" }
                    text += "f -1 -2 -\(302) -301\n"
                }
            }
        }
        let mtl = "newmtl a\nKd 1 0 0\nnewmtl b\nKd 0 1 0\n"
        let one = try read(text, threads: 1, extra: ["m.mtl": mtl])
        let two = try read(text, threads: 2, extra: ["m.mtl": mtl])
        let four = try read(text, threads: 4, extra: ["m.mtl": mtl])
        #expect(one == two)
        #expect(one == four)
        #expect(Summary(one).triangles == 299 * 299 * 2)
    }

    @Test("large triangle, line and point primitives welded on several workers equal the serial weld")
    func parallelWeld() throws {
        // A 200 × 200 grid: every triangle's corners carry a texture coordinate (a seam at column 100, where one
        // position has two) and a normal; then chained lines and points, each primitive over 32,768 elements.
        let side = 200
        var text = ""
        text.reserveCapacity(4 << 20)
        for row in 0..<side {
            for column in 0..<side {
                text += "v \(column) \(row) \((column * row) % 7)\nvt \(Float(column) / 200) \(Float(row) / 200)\n"
            }
        }
        text += "vt 0.9 0.9\nvn 0 0 1\nvn 0 1 0\n"
        let seamTexcoord = side * side + 1
        func corner(_ row: Int, _ column: Int, left: Bool) -> String {
            let v = row * side + column + 1
            let t = column == side / 2 && !left ? seamTexcoord : v
            return "\(v)/\(t)/\(1 + (row + column) % 2)"
        }
        for row in 0..<side - 1 {
            for column in 0..<side - 1 {
                let left = column < side / 2
                let (a, b) = (corner(row, column, left: left), corner(row, column + 1, left: left))
                let (c, d) = (corner(row + 1, column + 1, left: left), corner(row + 1, column, left: left))
                text += "f \(a) \(b) \(c)\nf \(a) \(c) \(d)\n"
            }
        }
        for i in 0..<33_000 { text += "l \(i % 39_000 + 1) \((i * 7) % 39_000 + 2) \((i * 13) % 39_000 + 3)\n" }
        for i in 0..<33_000 { text += "p \((i * 31) % (side * side) + 1)\n" }
        // Quads and triangles under a second material, one element per cell (39,601): the polygon path (indices
        // expanded in element order).
        text += "usemtl second\n"
        for row in 0..<side - 1 {
            for column in 0..<side - 1 {
                let (a, b) = (corner(row, column, left: true), corner(row, column + 1, left: true))
                let (c, d) = (corner(row + 1, column + 1, left: true), corner(row + 1, column, left: true))
                text += column % 2 == 0 ? "f \(a) \(b) \(c) \(d)\n" : "f \(a) \(b) \(c)\n"
            }
        }
        let mtl = ["m.mtl": "newmtl second\nKd 1 0 0\n"]
        text = "mtllib m.mtl\n" + text
        let one = try read(text, threads: 1, extra: mtl)
        let (two, three) = (try read(text, threads: 2, extra: mtl), try read(text, threads: 3, extra: mtl))
        let (sameOnTwo, sameOnThree) = (two == one, three == one)
        #expect(sameOnTwo)
        #expect(sameOnThree)
        let primitives = try #require(one.meshes.first?.primitives)
        #expect(primitives.map(\.mode) == [.triangles, .lines, .points, .triangles])
        let quads = (side - 1) * (side / 2)
        #expect(primitives[3].indices.count == quads * 6 + ((side - 1) * (side - 1) - quads) * 3)
        #expect(primitives[0].triangleCount == 2 * (side - 1) * (side - 1))
        #expect(primitives[0].vertices.texcoords.count == 1 && primitives[0].vertices.normals.count > 0)
        // Each position once per normal it takes, and the seam's positions once more.
        #expect(primitives[0].vertexCount > side * side)
        #expect(primitives[1].indices.count == 33_000 * 4)
    }

    @Test("a 200,000-corner polygon and 100,000 objects read completely")
    func largeStatements() throws {
        // A convex circle and a concave star, each one face.
        let n = 200_000
        var text = ""
        text.reserveCapacity(n * 60)
        for i in 0..<n {
            let angle = Double(i) / Double(n) * 2 * .pi
            text += "v \(cos(angle)) \(sin(angle)) 0\n"
        }
        text += "f " + (1...n).map(String.init).joined(separator: " ") + "\n"
        let star = 2_000
        for i in 0..<star {
            let angle = Double(i) / Double(star) * 2 * .pi
            let radius = i % 2 == 0 ? 1.0 : 0.5
            text += "v \(radius * cos(angle) + 3) \(radius * sin(angle)) 0\n"
        }
        text += "f " + ((n + 1)...(n + star)).map(String.init).joined(separator: " ") + "\n"
        let scene = try read(text)
        let primitive = try #require(scene.meshes.first?.primitives.first)
        #expect(primitive.triangleCount == n - 2 + star - 2)
        // Circle area ≈ π, star area = star/2 kites of sides 1 and 0.5.
        let starArea = Double(star) / 2 * 2 * 0.5 * 1 * 0.5 * sin(2 * .pi / Double(star))
        #expect(abs(Summary(scene).area - (.pi + starArea)) < 1e-3, "\(Summary(scene).area)")

        var objects = ""
        for i in 0..<100_000 {
            objects += "o part\(i)\nv \(i) 0 0\nv \(i) 1 0\nv \(i) 0 1\nf -3 -2 -1\n"
        }
        let many = try read(objects)
        #expect(Summary(many).triangles == 100_000)
        #expect(many.meshes.count == 1 && many.nodes.count == 1)
    }

    @Test("MTL: colors, opacity, shininess, PBR extension, texture options, Windows paths and case mismatches")
    func materials() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // A 1×1 PNG.
        let png = Data([
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0,
            0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 13, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C,
            0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0, 5, 0, 1, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0, 0, 0, 0, 0x49,
            0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82
        ])
        try folder.write("Textures/Color.PNG", png)
        try folder.write("normal.png", png)
        try folder.write("rough.png", png)
        try folder.write(
            "m.mtl",
            """
            newmtl plastic
            Kd 0.5 0.5 0.5
            Ns 98
            d 0.5
            map_Kd -s 2 3 -o 0.5 0.25 -clamp on .\\textures\\color.png
            map_Bump -bm 0.3 normal.png
            newmtl pbr
            Kd 0 0 0
            Tr 0.25
            Pr 0.4
            Pm 0.9
            Ke 1 0.5 0
            map_Kd C:\\Users\\someone\\NORMAL.png
            map_Pr rough.png
            illum 0
            newmtl escape
            map_Kd ../../etc/passwd
            """)
        let url = try folder.write(
            "model.obj",
            """
            mtllib m.mtl
            v 0 0 0
            v 1 0 0
            v 0 1 0
            vt 0 0
            vt 1 0
            vt 0 1
            usemtl plastic
            f 1/1 2/2 3/3
            usemtl pbr
            f 1/1 2/2 3/3
            usemtl escape
            f 1/1 2/2 3/3
            """)
        let scene = try importOBJ(from: url, threads: 2)
        #expect(scene.materials.map(\.name) == ["plastic", "pbr", "escape"])
        let plastic = scene.materials[0]
        let pbr = scene.materials[1]
        #expect(abs(plastic.baseColorFactor.x - 0.214) < 0.001 && plastic.baseColorFactor.w == 0.5)
        #expect(plastic.alphaMode == .blend)
        #expect(abs(plastic.roughnessFactor - 0.1414) < 0.001 && plastic.metallicFactor == 0)
        #expect(plastic.baseColorTexture != nil && plastic.normalTexture != nil && plastic.normalScale == 0.3)
        let sampler = try #require(scene.textures[plastic.baseColorTexture!.texture].sampler)
        #expect(scene.samplers[sampler].wrapS == Sampler.clampToEdge)
        #expect(pbr.baseColorFactor == SIMD4(1, 1, 1, 0.75))  // black Kd with a texture is white
        #expect(pbr.roughnessFactor == 0.4 && pbr.metallicFactor == 0.9 && pbr.metallicRoughnessTexture != nil)
        #expect(pbr.emissiveFactor.x == 1 && pbr.unlit)
        #expect(scene.materials[2].baseColorTexture == nil)
        #expect(scene.warnings.contains { $0.contains("etc/passwd") })
        #expect(scene.images.count == 1)  // the three files hold the same bytes: one image
        // -s 2 3 -o 0.5 0.25 on the base color is baked into the plastic primitive's UVs (v flipped for glTF).
        let uv = try #require(scene.meshes[0].primitives[0].vertices.texcoords.first)
        #expect(uv[1] == SIMD2(2.5, 0.75) && uv[2] == SIMD2(0.5, -2.25))
    }
}
