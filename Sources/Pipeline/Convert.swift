import Dispatch
import FoundationEssentials
import GLB
import ImportSupport
import Importers
import Preview
import Scene
import Stages
import Textures

#if canImport(Glibc)
    import Glibc
#endif

/// A stage finished: its name and wall time, for progress display.
public struct StageEvent: Sendable {
    public var stage: String
    public var seconds: Double
}

/// Converts `input` to an optimized GLB at `output`: import → stages → encode → validate → write.
///
/// The output appears only complete and valid: it is written to a temporary name in the same folder and renamed.
/// Throws `ProcessingError`; an output that fails validation is an internal error and nothing is written.
public func convert(
    input: URL, output: URL, settings: Settings,
    progress: (StageEvent) -> Void = { _ in }
) throws -> Report {
    var timings: [Report.StageTiming] = []
    func record(_ stage: String, seconds: Double) {
        let memory = residentMemory()
        timings.append(.init(stage: stage, seconds: seconds, peakRSSBytes: memory.peak, rssBytes: memory.current))
        progress(StageEvent(stage: stage, seconds: seconds))
    }
    func timed<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now()
        let result = try body()
        record(stage, seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
        return result
    }

    let format = try detectFormat(of: input)
    var importOptions = ImportOptions()
    importOptions.importer = settings.importer
    importOptions.threads = settings.effectiveThreads
    importOptions.isolation = settings.isolation
    var scene = try timed("import") { try importScene(from: input, format: format, options: importOptions) }
    try validateScene(scene, file: input.path)
    let before = scene.statistics

    var simplification: [MeshSimplification]?
    var notes: [String] = []
    func stage(_ run: (inout Scene) throws -> StageReport) rethrows {
        let report = try run(&scene)
        record(report.name, seconds: report.seconds)
        if let details = report.simplify { simplification = details }
        notes += report.notes.map { "\(report.name): \($0)" }
    }
    let threads = settings.effectiveThreads
    stage { prune(&$0) }
    if settings.deduplicate { try stage { try deduplicate(&$0) } }
    if settings.instancing { stage { instanceMeshes(&$0) } }
    stage { pruneAttributes(&$0) }
    if settings.flatten { stage { flattenStaticNodes(&$0) } }
    if settings.weld { try stage { try weld(&$0, threads: threads) } }
    stage { mergePrimitives(&$0, weld: settings.weld, threads: threads) }
    let originalNodeCount = scene.nodes.count
    var levels: [LevelReport]?
    var budget: BudgetResult?
    var textureImages: [ImageReport]
    var options = GLBOptions(
        generator: settings.generator, quantization: settings.quantization,
        compression: settings.compression)
    if let maxBytes = settings.maxBytes {
        let found = try timed("budget") {
            try searchBudget(scene, budget: maxBytes, settings: settings, threads: threads)
        }
        (scene, options, textureImages, simplification) = (
            found.scene, found.options, found.textures, found.simplification
        )
        scene.warnings += found.textureWarnings
        if !found.report.budgetMet {
            scene.warnings.append(
                "budget: \(maxBytes) bytes not reached; the smallest output found is \(found.report.bytes) bytes "
                    + "(floor: \(Int(budgetFloor.ratio * 100)) % of the triangles, \(budgetFloor.textureSide) px textures)"
            )
        }
        budget = found
    } else {
        if let options = settings.simplify { try stage { try simplify(&$0, options: options, threads: threads) } }
        if !settings.lods.isEmpty {
            levels = try timed("lods") { try addLevelsOfDetail(&scene, ratios: settings.lods, threads: threads) }
        }
        if settings.dropFlatNormals {
            stage {
                dropFlatNormals(&$0, positionBits: settings.coarsestPositionBits, weld: settings.weld, threads: threads)
            }
        }
        if settings.reorder {
            // Strip order (as gltfpack -cc): smaller compressed indices, meshopt or gzip/brotli on the wire. One order
            // for every output, so a meshopt file decodes to the --quantize file's data and that one to the float one.
            try stage { try optimizeOrder(&$0, options: OrderOptions(forCompression: true), threads: threads) }
        }
        var images: [ImageReport] = []
        stage { scene in
            let report = processTextures(&scene, options: settings.textures, threads: threads)
            images = report.images
            return report.stage
        }
        textureImages = images
    }
    // One file, or with --lod-files one per level (level 0 at `output`); all are validated before any is written.
    let after = scene.statistics
    var warnings = scene.warnings
    var scenes: [Scene]
    var urls = [output]
    if settings.lodFiles, let count = levels?.count {
        scenes = splitLevels(scene, levels: count, originalNodeCount: originalNodeCount)
        urls += (1..<count).map { levelFileURL(output, level: $0) }
        for k in 1..<count { levels?[k].file = urls[k].path }
    } else {
        scenes = [scene]
    }
    scene = Scene()
    // The preview is drawn before the encoder consumes the scene, and written after the GLB.
    let preview = settings.preview.map { request in
        timed("preview") { drawPreview(scenes[0], request: request, threads: threads) }
    }
    let encodedFiles =
        try budget.map { [$0.encoded] }
        ?? timed("encode") {
            try scenes.indices.map { k in
                let level = scenes[k]
                scenes[k] = Scene()
                return try encodeGLB(consume level, options: options)
            }
        }
    try timed("validate") {
        for (url, encoded) in zip(urls, encodedFiles) {
            let issues = validateGLB(encoded.bytes)
            if let first = issues.first {
                throw ProcessingError(
                    .internal, file: url.path,
                    "output failed validation (\(issues.count) issue(s)), nothing written; first: \(first)")
            }
        }
    }
    let encoded = encodedFiles[0]
    try timed("write") {
        for (url, encoded) in zip(urls, encodedFiles) { try writeAtomically(encoded.bytes, to: url) }
    }
    let previewReport = preview.flatMap { writePreview($0, warnings: &warnings) }

    return Report(
        input: input.path, output: output.path, format: format.rawValue,
        before: before, after: after,
        inputBytes: fileSize(input), outputBytes: encoded.bytes.count, outputBreakdown: encoded.breakdown,
        stages: timings, notes: notes, simplification: simplification, textures: textureImages,
        budget: budget?.report, levels: levels, preview: previewReport, peakRSSBytes: peakResidentBytes(),
        warnings: warnings)
}

