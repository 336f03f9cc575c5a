import Foundation
import TestSupport
import Testing

/// One MANIFEST.tsv row of ../shared/corpus and what the sweep expects of it.
struct SweepRow: Sendable {
    enum Expectation: String, Sendable {
        /// Converts (exit 0), validates, and an independent reader reads the output.
        case convert
        /// Exit 3 with one stderr line naming the file (or, for `lenient` rows, a valid conversion).
        case fail
        /// Known to crash or hang Assimp 5.2.5: a crash/timeout is recorded, exit 3 with one line is also fine.
        case crashesAssimp = "crashes assimp"
    }

    var path: String
    var expectation: Expectation
    /// Why the expectation is what it is (printed in the table).
    var reason: String
    /// Either outcome is acceptable: a `fail` row Assimp imports anyway (converting it to a valid GLB is fine),
    /// or a `convert` row with nothing to draw (failing cleanly with exit 3 is fine).
    var lenient: Bool

    /// Rows in formats Assimp reads (USD and Alembic go through plugins and are not swept here).
    static func load() -> [SweepRow] {
        CorpusRow.all.filter { !["usd", "abc"].contains($0.format) }.map { row in
            let assimp = row.cells["assimp_5_2_5", default: ""]
            func make(_ expectation: Expectation, _ reason: String, lenient: Bool) -> SweepRow {
                SweepRow(path: row.path, expectation: expectation, reason: reason, lenient: lenient)
            }
            if row.url.lastPathComponent.hasPrefix("fuzz__assimp_") {
                return make(.crashesAssimp, "mutated to crash Assimp", lenient: false)
            }
            if row.broken { return make(.fail, "tagged broken", lenient: assimp == "OK") }
            if assimp == "FAIL" { return make(.fail, "Assimp 5.2.5 FAILs per manifest", lenient: true) }
            if row.int("triangles") == 0 && row.int("meshes") == 0 && !row.tags.contains("points") {
                // Nothing to draw: "contains no geometry" (exit 3) and an empty but valid GLB are both fine.
                return make(.convert, "no meshes per manifest", lenient: true)
            }
            return make(.convert, "Assimp \(assimp)", lenient: false)
        }
    }
}

/// What happened to one corpus file.
struct SweepOutcome {
    var row: SweepRow
    var got: String
    var exit: String
    var seconds: Double
    var detail: String
    var expected: Bool
}

@Suite("Corpus sweep over ../shared/corpus")
struct CorpusSweepTests {
    static let manifest = Tools.corpus.appendingPathComponent("MANIFEST.tsv")

    @Test(
        "every Assimp-format corpus file converts, fails cleanly, or crashes only where known",
        .enabled(
            if: FileManager.default.fileExists(atPath: manifest.path),
            "../shared/corpus is absent: corpus sweep skipped"),
        .timeLimit(.minutes(60)))
    func sweep() throws {
        if !Tools.readersAvailable {
            try #require(!Tools.required, "readback tools missing: run Tests/Scripts/setup.sh")
        }
        let rows = SweepRow.load()
        #expect(!rows.isEmpty, "MANIFEST.tsv lists no Assimp-format rows")
        let scratch = try makeScratch("sweep")
        defer { try? FileManager.default.removeItem(at: scratch) }

        var outcomes: [SweepOutcome] = []
        for (index, row) in rows.enumerated() {
            let folder = scratch.appendingPathComponent("\(index)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            outcomes.append(try Self.sweep(row, into: folder))
            try? FileManager.default.removeItem(at: folder)
        }
        let table = Self.table(outcomes)
        print(table)
        let tsv = Tools.repo.appendingPathComponent(".build/corpus-sweep.tsv")
        try? table.write(to: tsv, atomically: true, encoding: .utf8)

        for o in outcomes where !o.expected {
            Issue.record("\(o.row.path): expected \(o.row.expectation.rawValue), got \(o.got) (\(o.exit)): \(o.detail)")
        }
    }

    /// Converts one row into `folder` and classifies the result.
    static func sweep(_ row: SweepRow, into folder: URL) throws -> SweepOutcome {
        let input = Tools.corpus.appendingPathComponent(row.path)
        let glb = folder.appendingPathComponent("out.glb")
        let result = try optimize([input.path, "-o", glb.path], timeout: 60)
        let exit = result.timedOut ? "timeout" : result.signaled ? "signal \(result.status)" : "\(result.status)"
        var outcome = SweepOutcome(row: row, got: "", exit: exit, seconds: result.seconds, detail: "", expected: false)
        let name = input.lastPathComponent

        if result.crashed {
            outcome.got = "crashes assimp"
            outcome.detail = result.summary
            outcome.expected = row.expectation == .crashesAssimp
            return outcome
        }
        if result.status != 0 {
            let lines = result.stderrLines
            let clean =
                result.status == 3 && lines.count == 1 && lines[0].contains(name)
                && leftovers(in: folder).isEmpty
            outcome.got = clean ? "fail" : "unclean fail"
            outcome.detail = lines.count == 1 ? String(lines[0]) : "\(lines.count) stderr lines: \(lines.prefix(3))"
            if !leftovers(in: folder).isEmpty { outcome.detail += " (left \(leftovers(in: folder)))" }
            outcome.expected = clean && (row.expectation != .convert || row.lenient)
            return outcome
        }
        // Converted: the output must validate and be readable by an independent reader.
        let validated = try optimize(["validate", glb.path], timeout: 60)
        guard validated.status == 0 else {
            outcome.got = "invalid output"
            outcome.detail = validated.stderrLines.prefix(3).joined(separator: " | ")
            return outcome
        }
        if Tools.readersAvailable {
            let readers = try readback(glb)
            let ok = readers.filter { $0.value["ok"] as? Bool == true }.keys.sorted()
            guard !ok.isEmpty else {
                outcome.got = "unreadable output"
                outcome.detail = readers.map { "\($0.key): \($0.value["error"] as? String ?? "")" }.sorted()
                    .joined(separator: "; ")
                return outcome
            }
            outcome.detail = "read by \(ok.joined(separator: ","))"
        }
        outcome.got = "converted"
        outcome.expected = row.expectation == .convert || row.lenient
        return outcome
    }

    /// The sweep as TSV (path, expected, got, exit, seconds, detail) followed by totals.
    static func table(_ outcomes: [SweepOutcome]) -> String {
        var lines = ["path\texpected\tgot\texit\tseconds\tok\tdetail"]
        for o in outcomes {
            let alternative = o.row.expectation == .convert ? " (or fail)" : " (or convert)"
            let expected = o.row.expectation.rawValue + (o.row.lenient ? alternative : "") + " [\(o.row.reason)]"
            let detail = o.detail.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
            lines.append(
                [
                    o.row.path, expected, o.got, o.exit, String(format: "%.2f", o.seconds),
                    o.expected ? "yes" : "UNEXPECTED", detail
                ].joined(separator: "\t"))
        }
        let count = { (got: String) in outcomes.filter { $0.got == got }.count }
        lines.append(
            "# total \(outcomes.count): converted \(count("converted")), failed cleanly \(count("fail")), "
                + "crashed \(count("crashes assimp")), unexpected \(outcomes.filter { !$0.expected }.count), "
                + String(format: "%.1f s", outcomes.reduce(0) { $0 + $1.seconds }))
        return lines.joined(separator: "\n") + "\n"
    }
}
