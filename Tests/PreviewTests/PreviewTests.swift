import Foundation
import Importers
import Preview
import Scene
import Testing

@Suite("Preview: the CPU rasterizer")
struct PreviewTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func importFixture(_ path: String) throws -> Scene {
        try importScene(from: Self.repo.appendingPathComponent(path), options: ImportOptions())
    }

    @Test("the same bytes for 1, 2 and 3 threads, and a PNG that is not blank")
    func deterministic() throws {
        let scene = try importFixture("fixtures/models/obj/spider/spider.obj")
        var options = PreviewOptions()
        options.size = 128
        let one = try renderPreview(scene, options: options, threads: 1)
        for threads in [2, 3] {
            let other = try renderPreview(scene, options: options, threads: threads)
            #expect(other.png == one.png, "\(threads) threads gave different bytes")
        }
        #expect(one.png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(one.trianglesDrawn > 100)
    }

    @Test("backgrounds parse as #RRGGBB, RRGGBB or transparent, and nothing else")
    func backgrounds() {
        #expect(PreviewBackground(argument: "#102030") == .color(SIMD3(16, 32, 48)))
        #expect(PreviewBackground(argument: "FFFFFF") == .color(SIMD3(255, 255, 255)))
        #expect(PreviewBackground(argument: "transparent") == .transparent)
        #expect(PreviewBackground(argument: "#12345") == nil)
        #expect(PreviewBackground(argument: "red") == nil)
    }

    @Test("a scene without triangles is refused with one line")
    func emptyScene() {
        #expect(throws: ProcessingError.self) { try renderPreview(Scene(), options: PreviewOptions(), threads: 2) }
    }
}
