import Foundation
import TestSupport
import Testing

@Suite("Browser: output renders in headless Chromium with three.js")
struct RenderTests {
    @Test(
        "a textured fixture renders without loader errors and is not blank",
        .enabled(if: Tools.browserAvailable || Tools.required, "no Python venv or chromium: run Tests/Scripts/setup.sh")
    )
    func texturedFixtureRenders() throws {
        let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
        try #require(Tools.chromium != nil, "chromium is not installed: run Tests/Scripts/setup.sh")
        let textured = try Tools.fixtureFiles().first { fixture in
            let counts = try inspect(Tools.repo.appendingPathComponent(fixture))
            return Readback.int(counts, "textures") ?? 0 > 0 && Readback.int(counts, "triangles") ?? 0 > 0
        }
        let fixture = try #require(textured, "no fixture under fixtures/models has textures")
        let scratch = try makeScratch("render")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let glb = scratch.appendingPathComponent("out.glb")
        let converted = try optimize([Tools.repo.appendingPathComponent(fixture).path, "-o", glb.path])
        try #require(converted.status == 0, "\(fixture): \(converted.summary)")

        // Kept under .build for a human look after the run.
        let png = Tools.repo.appendingPathComponent(".build/render-check.png")
        let rendered = try run(
            python, [Tools.scripts.appendingPathComponent("render.py").path, glb.path, png.path],
            timeout: Tools.renderTimeout)
        #expect(rendered.status == 0 && !rendered.crashed, "\(fixture): render.py: \(rendered.summary)")
    }
}
