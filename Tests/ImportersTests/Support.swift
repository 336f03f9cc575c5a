import Foundation
import TestSupport
import Scene

/// Paths shared by the importer tests.
enum Paths {
    static let repo = TestPaths.repo
    static let fixtures = TestPaths.fixtures
    /// `<repo>/../shared/corpus`, nil when absent.
    static let corpus: URL? = {
        let url = repo.deletingLastPathComponent().appendingPathComponent("shared/corpus")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("MANIFEST.tsv").path) ? url : nil
    }()

    static func fixture(_ relative: String) -> URL { fixtures.appendingPathComponent(relative) }

    /// Triangle counts from the corpus MANIFEST.tsv by corpus path (empty when the corpus is absent).
    static let manifestTriangles: [String: Int] = {
        guard let corpus, let text = try? String(contentsOf: corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
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

/// A fresh temporary folder, removed by `cleanup()`.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("importers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> URL {
        try write(relative, Data(text.utf8))
    }

    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> URL {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

extension Scene {
    var allPrimitives: [Primitive] { meshes.flatMap(\.primitives) }
}