/// A preview drawn before encoding, to be written once the GLB is: the picture or why there is none.
struct PendingPreview {
    var request: PreviewRequest
    var result: Result<RenderedPreview, any Error>
    var seconds: Double
}

/// Renders the preview of the scene about to be encoded.
func drawPreview(_ scene: Scene, request: PreviewRequest, threads: Int) -> PendingPreview {
    let start = DispatchTime.now()
    let result = Result { try renderPreview(scene, options: request.options, threads: threads) }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    return PendingPreview(request: request, result: result, seconds: seconds)
}

/// Writes the rendered preview; a failure is a warning (the GLB is already written), never an error.
func writePreview(_ preview: PendingPreview, warnings: inout [String]) -> PreviewReport? {
    let request = preview.request
    do {
        let rendered = try preview.result.get()
        try writeAtomically(rendered.png, to: URL(fileURLWithPath: request.path))
        warnings += rendered.warnings.map { "preview: \($0)" }
        return PreviewReport(
            file: request.path, width: rendered.width, height: rendered.height,
            bytes: rendered.png.count, trianglesDrawn: rendered.trianglesDrawn, seconds: preview.seconds,
            camera: rendered.camera)
    } catch {
        warnings.append("preview: \(request.path): not rendered: \(error)")
        return nil
    }
}

/// What the importer reads from a file: counts and world bounds.
public struct Inspection: Sendable, Codable, Equatable {
    public var format: String
    public var statistics: SceneStatistics
    public var boundsMin: [Float]?
    public var boundsMax: [Float]?
    public var warnings: [String]
}

/// Imports a file and describes it (any supported input, including a GLB we wrote).
public func inspect(input: URL, importer: ImporterChoice = .native, isolation: ImportIsolation? = nil) throws
    -> Inspection
{
    let format = try detectFormat(of: input)
    var options = ImportOptions()
    options.importer = importer
    options.isolation = isolation
    let scene = try importScene(from: input, format: format, options: options)
    try validateScene(scene, file: input.path)
    let bounds = scene.worldBounds()
    return Inspection(
        format: format.rawValue, statistics: scene.statistics,
        boundsMin: bounds.map { [$0.min.x, $0.min.y, $0.min.z] },
        boundsMax: bounds.map { [$0.max.x, $0.max.y, $0.max.z] },
        warnings: scene.warnings)
}
