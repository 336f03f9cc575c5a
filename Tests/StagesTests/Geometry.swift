import Foundation
import Scene
import Stages

/// Test meshes generated in code.
enum Geometry {
    /// A unit cube with 4 vertices per face (24), optionally with per-face normals.
    static func cube(normals: Bool) -> Primitive {
        let faces: [(n: SIMD3<Float>, u: SIMD3<Float>, v: SIMD3<Float>)] = [
            (SIMD3(1, 0, 0), SIMD3(0, 0, -1), SIMD3(0, 1, 0)), (SIMD3(-1, 0, 0), SIMD3(0, 0, 1), SIMD3(0, 1, 0)),
            (SIMD3(0, 1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, -1)), (SIMD3(0, -1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, 1)),
            (SIMD3(0, 0, 1), SIMD3(1, 0, 0), SIMD3(0, 1, 0)), (SIMD3(0, 0, -1), SIMD3(-1, 0, 0), SIMD3(0, 1, 0))
        ]
        var p = Primitive()
        for f in faces {
            let base = UInt32(p.vertices.positions.count)
            for (a, b) in [(-1, -1), (1, -1), (1, 1), (-1, 1)] as [(Float, Float)] {
                p.vertices.positions.append((f.n + a * f.u + b * f.v) * 0.5)
                if normals { p.vertices.normals.append(f.n) }
            }
            p.indices += [base, base + 1, base + 2, base, base + 2, base + 3]
        }
        return p
    }

    /// A latitude/longitude sphere with a UV seam at u = 0/1 (duplicated column) and split pole vertices;
    /// watertight by position. Triangles: 2 × segments × (rings − 1).
    static func uvSphere(rings: Int, segments: Int, radius: Float = 1, center: SIMD3<Float> = .zero) -> Primitive {
        var p = Primitive()
        p.vertices.texcoords = [[]]
        for i in 0...rings {
            let theta = Double.pi * Double(i) / Double(rings)
            for j in 0...segments {
                let phi = 2 * Double.pi * Double(j % segments) / Double(segments)
                var n = SIMD3<Float>(Float(sin(theta) * cos(phi)), Float(cos(theta)), Float(sin(theta) * sin(phi)))
                if i == 0 { n = SIMD3(0, 1, 0) }
                if i == rings { n = SIMD3(0, -1, 0) }
                p.vertices.positions.append(center + n * radius)
                p.vertices.normals.append(n)
                p.vertices.texcoords[0].append(SIMD2(Float(j) / Float(segments), Float(i) / Float(rings)))
            }
        }
        let row = UInt32(segments + 1)
        for i in 0..<UInt32(rings) {
            for j in 0..<UInt32(segments) {
                let a = i * row + j
                let b = (i + 1) * row + j
                let c = (i + 1) * row + j + 1
                let d = i * row + j + 1
                if i != 0 { p.indices += [a, c, d] }
                if i != UInt32(rings) - 1 { p.indices += [a, b, c] }
            }
        }
        return p
    }

    /// A scene with one node per mesh (or `instances` nodes for a mesh), all roots, translated apart.
    static func scene(_ meshes: [Mesh], instances: [Int]? = nil) -> Scene {
        var scene = Scene()
        scene.meshes = meshes
        for (m, count) in (instances ?? meshes.map { _ in 1 }).enumerated() {
            for k in 0..<count {
                var node = Node(name: "node\(m).\(k)")
                node.mesh = m
                node.transform = .trs(
                    translation: SIMD3(Float(scene.nodes.count) * 30, 0, 0),
                    rotation: SIMD4(0, 0, 0, 1), scale: .one)
                scene.roots.append(scene.nodes.count)
                scene.nodes.append(node)
            }
        }
        return scene
    }

    static func mesh(_ name: String, _ primitives: [Primitive]) -> Mesh {
        var mesh = Mesh(name: name)
        mesh.primitives = primitives
        return mesh
    }

    /// Positions and triangles of an OBJ file (`v` and `f` lines, polygons fanned), for corpus tests.
    static func loadOBJ(_ path: String) throws -> Primitive {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var p = Primitive()
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard let tag = fields.first else { continue }
            if tag == "v", fields.count >= 4 {
                p.vertices.positions.append(SIMD3(Float(fields[1])!, Float(fields[2])!, Float(fields[3])!))
            } else if tag == "f", fields.count >= 4 {
                let corners = fields.dropFirst().map { field -> UInt32 in
                    let index = Int(field.split(separator: "/", omittingEmptySubsequences: false)[0])!
                    return UInt32(index > 0 ? index - 1 : p.vertices.positions.count + index)
                }
                for k in 1..<corners.count - 1 { p.indices += [corners[0], corners[k], corners[k + 1]] }
            }
        }
        return p
    }
}

/// Checks used by several tests.
enum Check {
    /// Every index is in range and every non-empty stream has one element per vertex.
    static func isValid(_ p: Primitive) -> Bool {
        let n = p.vertexCount
        let v = p.vertices
        let streams =
            [v.normals.count, v.tangents.count, v.colors.count, v.joints.count, v.weights.count]
            + v.texcoords.map(\.count) + p.targets.flatMap { [$0.positions.count, $0.normals.count, $0.tangents.count] }
        return p.indices.allSatisfy { Int($0) < n } && streams.allSatisfy { $0 == 0 || $0 == n }
    }

    /// Directed position edges that have no opposite edge: 0 means the surface is closed (no tears).
    static func openEdges(_ prims: [Primitive]) -> Int {
        var ids: [SIMD3<Float>: Int] = [:]
        var balance: [SIMD2<Int>: Int] = [:]
        for p in prims {
            let id = p.vertices.positions.map { pos in
                let key = pos + SIMD3<Float>(repeating: 0)  // -0 → +0
                if let existing = ids[key] { return existing }
                ids[key] = ids.count
                return ids.count - 1
            }
            for t in stride(from: 0, to: p.indices.count, by: 3) {
                for k in 0..<3 {
                    let a = id[Int(p.indices[t + k])]
                    let b = id[Int(p.indices[t + (k + 1) % 3])]
                    balance[SIMD2(min(a, b), max(a, b)), default: 0] += a < b ? 1 : -1
                }
            }
        }
        return balance.values.reduce(0) { $0 + abs($1) }
    }

    /// A hashable snapshot of one vertex across all streams.
    static func vertexKeys(_ p: Primitive) -> [String] {
        let v = p.vertices
        return (0..<p.vertexCount).map { i in
            var parts = ["\(v.positions[i])"]
            if !v.normals.isEmpty { parts.append("\(v.normals[i])") }
            for uv in v.texcoords { parts.append("\(uv[i])") }
            if !v.joints.isEmpty { parts.append("\(v.joints[i])\(v.weights[i])") }
            for t in p.targets { parts.append("\(t.positions[i])") }
            return parts.joined(separator: "|")
        }
    }
}

/// `primitive` welded (nil when `weld` leaves it as it was).
func weldedCopy(_ primitive: Primitive, options: WeldOptions = WeldOptions(), threads: Int = 1) -> Primitive? {
    var primitive = primitive
    return weld(&primitive, options: options, threads: threads) ? primitive : nil
}

/// `primitive` reordered by `optimizeOrder`.
func orderedCopy(_ primitive: Primitive, options: OrderOptions = OrderOptions(), threads: Int = 1) -> Primitive {
    var primitive = primitive
    optimizeOrder(&primitive, options: options, threads: threads)
    return primitive
}
