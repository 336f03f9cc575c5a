import Foundation
import TestSupport
import Testing

/// Paths and tools the end-to-end tests use: the built `optimize` binary, the repo, the Python helpers.
enum Tools {
    static let repo = TestPaths.repo

    static let optimize = TestPaths.optimize
    static let scripts = repo.appendingPathComponent("Tests/Scripts")
    /// Seconds one `render.py` picture may take: it tries a Chromium that hangs (a loaded machine) three times,
    /// 120 s each, so a shorter limit would end it before its retries.
    static let renderTimeout: TimeInterval = 400
    static let fixtures = repo.appendingPathComponent("fixtures/models")
    static let corpus = TestPaths.corpusFolder

    /// OPTIMIZE_TEST_REQUIRE_TOOLS=1 (run-all.sh, CI): missing helper tools fail the tests instead of skipping them.
    static let required = TestPaths.toolsRequired

    /// The venv interpreter with trimesh/pygltflib (OPTIMIZE_TEST_PYTHON, else <repo>/.venv/bin/python).
    static let python = TestPaths.testPython

    static let chromium: URL? = which("chromium")
    static let assimp: URL? = which("assimp")

    /// Whether the readback helpers can run; a test is enabled when they can or when they are required.
    static var readersAvailable: Bool { python != nil && assimp != nil }
    static var browserAvailable: Bool { python != nil && chromium != nil }

    static func which(_ name: String) -> URL? { TestPaths.which(name) }

    /// Main model files under fixtures/models, by extension, in a stable order (paths relative to the repo).
    static func fixtureFiles() -> [String] {
        let extensions: Set = ["fbx", "obj", "stl", "ply", "dae", "gltf", "glb"]
        guard let walker = FileManager.default.enumerator(at: fixtures, includingPropertiesForKeys: nil) else {
            return []
        }
        let prefix = repo.path + "/"
        return walker.compactMap { $0 as? URL }
            .filter { extensions.contains($0.pathExtension.lowercased()) }
            .map { String($0.standardizedFileURL.path.dropFirst(prefix.count)) }
            .sorted()
    }
}

/// A fresh, empty temporary folder; the caller removes it.
func makeScratch(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("optimize-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Parses a JSON object printed by a child process.
func jsonObject(_ text: String, from what: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw TestFailure("\(what) did not print a JSON object: \(text.prefix(200))")
    }
    return object
}

/// An axis-aligned box read from `{"min":[x,y,z],"max":[x,y,z]}`.
struct Box: CustomStringConvertible {
    var min: [Double], max: [Double]

    init?(_ json: Any?) {
        guard let dict = json as? [String: Any],
            let lo = (dict["min"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }),
            let hi = (dict["max"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.doubleValue }),
            lo.count == 3, hi.count == 3
        else { return nil }
        (min, max) = (lo, hi)
    }

    var diagonal: Double { sqrt(zip(min, max).map { ($1 - $0) * ($1 - $0) }.reduce(0, +)) }

    /// The largest corner coordinate difference to `other`.
    func distance(to other: Box) -> Double {
        zip(min + max, other.min + other.max).map { abs($0 - $1) }.max() ?? .infinity
    }

    var description: String { "\(min)…\(max)" }
}

/// The counts `inspect --json` prints, and what the independent readers (readback.py) say about a GLB.
struct Readback {
    var inspect: [String: Any]
    var readers: [String: [String: Any]]

    func reader(_ name: String) -> [String: Any]? {
        guard let r = readers[name], r["ok"] as? Bool == true else { return nil }
        return r
    }

    static func int(_ dict: [String: Any]?, _ key: String) -> Int? { (dict?[key] as? NSNumber)?.intValue }
}

/// `optimize inspect FILE --json` as a dictionary.
func inspect(_ file: URL) throws -> [String: Any] {
    let result = try optimize(["inspect", file.path, "--json"])
    guard result.status == 0, !result.crashed else { throw TestFailure("inspect \(file.path): \(result.summary)") }
    return try jsonObject(result.stdout, from: "inspect \(file.lastPathComponent)")
}

/// readback.py's per-reader results for a GLB.
func readback(_ glb: URL) throws -> [String: [String: Any]] {
    guard let python = Tools.python else { throw TestFailure("no Python venv (run Tests/Scripts/setup.sh)") }
    let result = try run(python, [Tools.scripts.appendingPathComponent("readback.py").path, glb.path], timeout: 180)
    guard result.status == 0, !result.crashed else { throw TestFailure("readback.py \(glb.path): \(result.summary)") }
    let object = try jsonObject(result.stdout, from: "readback.py")
    return (object["readers"] as? [String: [String: Any]]) ?? [:]
}

/// Files left in `folder` (to check that failed runs leave no output and no temp file).
func leftovers(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}
