import Foundation
import GLB
import Importers
import Scene
import Stages
import Textures

/// A stage finished: its name and wall time, for progress display.
public struct StageEvent: Sendable {
    public var stage: String
    public var seconds: Double
}

/// Converts `input` to an optimized GLB at `output`: import → stages → encode → validate → write.
///
/// The output appears only complete and valid: it is written to a temporary name in the same folder and renamed.
/// Throws `ProcessingError`; an output that fails validation is an internal error and nothing is written.
public func convert(input: URL, output: URL, settings: Settings,
                    progress: (StageEvent) -> Void = { _ in }) throws -> Report {
    var timings: [Report.StageTiming] = []
    func timed<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now()
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        timings.append(.init(stage: stage, seconds: seconds))
        progress(StageEvent(stage: stage, seconds: seconds))
        return result
    }

    let format = try detectFormat(of: input)
    var importOptions = ImportOptions()
    importOptions.importer = settings.importer
    importOptions.isolation = settings.isolation
    var scene = try timed("import") { try importScene(from: input, options: importOptions) }
    try validateScene(scene, file: input.path)
    let before = scene.statistics

    var simplification: [MeshSimplification]?
    var notes: [String] = []
    func stage(_ run: (inout Scene) throws -> StageReport) rethrows {
        let report = try run(&scene)
        timings.append(.init(stage: report.name, seconds: report.seconds))
        progress(StageEvent(stage: report.name, seconds: report.seconds))
        if let details = report.simplify { simplification = details }
        notes += report.notes.map { "\(report.name): \($0)" }
    }
    let threads = settings.effectiveThreads
    stage { prune(&$0) }
    if settings.deduplicate { try stage { try deduplicate(&$0) } }
    if settings.instancing { stage { instanceMeshes(&$0) } }
    if settings.weld { try stage { try weld(&$0, threads: threads) } }
    if let options = settings.simplify { try stage { try simplify(&$0, options: options, threads: threads) } }
    if settings.reorder { try stage { try optimizeOrder(&$0, threads: threads) } }
    let textureReport = timed("textures") { processTextures(&scene, options: settings.textures, threads: threads) }
    scene.warnings += textureReport.warnings.map { "textures: \($0)" }

    let options = GLBOptions(generator: settings.generator, quantization: settings.quantization,
                             compression: settings.compression)
    let encoded = try timed("encode") { try encodeGLB(scene, options: options) }
    let issues = timed("validate") { validateGLB(encoded.bytes) }
    if let first = issues.first {
        throw ProcessingError(.internal, file: output.path,
                              "output failed validation (\(issues.count) issue(s)), nothing written; first: \(first)")
    }
    try timed("write") { try writeAtomically(encoded.bytes, to: output) }

    return Report(
        input: input.path, output: output.path, format: format.rawValue,
        before: before, after: scene.statistics,
        inputBytes: fileSize(input), outputBytes: encoded.bytes.count, outputBreakdown: encoded.breakdown,
        stages: timings, notes: notes, simplification: simplification, textures: textureReport.images,
        peakRSSBytes: peakResidentBytes(), warnings: scene.warnings)
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
public func inspect(input: URL, importer: ImporterChoice = .native, isolation: ImportIsolation? = nil) throws -> Inspection {
    let format = try detectFormat(of: input)
    var options = ImportOptions()
    options.importer = importer
    options.isolation = isolation
    let scene = try importScene(from: input, options: options)
    try validateScene(scene, file: input.path)
    let bounds = scene.worldBounds()
    return Inspection(format: format.rawValue, statistics: scene.statistics,
                      boundsMin: bounds.map { [$0.min.x, $0.min.y, $0.min.z] },
                      boundsMax: bounds.map { [$0.max.x, $0.max.y, $0.max.z] },
                      warnings: scene.warnings)
}

func fileSize(_ url: URL) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
}
