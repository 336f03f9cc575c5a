import Foundation
import Scene
import TestSupport
import Testing

@testable import Draco

/// The bridge on real fixtures: encode, decode with our own decoder, compare with the input.
@Suite struct EncoderRoundTripTests {
    @Test(arguments: ["obj/spider/spider.obj", "fbx/huesitos.fbx", "glb/BoxTextured.glb"])
    func sequentialEncodingKeepsOrderAndValues(_ file: String) throws {
        let primitives = try fixturePrimitives(file)
        #expect(!primitives.isEmpty)
        for p in primitives {
            let input = attributes(of: p)
            let encoded = try encodeDracoMesh(
                indices: p.indices, vertexCount: p.vertexCount, attributes: input,
                compressionLevel: 0)
            #expect(encoded.attributeIDs == Array(0..<input.count))
            #expect(encoded.bytes.count < p.vertexCount * 12 + p.indices.count * 4)
            let decoded = try decodeDracoMesh(encoded.bytes)
            // Level 0 is Draco's sequential coder: vertex order and triangles survive unchanged.
            #expect(decoded.vertexCount == p.vertexCount)
            #expect(encoded.vertexCount == p.vertexCount && encoded.triangleCount == p.triangleCount)
            #expect(decoded.indices == p.indices)
            for (attribute, id) in zip(input, encoded.attributeIDs) {
                let got = try #require(decoded.attributes[id])
                #expect(got.components == attribute.components)
                try expectClose(got.values, attribute)
            }
        }
    }

    @Test(arguments: ["obj/spider/spider.obj", "fbx/huesitos.fbx"])
    func edgebreakerEncodingKeepsGeometry(_ file: String) throws {
        for p in try fixturePrimitives(file) {
            let encoded = try encodeDracoMesh(
                indices: p.indices, vertexCount: p.vertexCount,
                attributes: [.positions(p.vertices.positions, bits: 14)], compressionLevel: 7)
            let decoded = try decodeDracoMesh(encoded.bytes)
            #expect(decoded.vertexCount == encoded.vertexCount)
            #expect(decoded.indices.count == encoded.triangleCount * 3)
            #expect(decoded.indices.allSatisfy { Int($0) < decoded.vertexCount })
            // Only degenerate triangles may go; vertices may be split at non-manifold spots, never lost.
            #expect(encoded.triangleCount <= p.triangleCount)
            #expect(encoded.triangleCount >= p.triangleCount - degenerateCount(p))
            let flat = p.vertices.positions.flatMap { [$0.x, $0.y, $0.z] }
            let step = quantizationStep(flat, components: 3, bits: 14)
            let grid = PointGrid(p.vertices.positions, cell: step)
            let positions = try #require(decoded.attributes[encoded.attributeIDs[0]]).values.vectors3()
            let worst = positions.map { grid.distance(to: $0) ?? .infinity }.max() ?? 0
            #expect(worst <= step, "\(file): a decoded vertex is \(worst) from every input vertex (step \(step))")
        }
    }

    @Test func encodingIsDeterministicAndLevelsTradeSize() throws {
        let p = try #require(try fixturePrimitives("obj/spider/spider.obj").max { $0.vertexCount < $1.vertexCount })
        let input = attributes(of: p)
        func encode(_ level: Int) throws -> DracoEncodedMesh {
            try encodeDracoMesh(
                indices: p.indices, vertexCount: p.vertexCount, attributes: input, compressionLevel: level)
        }
        #expect(try encode(7) == encode(7))
        #expect(try encode(10).bytes.count < encode(0).bytes.count)
        let coarse = try encodeDracoMesh(
            indices: p.indices, vertexCount: p.vertexCount,
            attributes: [.positions(p.vertices.positions, bits: 8)], compressionLevel: 7)
        let fine = try encodeDracoMesh(
            indices: p.indices, vertexCount: p.vertexCount,
            attributes: [.positions(p.vertices.positions, bits: 16)], compressionLevel: 7)
        #expect(coarse.bytes.count < fine.bytes.count)
    }

