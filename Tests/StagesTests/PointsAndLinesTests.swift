import Scene
import Stages
import Testing

/// Points and lines whose index counts are not multiples of 3 (meshoptimizer 0.18 asserts on those in its remaps).
@Suite struct PointsAndLinesTests {
    func primitive(_ mode: Primitive.Mode, indices: [UInt32]) -> Primitive {
        var p = Primitive(mode: mode)
        p.vertices.positions = [[0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
        p.indices = indices
        return p
    }

    @Test func weldMergesDuplicatePointsAndKeepsEveryPoint() throws {
        let welded = try #require(weldedCopy(primitive(.points, indices: [0, 1, 2, 3])))
        #expect(welded.vertexCount == 3)
        #expect(welded.indices.count == 4)
        #expect(Set(welded.indices.map { welded.vertices.positions[Int($0)] }).count == 3)
    }

    @Test func weldDropsDegenerateLinesAndUnusedVertices() throws {
        let welded = try #require(weldedCopy(primitive(.lines, indices: [0, 1, 1, 2, 3, 4])))
        #expect(welded.indices.count == 4)  // 1–2 collapses to one vertex: that line is degenerate
        #expect(welded.vertexCount == 4)
    }

    @Test func reorderPutsVerticesInFirstUseOrder() {
        let ordered = orderedCopy(primitive(.lines, indices: [4, 3, 3, 0, 0, 1, 1, 2, 2, 4]))
        #expect(ordered.indices == [0, 1, 1, 2, 2, 3, 3, 4, 4, 0])
        #expect(ordered.vertices.positions == [[0, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0]])
    }
}
