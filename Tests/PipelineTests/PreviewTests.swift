import Foundation
import TestSupport
import Testing

@Suite("Preview: our CPU rendering matches three.js in headless Chromium")
struct PreviewMatchTests {
    /// The background both renderers use (render.py's default).
    static let background = (hex: "#282C34", rgb: "40,44,52")

    @Test(
        "every fixture's preview has SSIM ≥ 0.85 against three.js at the same camera",
        .enabled(if: Tools.browserAvailable || Tools.required, "no Python venv or chromium: run Tests/Scripts/setup.sh")
    )
    func everyFixtureMatchesThreeJS() throws {
        let python = try #require(Tools.python, "no Python venv: run Tests/Scripts/setup.sh")
        try #require(Tools.chromium != nil, "chromium is not installed: run Tests/Scripts/setup.sh")
        let scratch = try makeScratch("preview")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var scores: [String] = []
        for fixture in Tools.fixtureFiles() {
            let name = URL(fileURLWithPath: fixture).lastPathComponent
            let glb = scratch.appendingPathComponent("\(name).glb")
            let ours = scratch.appendingPathComponent("\(name).png")
            let report = scratch.appendingPathComponent("\(name).json")
            let converted = try optimize(
                [
                    Tools.repo.appendingPathComponent(fixture).path, "-o", glb.path,
                    "--report", report.path, "--preview", ours.path, "--preview-size", "256",
                    "--preview-background", Self.background.hex
                ], timeout: 300)
            try #require(converted.status == 0, "\(fixture): \(converted.summary)")
            let json = try jsonObject(String(decoding: try Data(contentsOf: report), as: UTF8.self), from: "report")
            let preview = try #require(json["preview"] as? [String: Any], "\(fixture): no preview in the report")
            let camera = try #require(preview["camera"] as? [String: Any])
            let values =
                ((camera["position"] as? [NSNumber]) ?? []) + ((camera["target"] as? [NSNumber]) ?? [])
                + [camera["yfovDegrees"], camera["near"], camera["far"]].compactMap { $0 as? NSNumber }
            try #require(values.count == 9, "\(fixture): camera \(camera)")
            let three = scratch.appendingPathComponent("\(name).three.png")
            let rendered = try run(
                python,
                [
                    Tools.scripts.appendingPathComponent("render.py").path, glb.path, three.path,
                    "--size=256x256", "--camera=" + values.map { "\($0.doubleValue)" }.joined(separator: ","),
                    "--background=" + Self.background.rgb
                ], timeout: Tools.renderTimeout)
            try #require(rendered.status == 0, "\(fixture): render.py: \(rendered.summary)")
            let ssim = try run(python, [Tools.scripts.appendingPathComponent("ssim.py").path, ours.path, three.path])
            let score = try #require(
                Double(ssim.stdout.trimmingCharacters(in: .whitespacesAndNewlines)),
                "\(fixture): ssim.py: \(ssim.summary)")
            scores.append("\(fixture)\t\(score)")
            #expect(score >= 0.85, "\(fixture): SSIM \(score) against three.js")
        }
        #expect(!scores.isEmpty)
        // Recorded for a human look (and the README's numbers) under .build.
        try Data((["fixture\tssim"] + scores).joined(separator: "\n").utf8)
            .write(to: Tools.repo.appendingPathComponent(".build/preview-ssim.tsv"))
    }

    @Test("the preview's bytes do not depend on --threads, and a bad background is a usage error")
    func deterministicAndValidated() throws {
        let scratch = try makeScratch("preview-threads")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = Tools.repo.appendingPathComponent("fixtures/models/obj/spider/spider.obj").path
        var images: [Data] = []
        for threads in ["1", "2"] {
            let png = scratch.appendingPathComponent("t\(threads).png")
            let result = try optimize([
                input, "-o", scratch.appendingPathComponent("t.glb").path, "--threads", threads,
                "--preview", png.path, "--preview-size", "128"
            ])
            try #require(result.status == 0, "\(result.summary)")
            images.append(try Data(contentsOf: png))
        }
        #expect(images[0] == images[1])
        let bad = try optimize([
            input, "-o", scratch.appendingPathComponent("b.glb").path,
            "--preview", scratch.appendingPathComponent("b.png").path, "--preview-background", "pink"
        ])
        #expect(bad.status == 2 && !bad.crashed, "\(bad.summary)")
    }

    @Test("a preview that cannot be written is a warning: the GLB is still written and the exit is 0")
    func previewFailureIsAWarning() throws {
        let scratch = try makeScratch("preview-fail")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let glb = scratch.appendingPathComponent("out.glb")
        let result = try optimize([
            Tools.repo.appendingPathComponent("fixtures/models/ply/cube.ply").path, "-o", glb.path,
            "--preview", scratch.appendingPathComponent("missing/folder/p.png").path
        ])
        #expect(result.status == 0, "\(result.summary)")
        #expect(FileManager.default.fileExists(atPath: glb.path))
        #expect(
            result.stderrLines.contains { $0.contains("preview") && $0.contains("not rendered") }, "\(result.stderr)")
    }
}
