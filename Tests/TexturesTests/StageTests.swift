import Foundation
import GLB
import Importers
import Pipeline
import Scene
import TestSupport
import Testing

@testable import Textures

/// The texture stage through `Pipeline.convert` and the CLI, on the OBJ+MTL and glTF sets in fixtures/textures.
struct StageTests {
    /// Converts `input` with the given texture options; returns the report, the GLB's JSON and its images by index.
    func convert(_ input: String, _ configure: (inout TextureOptions) -> Void) throws
        -> (report: Report, json: [String: Any], images: [[UInt8]])
    {
        let folder = try Paths.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.glb")
        var settings = Settings()
        configure(&settings.textures)
        let report = try Pipeline.convert(input: Paths.fixture(input), output: output, settings: settings)
        let bytes = Array(try Data(contentsOf: output))
        #expect(validateGLB(bytes).isEmpty)
        let json = try glbJSON(output)
        let jsonLength = Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
        let bin = Array(bytes[(20 + jsonLength + 8)...])
        let views = json.array("bufferViews")
        let images = json.array("images").map { image -> [UInt8] in
            let view = views[image["bufferView"] as! Int]
            let offset = view["byteOffset"] as? Int ?? 0
            return Array(bin[offset..<(offset + (view["byteLength"] as! Int))])
        }
        return (report, json, images)
    }

    /// The image index a material slot ends at (`source`, else the WebP), or nil when the slot has no texture.
    func image(_ json: [String: Any], material name: String, slot: String = "baseColorTexture") -> Int? {
        guard let material = json.array("materials").first(where: { $0["name"] as? String == name }) else { return nil }
        let ref =
            slot == "baseColorTexture" ? material.object("pbrMetallicRoughness")?.object(slot) : material.object(slot)
        guard let index = ref?["index"] as? Int else { return nil }
        let texture = json.array("textures")[index]
        return texture["source"] as? Int ?? texture.object("extensions")?.object("EXT_texture_webp")?["source"] as? Int
    }

    func mime(_ json: [String: Any], _ image: Int?) -> String? {
        image.map { json.array("images")[$0]["mimeType"] as? String ?? "" }
    }

