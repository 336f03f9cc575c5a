import Foundation
import Scene
import TestSupport
import Testing

/// Paths shared by the mesh importer tests.
enum Paths {
    static let repo = TestPaths.repo
    static let shared = repo.deletingLastPathComponent().appendingPathComponent("shared")
    /// `<repo>/../shared/corpus`, nil when absent.
    static let corpus = TestPaths.corpus

    static let optimize = TestPaths.optimize
}

extension CorpusRow {
    /// The corpus's OBJ/STL/PLY rows.
    static let meshRows = all.filter { ["obj", "stl", "ply"].contains($0.format) }
    var triangles: Int? { int("triangles") }
    var assimp: String { cells["assimp_5_2_5", default: ""] }
    /// Tagged broken, or one of the fuzzer's mutants (`fuzz__…`).
    var brokenOrMutant: Bool { broken || path.contains("fuzz__") }
}

/// Little helpers for building binary files.
extension Data {
    mutating func append<T: FixedWidthInteger>(_ value: T, bigEndian: Bool = false) {
        var v = bigEndian ? value.bigEndian : value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    mutating func append(_ value: Float, bigEndian: Bool = false) { append(value.bitPattern, bigEndian: bigEndian) }
    mutating func append(_ value: Double, bigEndian: Bool = false) { append(value.bitPattern, bigEndian: bigEndian) }
    mutating func append(_ text: String) { append(contentsOf: Array(text.utf8)) }
}

/// Geometry summaries used to compare two reads of the same model.
struct Summary: Equatable, CustomStringConvertible {
    var triangles = 0
    var lines = 0
    var points = 0
    var minimum = SIMD3<Float>(repeating: .infinity)
    var maximum = SIMD3<Float>(repeating: -.infinity)
    /// Total area of the triangles.
    var area: Double = 0

    init(_ scene: Scene) {
        var worlds = [Matrix4](repeating: .identity, count: scene.nodes.count)
        var stack = scene.roots.map { ($0, Matrix4.identity) }
        while let (node, parent) = stack.popLast() {
            worlds[node] = parent * scene.nodes[node].transform.matrix
            stack += scene.nodes[node].children.map { ($0, worlds[node]) }
        }
        for (index, node) in scene.nodes.enumerated() {
            guard let mesh = node.mesh else { continue }
            for primitive in scene.meshes[mesh].primitives {
                let p = primitive.vertices.positions.map { worlds[index].transformPoint($0) }
                switch primitive.mode {
                case .triangles:
                    triangles += primitive.indices.count / 3
                    for t in stride(from: 0, to: primitive.indices.count - 2, by: 3) {
                        let a = SIMD3<Double>(p[Int(primitive.indices[t])])
                        let b = SIMD3<Double>(p[Int(primitive.indices[t + 1])])
                        let c = SIMD3<Double>(p[Int(primitive.indices[t + 2])])
                        let u = b - a
                        let v = c - a
                        let n = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
                        area += (n * n).sum().squareRoot() / 2
                    }
                case .lines: lines += primitive.indices.count / 2
                case .points: points += primitive.indices.count
                }
                for i in primitive.indices {
                    minimum = pointwiseMin(minimum, p[Int(i)])
                    maximum = pointwiseMax(maximum, p[Int(i)])
                }
            }
        }
    }

    var diagonal: Float {
        let d = maximum - minimum
        return (d * d).sum().squareRoot()
    }

    var description: String {
        "triangles \(triangles), lines \(lines), points \(points), bounds \(minimum)…\(maximum), area \(area)"
    }
}
