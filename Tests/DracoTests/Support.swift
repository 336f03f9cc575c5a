import Draco
import Foundation
import Importers
import Scene
import TestSupport
import Testing

enum Paths {
    static let repo = TestPaths.repo
    static let fixtures = TestPaths.fixtures
    static let here = repo.appendingPathComponent("Tests/DracoTests")

    static let toolsRequired = TestPaths.toolsRequired

    static let python = TestPaths.testPython

    static let assimp = TestPaths.which("assimp")
}

func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("draco-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Every triangle primitive with indices of a fixture, imported through Assimp.
func fixturePrimitives(_ file: String) throws -> [Primitive] {
    let scene = try importScene(from: Paths.fixtures.appendingPathComponent(file))
    return scene.meshes.flatMap(\.primitives).filter { $0.mode == .triangles && !$0.indices.isEmpty }
}

/// Largest quantization step of a float stream: its widest per-component range over 2^bits - 1.
func quantizationStep(_ values: [Float], components: Int, bits: Int) -> Float {
    var range: Float = 0
    for c in 0..<components {
        let column = stride(from: c, to: values.count, by: components).map { values[$0] }
        range = max(range, (column.max() ?? 0) - (column.min() ?? 0))
    }
    return range / Float((1 << bits) - 1)
}

/// Nearest-point lookup on a uniform grid, for matching decoded vertices (which Draco reorders) to the input.
struct PointGrid {
    let cell: Float
    var buckets: [SIMD3<Int32>: [SIMD3<Float>]] = [:]

    init(_ points: [SIMD3<Float>], cell: Float) {
        self.cell = max(cell, 1e-12)
        for p in points { buckets[key(p), default: []].append(p) }
    }

    func key(_ p: SIMD3<Float>) -> SIMD3<Int32> {
        SIMD3(
            Int32((p.x / cell).rounded(.down)), Int32((p.y / cell).rounded(.down)), Int32((p.z / cell).rounded(.down)))
    }

    /// Distance (max norm) to the nearest stored point, when one lies within `cell`.
    func distance(to p: SIMD3<Float>) -> Float? {
        let k = key(p)
        var best: Float?
        for dx: Int32 in -1...1 {
            for dy: Int32 in -1...1 {
                for dz: Int32 in -1...1 {
                    for q in buckets[k &+ SIMD3(dx, dy, dz)] ?? [] {
                        let diff = q - p
                        let d = max(abs(diff.x), abs(diff.y), abs(diff.z))
                        if d <= cell, d < (best ?? .infinity) { best = d }
                    }
                }
            }
        }
        return best
    }
}

extension Array where Element == Float {
    func vectors3() -> [SIMD3<Float>] {
        stride(from: 0, to: count, by: 3).map { SIMD3(self[$0], self[$0 + 1], self[$0 + 2]) }
    }
}

/// The attributes the GLB writer sends to Draco for a primitive, with the default bit depths.
func attributes(of p: Primitive) -> [DracoAttribute] {
    let v = p.vertices
    var result: [DracoAttribute] = [.positions(v.positions, bits: 14)]
    if !v.normals.isEmpty { result.append(.normals(v.normals, bits: 10)) }
    for set in v.texcoords where !set.isEmpty { result.append(.texCoords(set, bits: 12)) }
    if !v.colors.isEmpty { result.append(.colors(v.colors, bits: 8)) }
    if !v.joints.isEmpty {
        result.append(.joints(v.joints))
        result.append(.weights(v.weights, bits: 8))
    }
    return result
}
