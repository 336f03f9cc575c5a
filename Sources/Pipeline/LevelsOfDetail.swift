import FoundationEssentials
import Scene
import Stages

/// What one level of detail achieved, for the report.
public struct LevelReport: Sendable, Codable, Equatable {
    /// 0 is the full-detail level.
    public var level: Int
    /// The share of level 0's triangles asked for.
    public var ratio: Float
    public var requestedTriangles: Int
    public var triangles: Int
    /// The largest deviation of any mesh, relative to its extent.
    public var error: Float
    /// `MSFT_screencoverage` hint written for this level.
    public var screenCoverage: Float
    /// The file holding this level (with `--lod-files`).
    public var file: String?
}

/// The smallest screen share at which level `k` of `ratios` (level 0 = 1) is drawn: where the next level's triangle
/// density would match, √(next ratio) / 2; 0 for the last level (always drawn below that).
func screenCoverage(level k: Int, ratios: [Float]) -> Float {
    k < ratios.count ? ratios[k].squareRoot() / 2 : 0
}

/// Adds coarser levels for every node that draws a mesh: each ratio's meshes are simplified from level 0 (reusing
/// the simplify stage, no error limit, sloppy fallback so the share is reached), appended to `scene.meshes` and
/// drawn by new nodes outside the hierarchy that the original node lists in `levelsOfDetail` (`MSFT_lod`).
/// Materials, textures and images are shared by every level, and a mesh the simplifier could not make smaller than
/// the previous level's (a tiny one) is shared with that level. Returns one report per level, level 0 first.
func addLevelsOfDetail(_ scene: inout Scene, ratios: [Float], threads: Int) throws -> [LevelReport] {
    let base = scene
    func triangles(_ mesh: Mesh) -> Int { mesh.primitives.reduce(0) { $0 + $1.triangleCount } }
    let baseTriangles = base.meshes.reduce(0) { $0 + triangles($1) }
    var reports = [
        LevelReport(
            level: 0, ratio: 1, requestedTriangles: baseTriangles, triangles: baseTriangles,
            error: 0, screenCoverage: screenCoverage(level: 0, ratios: ratios))
    ]
    let drawing = base.nodes.indices.filter { base.nodes[$0].mesh != nil }
    // The mesh each original mesh index draws at the previous level.
    var previous = Array(base.meshes.indices)
    for (k, ratio) in ratios.enumerated() {
        var level = base
        let stage = try simplify(
            &level, options: SimplifyOptions(ratio: ratio, targetError: 1, aggressive: true),
            threads: threads)
        var current = previous
        for m in level.meshes.indices where triangles(level.meshes[m]) < triangles(scene.meshes[previous[m]]) {
            current[m] = scene.meshes.count
            scene.meshes.append(level.meshes[m])
        }
        for n in drawing {
            var node = Node(name: base.nodes[n].name.isEmpty ? "LOD\(k + 1)" : "\(base.nodes[n].name) LOD\(k + 1)")
            node.transform = base.nodes[n].transform
            node.mesh = base.nodes[n].mesh.map { current[$0] }
            node.skin = base.nodes[n].skin
            node.instances = base.nodes[n].instances
            scene.nodes[n].levelsOfDetail.append(scene.nodes.count)
            scene.nodes.append(node)
        }
        let details = stage.simplify ?? []
        reports.append(
            LevelReport(
                level: k + 1, ratio: ratio,
                requestedTriangles: details.reduce(0) { $0 + ($1.requestedTriangles ?? $1.originalTriangles) },
                triangles: current.reduce(0) { $0 + triangles(scene.meshes[$1]) },
                error: details.map(\.error).max() ?? 0, screenCoverage: screenCoverage(level: k + 1, ratios: ratios)))
        previous = current
    }
    for n in drawing { scene.nodes[n].screenCoverage = reports.map(\.screenCoverage) }
    return reports
}

/// One scene per level from a scene `addLevelsOfDetail` extended (`--lod-files`): nodes draw that level's mesh, the
/// level nodes and `MSFT_lod` are gone, and what the level does not use is pruned.
func splitLevels(_ scene: Scene, levels: Int, originalNodeCount: Int) -> [Scene] {
    (0..<levels).map { k in
        var level = scene
        for n in 0..<originalNodeCount where !level.nodes[n].levelsOfDetail.isEmpty {
            if k > 0 { level.nodes[n].mesh = scene.nodes[scene.nodes[n].levelsOfDetail[k - 1]].mesh }
            level.nodes[n].levelsOfDetail = []
            level.nodes[n].screenCoverage = []
        }
        level.nodes.removeLast(level.nodes.count - originalNodeCount)
        _ = prune(&level)
        return level
    }
}

/// `NAME.glb` → `NAME.lodK.glb` beside it.
public func levelFileURL(_ output: URL, level: Int) -> URL {
    let name =
        output.deletingPathExtension().lastPathComponent + ".lod\(level)."
        + (output.pathExtension.isEmpty ? "glb" : output.pathExtension)
    return output.deletingLastPathComponent().appendingPathComponent(name)
}
