import Foundation
import Testing

@testable import GLB

/// The third-party GLBs in `<repo>/../shared/corpus`, if present.
private func corpusGLBs() -> [URL] {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let files = repo.deletingLastPathComponent().appendingPathComponent("shared/corpus/files")
    guard let walker = FileManager.default.enumerator(at: files, includingPropertiesForKeys: nil) else { return [] }
    return walker.compactMap { $0 as? URL }.filter { $0.pathExtension.lowercased() == "glb" }
        .sorted { $0.path < $1.path }
}

@Test(.enabled(if: !corpusGLBs().isEmpty, "corpus not present"))
func corpusGLBsValidate() throws {
    var passed = 0
    var report: [String] = []
    for url in corpusGLBs() {
        let issues = validateGLB([UInt8](try Data(contentsOf: url)))
        if issues.isEmpty {
            passed += 1
        } else {
            report.append(
                "\(url.lastPathComponent): \(issues.count) issue(s); first: \(issues.prefix(3).map(\.description).joined(separator: " | "))"
            )
        }
    }
    print("corpus GLBs: \(passed) of \(corpusGLBs().count) pass validation")
    for line in report { print("  \(line)") }
    // Known-good Khronos samples must pass; anything else is reported above.
    for name in ["khr__BoxTextured.glb", "trimesh__Duck.glb"] {
        if let url = corpusGLBs().first(where: { $0.lastPathComponent == name }) {
            #expect(validateGLB([UInt8](try Data(contentsOf: url))) == [], "\(name)")
        }
    }
}
