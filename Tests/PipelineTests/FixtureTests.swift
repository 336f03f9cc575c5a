import Foundation
import TestSupport
import Testing

/// Compares what independent readers see in an output GLB with what the pipeline reported writing.
///
/// `input` is our importer's view of the input (`inspect --json`) with the counts that the lossless stages may
/// change (unused materials pruned, degenerate triangles dropped by weld) replaced by the report's `after`
/// figures; `convertsAndReadsBack` checks separately that the report's `before` equals the importer's view and
/// that `after` only shrinks. Like with like: `instancedTriangles` (triangles as drawn, per node instance) is
/// compared with every reader; per-mesh `triangles`, `nodes` and `meshes` between the output's own `inspect` and
/// the readers of the same file (inspect reads through Assimp, which may add a root node); materials between the
/// report and the file. Node counts across the conversion may only shrink. Bounds (pygltflib, trimesh) must agree
/// within 1e-3 of the input's diagonal.
func readbackMismatches(input: [String: Any], output: [String: Any], readers: [String: [String: Any]]) -> [String] {
    var problems: [String] = []
    let int = Readback.int
    func expectEqual(_ what: String, _ a: Int?, _ b: Int?) {
        if a != b { problems.append("\(what): \(a.map(String.init) ?? "nil") vs \(b.map(String.init) ?? "nil")") }
    }
    let ok = readers.filter { $0.value["ok"] as? Bool == true }
    if ok.count < 2 {
        let errors = readers.map { "\($0.key): \($0.value["error"] as? String ?? "ok")" }.sorted()
        problems.append("fewer than 2 independent readers read the output (\(errors.joined(separator: "; ")))")
    }
    let gltf = ok["pygltflib"]
    let trimesh = ok["trimesh"]
    let assimp = ok["assimp"]

    expectEqual(
        "instancedTriangles input vs output inspect", int(input, "instancedTriangles"),
        int(output, "instancedTriangles"))
    if let gltf {
        expectEqual(
            "instancedTriangles input vs pygltflib", int(input, "instancedTriangles"),
            int(gltf, "instancedTriangles"))
        expectEqual("triangles output inspect vs pygltflib", int(output, "triangles"), int(gltf, "triangles"))
        if let file = int(gltf, "nodes"), let read = int(output, "nodes"), read != file, read != file + 1 {
            problems.append("nodes: output inspect \(read), pygltflib \(file) (Assimp may add one root node)")
        }
        expectEqual("meshes output inspect vs pygltflib", int(output, "meshes"), int(gltf, "meshes"))
        expectEqual("materials input vs pygltflib", int(input, "materials"), int(gltf, "materials"))
        if let before = int(input, "nodes"), let after = int(gltf, "nodes"), after > before {
            problems.append("nodes grew from \(before) in the input to \(after) in the output")
        }
    }
    if let trimesh {
        expectEqual(
            "instancedTriangles input vs trimesh", int(input, "instancedTriangles"),
            int(trimesh, "instancedTriangles"))
    }
    if let assimp {
        expectEqual("triangles output inspect vs assimp", int(output, "triangles"), int(assimp, "triangles"))
        expectEqual("primitives output inspect vs assimp meshes", int(output, "primitives"), int(assimp, "meshes"))
        if let used = int(gltf, "usedMaterials"), let a = int(assimp, "materials"), a != used, a != used + 1 {
            problems.append("materials: \(used) used in the file, assimp \(a) (Assimp may add one default material)")
        }
    }
    if let reference = Box(input["bounds"]) {
        let tolerance = max(reference.diagonal * 1e-3, 1e-6)
        for (name, reader) in ok.sorted(by: { $0.key < $1.key }) {
            guard let box = Box(reader["bounds"]) else {
                // trimesh only bounds triangle geometry.
                let expected = name == "pygltflib" || (name == "trimesh" && int(input, "instancedTriangles") != 0)
                if expected { problems.append("bounds: \(name) found no geometry, input has \(reference)") }
                continue
            }
            if box.distance(to: reference) > tolerance {
                problems.append("bounds: \(name) \(box) vs input \(reference) (tolerance \(tolerance))")
            }
        }
    }
    return problems
}

@Suite("End-to-end: every fixture converts, validates and reads back")
struct FixtureTests {
    @Test("fixtures/models holds model files")
    func fixturesExist() {
        #expect(!Tools.fixtureFiles().isEmpty, "no .fbx/.obj/.stl/.ply/.dae/.gltf/.glb under \(Tools.fixtures.path)")
    }

    @Test(
        "converts, validates, and independent readers agree with inspect",
        .enabled(
            if: Tools.readersAvailable || Tools.required, "no Python venv or assimp CLI: run Tests/Scripts/setup.sh"),
        arguments: Tools.fixtureFiles())
    func convertsAndReadsBack(_ fixture: String) throws {
        try #require(Tools.python != nil && Tools.assimp != nil, "readback tools missing: run Tests/Scripts/setup.sh")
        let input = Tools.repo.appendingPathComponent(fixture)
        let scratch = try makeScratch("fixture")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let glb = scratch.appendingPathComponent("out.glb")
        let report = scratch.appendingPathComponent("report.json")

        let converted = try optimize([input.path, "-o", glb.path, "--report", report.path])
        try #require(converted.status == 0 && !converted.crashed, "\(fixture): \(converted.summary)")
        #expect(
            converted.stderrLines.count <= 50, "\(fixture): \(converted.stderrLines.count) log lines: keep logs terse")
        #expect(
            (try? jsonObject(String(contentsOf: report, encoding: .utf8), from: "report")) != nil,
            "\(fixture): --report did not write a JSON object")

        let validated = try optimize(["validate", glb.path])
        #expect(validated.status == 0, "\(fixture): validate: \(validated.summary)")

        let before = try inspect(input)
        let after = try inspect(glb)
        let written = try jsonObject(String(contentsOf: report, encoding: .utf8), from: "report")
        let reportedBefore = try #require(written["before"] as? [String: Any])
        let reportedAfter = try #require(written["after"] as? [String: Any])
        var expected = before
        for key in ["triangles", "instancedTriangles", "materials"] {
            #expect(
                Readback.int(reportedBefore, key) == Readback.int(before, key),
                "\(fixture): report's before.\(key) differs from inspect of the input")
            let (was, now) = (Readback.int(reportedBefore, key) ?? 0, Readback.int(reportedAfter, key) ?? 0)
            #expect(now <= was, "\(fixture): \(key) grew from \(was) to \(now) in lossless stages")
            expected[key] = now
        }
        let readers = try readback(glb)
        let problems = readbackMismatches(input: expected, output: after, readers: readers)
        #expect(problems.isEmpty, "\(fixture): \(problems.joined(separator: "; "))")
    }

    @Test("output is deterministic: same bytes twice and with --threads 1 vs 2", arguments: Tools.fixtureFiles())
    func deterministic(_ fixture: String) throws {
        let input = Tools.repo.appendingPathComponent(fixture)
        let scratch = try makeScratch("determinism")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var outputs: [Data] = []
        for (index, threads) in ["1", "2", "2"].enumerated() {
            let glb = scratch.appendingPathComponent("out\(index).glb")
            let result = try optimize([input.path, "-o", glb.path, "--threads", threads])
            try #require(result.status == 0 && !result.crashed, "\(fixture) --threads \(threads): \(result.summary)")
            outputs.append(try Data(contentsOf: glb))
        }
        #expect(outputs[1] == outputs[2], "\(fixture): two runs with --threads 2 differ")
        #expect(outputs[0] == outputs[1], "\(fixture): --threads 1 and --threads 2 differ")
    }
}
