import Scene
import Testing

@testable import Stages

/// Weld must not trap on an unindexed primitive whose vertex count is not a multiple of its corner count (what the
/// 28-byte OBJ of issue 16 produced): the trailing partial primitive is ignored.
@Suite struct WeldPartialPrimitiveTests {
    @Test(arguments: [Primitive.Mode.triangles, .lines, .points], [1, 2, 4, 5])
    func unindexedPartialPrimitive(mode: Primitive.Mode, vertices: Int) throws {
        var primitive = Primitive(mode: mode)
        primitive.vertices.positions = (0..<vertices).map { SIMD3(Float($0), Float($0 % 2), 0) }
        let welded = try #require(weldedCopy(primitive))
        let corners = mode == .triangles ? 3 : mode == .lines ? 2 : 1
        #expect(welded.indices.count == vertices / corners * corners)
        #expect(welded.indices.allSatisfy { Int($0) < welded.vertexCount })
    }
}
