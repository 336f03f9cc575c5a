import Foundation
import ImportSupport
import Importers
import Scene
import TestSupport
import Testing

/// Corpus rows that must read: not broken, and something to draw per the manifest or the file.
private let readableRows = CorpusRow.meshRows.filter { !$0.brokenOrMutant && $0.assimp != "FAIL" }
private let brokenRows = CorpusRow.meshRows.filter(\.brokenOrMutant)

private func load(_ url: URL, _ importer: ImporterChoice, threads: Int = 2) throws -> Scene {
    var options = ImportOptions()
    options.importer = importer
    options.threads = threads
    return try importScene(from: url, options: options)
}

/// Materials compared by what the Assimp path maps from MTL: name, base color, alpha, roughness, textures.
private func materialKey(_ m: Material, _ scene: Scene) -> String {
    func image(_ ref: TextureRef?) -> String {
        guard let ref else { return "-" }
        return scene.images[scene.textures[ref.texture].image].name
    }
    let c = m.baseColorFactor
    return String(
        format: "%@ %.4f %.4f %.4f %.3f r%.3f %@ %@ %@ %@", m.name, c.x, c.y, c.z, c.w, m.roughnessFactor,
        m.alphaMode.rawValue, image(m.baseColorTexture), image(m.normalTexture), image(m.emissiveTexture))
}

@Suite(
    "Native OBJ/STL/PLY readers on ../shared/corpus", .enabled(if: Paths.corpus != nil, "../shared/corpus is absent"))
struct CorpusTests {
    @Test(
        "reads every file not marked broken, with the manifest's triangles, agreeing with the Assimp path",
        arguments: readableRows)
    func agreesWithAssimp(_ row: CorpusRow) throws {
        let native = try load(row.url, .native)
        let summary = Summary(native)
        // The manifest counts Assimp's faces; where the Assimp path reads the file, agree with it exactly.
        let assimp = try load(row.url, .assimp)
        let reference = Summary(assimp)
        if row.path.hasSuffix("ant-half.ply") {
            // Truncated after 259 of its 912 faces: Assimp invents the missing ones, we keep the complete ones.
            #expect(summary.triangles == 259 && native.warnings.contains { $0.contains("259 of the 912") })
            return
        }
        #expect(summary.triangles == reference.triangles, "native \(summary), assimp \(reference)")
        #expect(
            summary.points == reference.points || row.tags.contains("lines"), "native \(summary), assimp \(reference)")
        if let triangles = row.triangles, !row.tags.contains("lines"), row.path.range(of: "spider") == nil {
            #expect(summary.triangles == triangles)
        }
        let tolerance = max(reference.diagonal, 1e-6) * 1e-5
        if row.format == "ply", reference.triangles > 0 {
            // Assimp keeps vertices no face uses: our bounds lie inside its bounds.
            #expect(
                all(summary.minimum .>= reference.minimum - tolerance)
                    && all(summary.maximum .<= reference.maximum + tolerance))
        } else {
            let low = summary.minimum - reference.minimum
            let high = summary.maximum - reference.maximum
            #expect(
                all(pointwiseMax(low, -low) .<= SIMD3(repeating: tolerance))
                    && all(pointwiseMax(high, -high) .<= SIMD3(repeating: tolerance)),
                "native \(summary), assimp \(reference)")
        }
        // polygonfaces.obj has a face whose projection folds back on itself: Assimp's library fans it from its last
        // corner, trimesh, gltfpack and `assimp export -tri` from its first, as the native reader does.
        if reference.area > 0, row.path.range(of: "polygonfaces") == nil {
            #expect(
                abs(summary.area - reference.area) <= reference.area * 1e-4, "native \(summary), assimp \(reference)")
        }
        if row.format == "obj" {
            // The materials primitives use, by name (Assimp adds a default one for faces without usemtl).
            let used = Set(native.meshes.flatMap(\.primitives).compactMap(\.material))
            let ours = used.map { materialKey(native.materials[$0], native) }.sorted()
            let theirs = Set(assimp.meshes.flatMap(\.primitives).compactMap(\.material))
                .map { assimp.materials[$0] }.filter { m in native.materials.contains { $0.name == m.name } }
                .map { materialKey($0, assimp) }.sorted()
            #expect(ours == theirs)
        }
    }

    @Test("the same scene for 1 and 2 threads", arguments: readableRows.filter { $0.format == "obj" })
    func threads(_ row: CorpusRow) throws {
        #expect(try load(row.url, .native, threads: 1) == load(row.url, .native, threads: 2))
    }

    @Test(
        "files marked broken, the PLY security payloads and ../shared/hostile reproducers fail cleanly",
        arguments: brokenRows.map(\.url)
            + ((try? FileManager.default.contentsOfDirectory(
                at: Paths.shared.appendingPathComponent("hostile"),
                includingPropertiesForKeys: nil)) ?? [])
            .filter { ["ply", "obj", "stl"].contains($0.pathExtension) })
    func failsCleanly(_ url: URL) throws {
        do {
            let scene = try load(url, .native)
            // Tagged broken but readable (malformed2.obj: an empty face, an unknown material) is fine if it draws.
            #expect(!scene.meshes.isEmpty, "\(url.lastPathComponent)")
        } catch let error as ProcessingError {
            #expect(error.kind == .badInput, "\(error)")
            #expect(!"\(error)".contains("\n"))
            #expect("\(error)".contains(url.lastPathComponent))
        }
    }
}

