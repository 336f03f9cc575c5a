import Foundation
import Importers
import Scene
import Testing

@testable import Stages

/// The whole stage chain on real files imported through Assimp.
@Suite struct FixtureTests {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")

    func runAllStages(_ scene: inout Scene, threads: Int) throws -> [StageReport] {
        [
            try deduplicate(&scene),
            try weld(&scene, threads: threads),
            try simplify(&scene, options: SimplifyOptions(ratio: 0.5, targetError: 0.05), threads: threads),
            try optimizeOrder(&scene, threads: threads)
        ]
    }

    @Test(arguments: ["obj/spider/spider.obj", "fbx/huesitos.fbx"])
    func stageChainKeepsSceneValid(_ file: String) throws {
        let original = try importScene(from: Self.models.appendingPathComponent(file))
        var scene = original
        let reports = try runAllStages(&scene, threads: 2)
        #expect(reports.map(\.name) == ["deduplicate", "weld", "simplify", "optimizeOrder"])
        #expect(scene.statistics.vertices < original.statistics.vertices)
        #expect(scene.statistics.triangles < original.statistics.triangles)
        for mesh in scene.meshes {
            for p in mesh.primitives {
                #expect(Check.isValid(p))
                for node in scene.nodes where node.mesh != nil && node.skin != nil {
                    let joints = scene.skins[node.skin!].joints.count
                    #expect(p.vertices.joints.allSatisfy { $0.max() < UInt16(joints) })
                }
            }
        }
        var again = original
        _ = try runAllStages(&again, threads: 1)
        #expect(again == scene)
        // The report goes into the JSON report.
        let json = try JSONEncoder().encode(reports)
        #expect(try JSONDecoder().decode([StageReport].self, from: json) == reports)
    }
}
