import ArgumentParser
import CommandSupport
import ExitStatus
import FoundationEssentials
import GLB
import Importers
import Pipeline
import Scene
import Stages

struct Optimize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Turn 3D files (FBX, OBJ, STL, PLY, DAE, glTF/GLB) into small, valid, web-ready GLB.",
        discussion: ExitStatus.convertTable,
        version: optimizeVersion,
        subcommands: [
            Convert.self, Validate.self, Inspect.self, Formats.self, Rpdx.self, JobForward.self, S3Forward.self,
            ImportChild.self, CheckConvertOptions.self
        ],
        defaultSubcommand: Convert.self)
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert and optimize IN into OUT.glb (the default command).",
        discussion: ExitStatus.convertTable)

    @Argument(help: "The input model; its format is detected from its content.")
    var input: String

    @Option(name: .shortAndLong, help: "The output GLB file.")
    var output: String

    @Option(help: "Write a JSON report (counts before/after, bytes by category, stage times, peak memory).")
    var report: String?

    @Option(help: "Worker threads (default: the container's CPU limit, else the number of cores).")
    var threads: Int?

    @Option(help: "Reader for formats that have a native one: native (default) or assimp (for comparison).")
    var importer: ImporterChoice = .native

    @Option(
        help:
            "Simplify: fraction of the triangles to keep, in (0, 1] (like gltfpack -si); several meshes share it so they deviate alike."
    )
    var ratio: Float?

    @Option(help: "Simplify: triangle budget for the whole scene as drawn, split across meshes by surface area.")
    var triangles: Int?

    @Option(
        help:
            "Simplify: largest deviation allowed, relative to each mesh's extent, or to the scene's for meshes sharing a ratio (default \(SimplifyOptions().targetError) when simplifying; like gltfpack -se)."
    )
    var error: Float?

    @Flag(help: "Simplify: keep vertices on open borders in place.")
    var lockBorders = false

    @Flag(help: "Simplify: fall back to the sloppy simplifier when the regular one stalls (like gltfpack -sa).")
    var aggressive = false

    @Flag(help: "Keep vertices as imported (no welding of identical vertices).")
    var noWeld = false

    @Flag(help: "Keep triangle and vertex order as imported.")
    var noReorder = false

    @Flag(
        help:
            "Keep normals that equal each triangle's own (flat) normal; by default they are dropped, since glTF viewers must compute flat normals where none are given, and the vertices they split are welded."
    )
    var keepFlatNormals = false

    @Flag(help: "Draw sibling copies of a mesh as one node with EXT_mesh_gpu_instancing (required; like gltfpack -mi).")
    var instancing = false

    @Flag(
        inversion: .prefixedNo,
        help:
            "Bake the meshes of static nodes into one mesh on one node, as gltfpack does; nodes this leaves empty are removed (animated, skinned and instanced meshes, cameras and lights stay). Default: the preset's (on for web), else off."
    )
    var flatten: Bool?

    @OptionGroup(title: "Textures")
    var textureArguments: TextureArguments

    @OptionGroup(title: "Geometry compression")
    var compressionArguments: CompressionArguments

    @OptionGroup(title: "Presets and quantization")
    var quantizationArguments: QuantizationArguments

    @OptionGroup(title: "Output-size budget")
    var budgetArguments: BudgetArguments

    @OptionGroup(title: "Levels of detail")
    var levelArguments: LevelArguments

    @OptionGroup(title: "Preview image")
    var previewArguments: PreviewArguments

    @OptionGroup(title: "Importer isolation")
    var isolationArguments: IsolationArguments

    /// `rpdx` (VAMS) replaces a .glb input in place by design: its input is a downloaded copy.
    @Flag(help: .hidden)
    var replaceInput = false

    func validate() throws {
        if !replaceInput,
            let conflict = outputConflict(input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output))
        {
            throw ValidationError("-o \(output) \(conflict); writing it would destroy input data")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let ratio, !(ratio > 0 && ratio <= 1) { throw ValidationError("--ratio must be in (0, 1]") }
        if let triangles, triangles < 1 { throw ValidationError("--triangles must be at least 1") }
        if let error, !(error >= 0 && error <= 1) { throw ValidationError("--error must be in [0, 1]") }
        if budgetArguments.maxBytes != nil && levelArguments.lods != nil {
            throw ValidationError("--max-bytes and --lods cannot be combined")
        }
    }

    func run() throws {
        var settings = Settings()
        if let preset = quantizationArguments.preset { settings = preset.apply(to: settings) }
        settings.threads = threads ?? 0
        settings.importer = importer
        settings.isolation = isolationArguments.isolation(for: input)
        settings.weld = !noWeld
        settings.reorder = !noReorder
        settings.dropFlatNormals = !keepFlatNormals
        settings.instancing = instancing
        if let flatten { settings.flatten = flatten }
        settings.textures = textureArguments.options
        settings.preview = previewArguments.request
        settings.lods = try levelArguments.ratios
        settings.maxBytes = budgetArguments.bytes
        settings.lodFiles = levelArguments.lodFiles
        if let compression = compressionArguments.compression { settings.compression = compression }
        try quantizationArguments.apply(to: &settings)
        if ratio != nil || triangles != nil || error != nil {
            var simplify = SimplifyOptions(
                ratio: ratio, triangleBudget: triangles, lockBorders: lockBorders,
                aggressive: aggressive)
            if let error { simplify.targetError = error }
            settings.simplify = simplify
        }
        let progress = ProgressPrinter()
        let result = try Pipeline.convert(
            input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output),
            settings: settings, progress: progress.stageFinished)
        for warning in result.warnings { progress.warn(warning) }
        if let report {
            try writeAtomically(try result.json(), to: URL(fileURLWithPath: report))
        }
        progress.summary(result)
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a GLB file against the glTF 2.0 rules; exit 3 and list the problems if it breaks any.")

    @Argument(help: "The GLB file to check.")
    var file: String

    func run() throws {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw ProcessingError(.io, file: file, "cannot read: \(describe(error))")
        }
        let issues = validateGLB(bytes)
        if issues.isEmpty {
            print("\(file): valid glTF 2.0 binary (\(bytes.count) bytes)")
            return
        }
        for issue in issues { printError("\(file): \(issue)") }
        throw ExitCode(ExitStatus.badInput.rawValue)
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print what the importer reads from a file: counts of nodes, meshes, triangles, … and its bounds.")

    @Argument(help: "Any supported input, or a GLB.")
    var file: String

    @Option(help: "Reader for formats that have a native one: native (default) or assimp.")
    var importer: ImporterChoice = .native

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @OptionGroup(title: "Importer isolation")
    var isolationArguments: IsolationArguments

    func run() throws {
        let result = try Pipeline.inspect(
            input: URL(fileURLWithPath: file), importer: importer,
            isolation: isolationArguments.isolation(for: file))
        if json {
            print(String(decoding: try encodeJSON(InspectJSON(result)), as: UTF8.self))
            return
        }
        let s = result.statistics
        print("\(file) (\(result.format))")
        for (label, value) in [
            ("nodes", s.nodes), ("meshes", s.meshes), ("primitives", s.primitives),
            ("vertices", s.vertices), ("triangles", s.triangles),
            ("instanced triangles", s.instancedTriangles), ("materials", s.materials),
            ("textures", s.textures), ("images", s.images), ("image bytes", s.imageBytes),
            ("skins", s.skins), ("animations", s.animations), ("cameras", s.cameras),
            ("lights", s.lights)
        ] {
            print("  \(label.padded(to: 20))\(value)")
        }
        if let lo = result.boundsMin, let hi = result.boundsMax {
            print("  bounds              \(lo) … \(hi)")
        }
        for warning in result.warnings { print("  warning: \(warning)") }
    }
}

/// The flat JSON shape of `inspect --json`.
struct InspectJSON: Encodable {
    struct Bounds: Encodable { var min: [Float], max: [Float] }
    var format: String
    var nodes, meshes, primitives, vertices, triangles, instancedTriangles: Int
    var materials, textures, images, imageBytes, skins, animations, cameras, lights: Int
    var bounds: Bounds?
    var warnings: [String]

    init(_ r: Inspection) {
        let s = r.statistics
        format = r.format
        (nodes, meshes, primitives, vertices, triangles) = (s.nodes, s.meshes, s.primitives, s.vertices, s.triangles)
        instancedTriangles = s.instancedTriangles
        (materials, textures, images, imageBytes) = (s.materials, s.textures, s.images, s.imageBytes)
        (skins, animations, cameras, lights) = (s.skins, s.animations, s.cameras, s.lights)
        if let lo = r.boundsMin, let hi = r.boundsMax { bounds = Bounds(min: lo, max: hi) }
        warnings = r.warnings
    }
}

extension ImporterChoice: ExpressibleByArgument {}