@Suite("optimize on native-read inputs", .enabled(if: Paths.corpus != nil, "../shared/corpus is absent"))
struct CLITests {
    @Test(
        "converts through the gate; byte-identical output for --threads 1 and 2",
        arguments: readableRows.filter { row in
            [
                "trimesh__groups.obj", "assimp__spider", "assimp__Spider_binary.stl", "trimesh__bunny.ply",
                "c3d__beast.obj"
            ].contains { row.path.contains($0) }
        })
    func deterministic(_ row: CorpusRow) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var outputs: [Data] = []
        for threads in [1, 2] {
            let out = folder.url.appendingPathComponent("out\(threads).glb")
            let result = try optimize([row.url.path, "-o", out.path, "--threads", "\(threads)", "--preset", "web"])
            #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
            outputs.append(try Data(contentsOf: out))
            let validation = try optimize(["validate", out.path])
            #expect(validation.status == 0, "\(validation.stderr)")
        }
        #expect(outputs[0] == outputs[1])
    }

    @Test("broken inputs exit 3 with one line naming the file; none crashes or hangs", arguments: brokenRows)
    func broken(_ row: CorpusRow) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let result = try optimize([row.url.path, "-o", folder.url.appendingPathComponent("o.glb").path], timeout: 60)
        #expect(!result.signaled && !result.timedOut)
        if result.status != 0 {
            #expect(result.status == 3)
            #expect(
                result.stderrLines.count == 1 && result.stderr.contains(row.url.lastPathComponent), "\(result.stderr)")
        }
    }
}

@Suite("Shared text parsing")
struct TextParsingTests {
    @Test("parseFloat is exact: it matches strtof on random and tricky decimal strings")
    func floats() {
        var generator = SystemRandomNumberGenerator()
        var cases = [
            "0", "-0", "+1", "1.", ".5", "-.5e-3", "3.4028235e38", "3.4028236e38", "1e39", "1e-46", "1.4e-45",
            "1.17549435e-38", "0.1", "0.30000001192092896", "16777217", "16777216.5", "9007199254740993",
            "1.00000005960464477539062500000000000001", "123456789012345678901234567890", "2.5e-10",
            "7.038531e-26", "1E2", "2.e+1", "00000.00001", "4.9406564584124654e-324"
        ]
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...18, using: &generator)
            var text = Bool.random(using: &generator) ? "-" : ""
            let point = Int.random(in: 0...digits, using: &generator)
            for k in 0..<digits {
                if k == point { text += "." }
                text += String(Int.random(in: 0...9, using: &generator))
            }
            if Bool.random(using: &generator) { text += "e\(Int.random(in: -40...40, using: &generator))" }
            cases.append(text)
        }
        // Values exactly halfway between two Floats (round-half-even decides).
        for _ in 0..<2_000 {
            let f = Float(bitPattern: UInt32.random(in: 0x0080_0000...0x7F00_0000, using: &generator))
            let half = (Double(f) + Double(f.nextUp)) / 2
            cases.append(String(format: "%.40g", half))
        }
        for text in cases {
            let bytes = Array(text.utf8)
            var offset = 0
            let parsed = bytes.withUnsafeBufferPointer { parseFloat($0.baseAddress!, &offset, bytes.count) }
            let expected = strtof(text, nil)
            #expect(parsed?.bitPattern == expected.bitPattern, "\(text): \(String(describing: parsed)) vs \(expected)")
            #expect(offset == bytes.count, "\(text)")
        }
    }

    @Test("nan, inf and garbage")
    func specials() {
        func parse(_ text: String) -> (Float?, Int) {
            let bytes = Array(text.utf8)
            var offset = 0
            let value = bytes.withUnsafeBufferPointer { parseFloat($0.baseAddress!, &offset, bytes.count) }
            return (value, offset)
        }
        #expect(parse("nan").0?.isNaN == true)
        #expect(parse("-Infinity").0 == -.infinity && parse("-Infinity").1 == 9)
        #expect(parse("inf").0 == .infinity)
        #expect(parse("x").0 == nil && parse("x").1 == 0)
        #expect(parse("-").0 == nil && parse(".").0 == nil && parse("e5").0 == nil)
        #expect(parse("3.1+e2").0 == 3.1 && parse("3.1+e2").1 == 3)
        #expect(parse("1e").0 == 1 && parse("1e").1 == 1)
    }
}