    @Test func wideJointsStayExact() throws {
        let positions: [SIMD3<Float>] = [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]
        let joints: [SIMD4<UInt16>] = [SIMD4(0, 300, 65_535, 7), SIMD4(1, 2, 3, 4), SIMD4(999, 0, 0, 0)]
        let encoded = try encodeDracoMesh(
            indices: [0, 1, 2], vertexCount: 3,
            attributes: [.positions(positions, bits: 14), .joints(joints)], compressionLevel: 0)
        let decoded = try decodeDracoMesh(encoded.bytes)
        #expect(
            decoded.attributes[encoded.attributeIDs[1]]?.values == joints.flatMap { j in (0..<4).map { Float(j[$0]) } })
    }

    /// Every decoded value within one quantization step of the input (exact for integers and unquantized floats).
    func expectClose(_ values: [Float], _ attribute: DracoAttribute) throws {
        switch attribute.values {
        case .uint8(let v): #expect(values == v.map(Float.init))
        case .uint16(let v): #expect(values == v.map(Float.init))
        case .float(let v):
            try #require(values.count == v.count)
            // Draco codes normals octahedrally: error up to about 2 steps of the [-1, 1] square per axis.
            let step =
                attribute.semantic == .normal
                ? 4 / Float((1 << attribute.quantizationBits) - 1)
                : attribute.quantizationBits == 0
                    ? 0
                    : quantizationStep(v, components: attribute.components, bits: attribute.quantizationBits)
            let worst = zip(values, v).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= step * 1.0001 + 1e-6, "\(attribute.semantic): error \(worst) exceeds step \(step)")
        }
    }

    func degenerateCount(_ p: Primitive) -> Int {
        stride(from: 0, to: p.indices.count, by: 3).filter { i in
            let (a, b, c) = (p.indices[i], p.indices[i + 1], p.indices[i + 2])
            return a == b || b == c || a == c
        }.count
    }
}

/// The C API must reject hostile input with an error, never crash.
@Suite struct HostileInputTests {
    let triangle: [SIMD3<Float>] = [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(0, 1, 0)]

    func rejects(
        _ indices: [UInt32], _ vertexCount: Int, _ attributes: [DracoAttribute], level: Int = 7,
        mentioning text: String
    ) {
        do {
            _ = try encodeDracoMesh(
                indices: indices, vertexCount: vertexCount, attributes: attributes, compressionLevel: level)
            Issue.record("encoding succeeded; expected an error mentioning \(text)")
        } catch {
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains(text), "message: \(error.message)")
        }
    }

    @Test func badMeshesAreRefused() {
        rejects([], 0, [.positions([], bits: 14)], mentioning: "vertex count 0")
        rejects([0, 1], 3, [.positions(triangle, bits: 14)], mentioning: "multiple of 3")
        rejects([], 3, [.positions(triangle, bits: 14)], mentioning: "multiple of 3")
        rejects([0, 1, 3], 3, [.positions(triangle, bits: 14)], mentioning: "index 3 is out of range")
        rejects([0, 1, 2], 3, [.positions(triangle, bits: 31)], mentioning: "quantization bits 31")
        rejects([0, 1, 2], 3, [.texCoords([.zero, .zero, .zero], bits: 12)], mentioning: "no position")
        rejects([0, 1, 2], 3, [.positions(triangle, bits: 14)], level: 11, mentioning: "compression level 11")
        rejects([0, 1, 2], 4, [.positions(triangle, bits: 14)], mentioning: "9 values for 4 vertices")
        rejects(
            [0, 1, 2], 3,
            [
                DracoAttribute(
                    semantic: .normal, components: 2, values: .float(Array(repeating: 0, count: 6)),
                    quantizationBits: 10), .positions(triangle, bits: 14)
            ],
            mentioning: "normal must be 3 floats")
    }

    @Test func nonFiniteValuesAreRefused() {
        for bad in [Float.nan, .infinity, -.infinity] {
            var positions = triangle
            positions[1].y = bad
            rejects([0, 1, 2], 3, [.positions(positions, bits: 14)], mentioning: "value 4 is not finite")
            rejects(
                [0, 1, 2], 3, [.positions(triangle, bits: 14), .texCoords([.zero, SIMD2(bad, 0), .zero], bits: 0)],
                mentioning: "value 2 is not finite")
        }
    }

    @Test func degenerateButValidMeshesEncode() throws {
        // All vertices equal (zero quantization range) and a triangle using one vertex three times.
        let same = [SIMD3<Float>](repeating: SIMD3(2, 2, 2), count: 3)
        let encoded = try encodeDracoMesh(
            indices: [0, 0, 0, 0, 1, 2], vertexCount: 3,
            attributes: [.positions(same, bits: 14)], compressionLevel: 7)
        let decoded = try decodeDracoMesh(encoded.bytes)
        #expect(decoded.indices.count == encoded.triangleCount * 3)
        #expect(decoded.attributes[0]?.values.allSatisfy { $0 == 2 } == true)
    }

    @Test func garbageIsNotAMesh() throws {
        #expect(throws: DracoError.self) { try decodeDracoMesh([]) }
        #expect(throws: DracoError.self) { try decodeDracoMesh(Array("DRACO not really".utf8)) }
        let encoded = try encodeDracoMesh(
            indices: [0, 1, 2], vertexCount: 3, attributes: [.positions(triangle, bits: 14)],
            compressionLevel: 7)
        for cut in [1, 5, encoded.bytes.count / 2, encoded.bytes.count - 1] {
            #expect(throws: DracoError.self) { try decodeDracoMesh(Array(encoded.bytes.prefix(cut))) }
        }
        // Flipping bytes must never crash the decoder (it may or may not notice).
        for i in 0..<encoded.bytes.count {
            var corrupt = encoded.bytes
            corrupt[i] ^= 0xA5
            _ = try? decodeDracoMesh(corrupt)
        }
    }
}