    @Test func objTexturesAreClassifiedResizedReencodedAndDeduplicated() throws {
        let (report, json, images) = try convert("quads.obj") { $0.maxSize = 64 }
        // PNG color that JPEG would make bigger: the original bytes are kept.
        let png = try #require(image(json, material: "png"))
        #expect(mime(json, png) == "image/png")
        #expect(images[png] == (try Paths.bytes("color.png")))
        // The BMP has the same pixels as the PNG: one image.
        #expect(image(json, material: "bmp") == png)
        // Resized opaque color → JPEG at 64×32 (aspect 2:1 kept).
        let big = try #require(image(json, material: "big"))
        #expect(mime(json, big) == "image/jpeg")
        let decoded = try decodeImage(images[big], .jpeg, maxPixels: 1 << 20)
        #expect((decoded.width, decoded.height) == (64, 32))
        // TGA with alpha in a BLEND material → PNG with alpha.
        let tga = try #require(image(json, material: "tga_alpha"))
        #expect(mime(json, tga) == "image/png")
        let alpha = try decodeImage(images[tga], .png, maxPixels: 1 << 20)
        #expect((alpha.width, alpha.height) == (40, 20) && alpha.usesAlpha)
        // Normal map → PNG; its base color is the same JPEG as the "jpeg" material's.
        #expect(mime(json, image(json, material: "normal", slot: "normalTexture")) == "image/png")
        #expect(image(json, material: "normal") == image(json, material: "jpeg"))
        #expect(mime(json, image(json, material: "jpeg")) == "image/jpeg")
        // A single-color texture is folded into the factor, converted from sRGB to linear.
        #expect(image(json, material: "solid") == nil)
        let solid = try #require(json.array("materials").first { $0["name"] as? String == "solid" })
        let factor = try #require(solid.object("pbrMetallicRoughness")?["baseColorFactor"] as? [Double])
        let expected = [200.0, 100, 50].map { c -> Double in
            let v = c / 255
            return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4)
        }
        for k in 0..<3 { #expect(abs(factor[k] - expected[k]) < 1e-4) }
        // The missing file: a warning, no texture, the factor stays.
        #expect(report.warnings.contains { $0.contains("does_not_exist.png") })
        #expect(image(json, material: "missing") == nil)
        // Only PNG and JPEG are written; the report has bytes before/after per source image.
        #expect(
            Set(json.array("images").compactMap { $0["mimeType"] as? String }).isSubset(of: ["image/png", "image/jpeg"])
        )
        #expect(json.array("images").count == 5)  // color.png, photo.jpg, alpha, normal, big
        let bigReport = try #require(report.textures.first { $0.name == "big.png" })
        #expect(bigReport.sizeBefore == [300, 150] && bigReport.sizeAfter == [64, 32])
        #expect(bigReport.bytesAfter == images[big].count && bigReport.mimeAfter == ["image/jpeg"])
        #expect(report.textures.first { $0.name == "color.bmp" }?.outcome.hasPrefix("duplicate") == true)
        #expect(report.textures.first { $0.name == "solid.png" }?.outcome == "folded into factors")
    }

    @Test func perClassLimitsAndPowerOfTwo() throws {
        let (report, json, images) = try convert("quads.obj") { o in
            o.maxSize = 256
            o.maxSizeByClass[.normal] = 8
            o.powerOfTwo = true
        }
        let normal = try #require(image(json, material: "normal", slot: "normalTexture"))
        let n = try decodeImage(images[normal], .png, maxPixels: 1 << 20)
        #expect((n.width, n.height) == (8, 8))
        #expect(report.textures.first { $0.name == "big.png" }?.sizeAfter == [256, 128])
        #expect(report.textures.first { $0.name == "alpha.tga" }?.sizeAfter == [32, 16])
    }

    @Test func embeddedImagesAreProcessedByUse() throws {
        let (_, json, images) = try convert("embedded.gltf") { $0.maxSize = 32 }
        let material = try #require(json.array("materials").first)
        let occlusionTexture = try #require(material.object("occlusionTexture")?["index"] as? Int)
        let occlusion = try #require(json.array("textures")[occlusionTexture]["source"] as? Int)
        // Occlusion is data, but its source is a JPEG: PNG would only store the JPEG artifacts, so it stays JPEG.
        #expect(mime(json, occlusion) == "image/jpeg")
        let o = try decodeImage(images[occlusion], .jpeg, maxPixels: 1 << 20)
        #expect((o.width, o.height) == (32, 16))
        let baseTexture = try #require(
            material.object("pbrMetallicRoughness")?.object("baseColorTexture")?["index"] as? Int)
        #expect(mime(json, json.array("textures")[baseTexture]["source"] as? Int) == "image/jpeg")
    }

    @Test func keepModeOnlyConvertsWhatGLTFCannotCarry() throws {
        let (_, json, images) = try convert("quads.obj") { $0.format = .keep }
        #expect(
            Set(json.array("images").compactMap { $0["mimeType"] as? String }).isSubset(of: ["image/png", "image/jpeg"])
        )
        #expect(images.contains(try Paths.bytes("photo.jpg")))
        #expect(images.contains(try Paths.bytes("big.png")))
        let tga = try #require(image(json, material: "tga_alpha"))
        #expect(
            try decodeImage(images[tga], .png, maxPixels: 1 << 20)
                == decodeImage(try Paths.bytes("alpha.png"), .png, maxPixels: 1 << 20))
        // The BMP becomes a lossless PNG (keep mode decodes only what it must convert, so it is not merged by pixels).
        let bmp = try #require(image(json, material: "bmp"))
        #expect(mime(json, bmp) == "image/png")
        #expect(
            try decodeImage(images[bmp], .png, maxPixels: 1 << 20)
                == decodeImage(try Paths.bytes("color.png"), .png, maxPixels: 1 << 20))
    }

    @Test(arguments: [false, true])
    func webpWritesTheExtensionAndDecodesIndependently(_ fallback: Bool) throws {
        let (_, json, images) = try convert("quads.obj") { o in
            o.format = .webp
            o.maxSize = 64
            o.webpFallback = fallback
        }
        let required = (json["extensionsRequired"] as? [String]) ?? []
        let used = (json["extensionsUsed"] as? [String]) ?? []
        #expect(used.contains("EXT_texture_webp"))
        #expect(required.contains("EXT_texture_webp") == !fallback)
        let webpTextures = json.array("textures").filter { $0.object("extensions")?.object("EXT_texture_webp") != nil }
        #expect(!webpTextures.isEmpty)
        for texture in webpTextures {
            let webp = try #require(texture.object("extensions")?.object("EXT_texture_webp")?["source"] as? Int)
            #expect(mime(json, webp) == "image/webp")
            if fallback {
                let source = try #require(texture["source"] as? Int)
                #expect(["image/png", "image/jpeg"].contains(mime(json, source)))
            } else {
                #expect(texture["source"] == nil)
            }
        }
        // An independent decoder (Pillow) reads every WebP the GLB holds.
        guard let python = Paths.python else { return }
        let folder = try Paths.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var files: [String] = []
        for (i, image) in json.array("images").enumerated() where image["mimeType"] as? String == "image/webp" {
            let file = folder.appendingPathComponent("\(i).webp")
            try Data(images[i]).write(to: file)
            files.append(file.path)
        }
        let script =
            "import sys\nfrom PIL import Image\nfor f in sys.argv[1:]:\n    im = Image.open(f); im.load(); print(im.format, im.size[0], im.size[1])"
        let result = try run(python, ["-c", script] + files)
        #expect(result.status == 0, "\(result.summary)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == files.count)
        #expect(lines.allSatisfy { $0.hasPrefix("WEBP ") })
        #expect(lines.contains("WEBP 64 32"))
    }

    @Test func outputIsTheSameForAnyThreadCount() throws {
        let scene = try importScene(from: Paths.fixture("quads.obj"))
        var options = TextureOptions()
        options.maxSize = 48
        var one = scene
        var many = scene
        let a = processTextures(&one, options: options, threads: 1)
        let b = processTextures(&many, options: options, threads: 4)
        #expect(one == many)
        #expect(a.images == b.images)
        // A tiny memory budget forces one image per batch: same result.
        options.memoryBudgetBytes = 1
        var small = scene
        _ = processTextures(&small, options: options, threads: 4)
        #expect(small == one)
    }

    @Test func aDecompressionBombIsDroppedWithoutAllocatingIt() throws {
        let folder = try Paths.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("bomb.glb")
        let reportFile = folder.appendingPathComponent("report.json")
        let result = try run(
            Paths.optimize, [Paths.fixture("bomb.obj").path, "-o", output.path, "--report", reportFile.path])
        #expect(result.status == 0, "\(result.summary)")
        #expect(validateGLB(Array(try Data(contentsOf: output))).isEmpty)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: reportFile)) as? [String: Any])
        let warnings = (report["warnings"] as? [String]) ?? []
        #expect(warnings.contains { $0.contains("100000×100000") })
        // 100000² RGBA would be 40 GB; the child's whole peak stays far below even one 64 Mpx image.
        let peak = try #require(report["peakRSSBytes"] as? Int)
        #expect(peak > 0 && peak < 200 << 20)
        let json = try glbJSON(output)
        #expect(json.array("images").isEmpty)
        #expect(json.array("materials").first?.object("pbrMetallicRoughness")?["baseColorFactor"] != nil)
    }
}
