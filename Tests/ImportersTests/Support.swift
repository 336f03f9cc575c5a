import Foundation
import Scene
import TestSupport

/// Paths shared by the importer tests.
enum Paths {
    static let repo = TestPaths.repo
    static let fixtures = TestPaths.fixtures
    /// `<repo>/../shared/corpus`, nil when absent.
    static let corpus = TestPaths.corpus

    static func fixture(_ relative: String) -> URL { fixtures.appendingPathComponent(relative) }

    /// Triangle counts from the corpus MANIFEST.tsv by corpus path (empty when the corpus is absent).
    static let manifestTriangles: [String: Int] = Dictionary(
        CorpusRow.all.compactMap { row in row.int("triangles").map { (row.path, $0) } }, uniquingKeysWith: { a, _ in a }
    )
}

extension Scene {
    var allPrimitives: [Primitive] { meshes.flatMap(\.primitives) }
}