/// DracoPy (Google's decoder through an independent binding) reads what we encode.
@Suite(
    .enabled(if: Paths.python != nil || Paths.toolsRequired, "needs <repo>/.venv with DracoPy (Tests/Scripts/setup.sh)")
)
struct DracoPyTests {
    @Test(arguments: ["obj/spider/spider.obj", "fbx/huesitos.fbx"])
    func dracoPyDecodesOurMeshes(_ file: String) throws {
        let python = try #require(Paths.python, "no venv python")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let primitives = try fixturePrimitives(file)
        var encodings: [(Primitive, [DracoAttribute], DracoEncodedMesh, DracoDecodedMesh)] = []
        var paths: [String] = []
        for (i, p) in primitives.enumerated() {
            let input = attributes(of: p)
            let encoded = try encodeDracoMesh(
                indices: p.indices, vertexCount: p.vertexCount, attributes: input,
                compressionLevel: 7)
            let url = dir.appendingPathComponent("\(i).drc")
            try Data(encoded.bytes).write(to: url)
            paths.append(url.path)
            encodings.append((p, input, encoded, try decodeDracoMesh(encoded.bytes)))
        }
        let result = try run(python, [Paths.here.appendingPathComponent("dracopy_decode.py").path] + paths)
        try #require(result.status == 0, "dracopy_decode.py failed: \(result.summary)")
        struct Output: Decodable {
            struct Mesh: Decodable {
                struct Attribute: Decodable {
                    var type: Int
                    var components: Int
                    var values: [Float]
                }
                var points: Int
                var faces: [UInt32]
                var attributes: [String: Attribute]
            }
            var meshes: [Mesh]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        try #require(output.meshes.count == encodings.count)
        for (mesh, (p, input, encoded, ours)) in zip(output.meshes, encodings) {
            #expect(mesh.points == encoded.vertexCount)
            #expect(mesh.faces.count == encoded.triangleCount * 3)
            #expect(mesh.faces == ours.indices)
            #expect(mesh.attributes.count == input.count)
            for (attribute, id) in zip(input, encoded.attributeIDs) {
                let theirs = try #require(mesh.attributes[String(id)])
                #expect(theirs.components == attribute.components)
                // Both decoders dequantize the same integers; allow float rounding between implementations.
                let mine = try #require(ours.attributes[id]).values
                let worst = zip(theirs.values, mine).map { abs($0 - $1) }.max() ?? 0
                #expect(theirs.values.count == mine.count && worst <= 1e-4, "attribute \(id): differs by \(worst)")
            }
            // And positions land on input vertices within one quantization step.
            let flat = p.vertices.positions.flatMap { [$0.x, $0.y, $0.z] }
            let step = quantizationStep(flat, components: 3, bits: 14)
            let grid = PointGrid(p.vertices.positions, cell: step)
            let positions = try #require(mesh.attributes[String(encoded.attributeIDs[0])]).values.vectors3()
            #expect(positions.allSatisfy { grid.distance(to: $0) != nil })
        }
    }
}
