import Foundation

/// One row of `../shared/corpus/MANIFEST.tsv`, its cells by column name.
public struct CorpusRow: Sendable, CustomStringConvertible {
    public let cells: [String: String]

    public var path: String { cells["path", default: ""] }
    public var format: String { cells["format", default: ""] }
    public var tags: Set<String> { Set(cells["tags", default: ""].split(separator: ",").map(String.init)) }
    public var broken: Bool { tags.contains("broken") }
    /// The file in the corpus.
    public var url: URL { TestPaths.corpusFolder.appendingPathComponent(path) }
    public var description: String { path }

    /// A numeric cell (triangles, materials, …); nil when empty or not a number.
    public func int(_ column: String) -> Int? { cells[column].flatMap { Int($0) } }

    /// Every complete row of the manifest in its order; empty when the corpus is absent.
    public static let all: [CorpusRow] = {
        guard let corpus = TestPaths.corpus,
            let text = try? String(contentsOf: corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        else { return [] }
        let lines = text.split(separator: "\n").map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        guard let header = lines.first else { return [] }
        return lines.dropFirst().filter { $0.count == header.count }.map {
            CorpusRow(cells: Dictionary(zip(header, $0), uniquingKeysWith: { first, _ in first }))
        }
    }()

    /// The rows of one `format` column value ("gltf", "fbx", "obj", …).
    public static func format(_ name: String) -> [CorpusRow] { all.filter { $0.format == name } }
}
