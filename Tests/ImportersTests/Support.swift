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
    static let manifestTriangles: [String: Int] = {
        guard let corpus,
            let text = try? String(contentsOf: corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        else { return [:] }
        var rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        guard let header = rows.first, let column = header.firstIndex(of: "triangles") else { return [:] }
        rows.removeFirst()
        var result: [String: Int] = [:]
        for row in rows where row.count > column {
            if let count = Int(row[column]) { result[String(row[0])] = count }
        }
        return result
    }()
}

extension Scene {
    var allPrimitives: [Primitive] { meshes.flatMap(\.primitives) }
}
