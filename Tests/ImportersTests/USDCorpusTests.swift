import Foundation
import Importers
import Scene
import Testing

/// The USD files of <repo>/../shared/corpus (skipped when absent). The manifest's counts come from usd-core with
/// faces fan-triangulated and instances (native and PointInstancer) expanded, variants at their defaults, which is
/// what the plugin draws. Files tagged `broken`, and files with no mesh geometry (0 triangles: implicit prims
/// only, empty packages), must fail with a clean one-line bad-input error (exit 3).
enum USDCorpus {
    struct Entry: Sendable, CustomTestStringConvertible {
        var path: String
        var triangles: Int
        var broken: Bool
        var testDescription: String { path }
    }

    static let entries: [Entry] = {
        guard let corpus = Paths.corpus,
            let text = try? String(contentsOf: corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        else { return [] }
        let rows = text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        guard let header = rows.first, let format = header.firstIndex(of: "format"),
            let triangles = header.firstIndex(of: "triangles"), let tags = header.firstIndex(of: "tags")
        else { return [] }
        return rows.dropFirst().compactMap { row in
            guard row.count > max(format, triangles, tags), row[format] == "usd", let count = Int(row[triangles])
            else { return nil }
            return Entry(
                path: String(row[0]), triangles: count, broken: row[tags].split(separator: ",").contains("broken"))
        }
    }()
}

@Suite(.enabled(if: USDTools.enabled && !USDCorpus.entries.isEmpty, "needs ../shared/corpus and usd-core"))
struct USDCorpusTests {
    @Test(arguments: USDCorpus.entries)
    func corpusFile(_ entry: USDCorpus.Entry) throws {
        let url = try #require(Paths.corpus).appendingPathComponent(entry.path)
        if entry.broken || entry.triangles == 0 {
            do {
                let scene = try USDTools.importUSD(url)
                Issue.record("imported \(scene.instancedTriangleCount) triangles from a file that should fail")
            } catch let error as ProcessingError {
                #expect(error.kind == .badInput)
                #expect(error.file == url.path)
                #expect(error.message.hasPrefix("USD plugin: "))
                #expect(!error.description.contains("\n"))
            }
            return
        }
        let scene = try USDTools.importUSD(url)
        #expect(scene.instancedTriangleCount == entry.triangles)
        #expect(scene.worldBounds() != nil)
    }
}
