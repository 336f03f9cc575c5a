import AlembicImporter
import CAssimp
import FBXImporter
import FoundationEssentials
import GLTFImporter
import ImportSupport
import OBJImporter
import PLYImporter
import STLImporter
import Scene

/// Which reader a format goes through where there is a choice.
public enum ImporterChoice: String, Sendable, CaseIterable {
    /// Our own reader where the format has one (see `InputFormat.hasNativeReader`), else Assimp or a plugin.
    case native
    /// Assimp for every format it reads (for comparison and as a fallback).
    case assimp
}

/// Options for `importScene`.
public struct ImportOptions: Sendable {
    /// Native reader or Assimp, where a format has both.
    public var importer: ImporterChoice = .native
    /// Converter plugins for formats without a built-in importer; nil = `PluginRegistry.discover()`.
    public var plugins: PluginRegistry?
    /// Overrides the plugin manifest's time limit (seconds).
    public var pluginTimeout: TimeInterval?
    /// The environment plugins see (their `{env:…}` placeholders and `PATH`); nil = this process's.
    public var environment: [String: String]?
    /// Worker threads for the native readers that parse in parallel; 0 = the active processor count. The scene
    /// read is the same for any value.
    public var threads = 0
    /// Run Assimp and plugins in a child process with time and memory limits; nil = in this process.
    public var isolation: ImportIsolation?

    public init() {}
}

/// Imports any supported file into a Scene (glTF conventions). Throws ProcessingError.
///
/// The format comes from the file's content (`detectFormat`), whatever its extension. glTF/GLB, OBJ, STL, PLY and FBX
/// go to their native readers unless `options.importer` is `.assimp` (FBX falls back to Assimp for what its reader
/// declines). Assimp 5.2.5 reads the others with
/// only the post-processing the pipeline needs: triangulation, splitting points/lines/triangles into separate
/// meshes and at most 4 bone weights per vertex. Meshes without normals stay without: glTF viewers then shade
/// them flat, as the generated normals would, while the vertices stay weldable and the file smaller. Vertices are not welded
/// (a later stage does that). Every file besides the model is read from the model's folder only.
/// Alembic (Ogawa) archives go to the native `AlembicImporter` plugin instead; formats neither reads (USD, USDZ) go
/// to the external converter plugin declared for them (`PluginRegistry`). With `options.isolation`, Assimp and
/// plugins run in a child process (`ImportIsolation`); native readers always run here.
public func importScene(from url: URL, options: ImportOptions = ImportOptions()) throws -> Scene {
    try importScene(from: url, format: try detectFormat(of: url), options: options)
}

/// Imports `url` as `format` (what `detectFormat` said of it, for callers that already asked).
public func importScene(from url: URL, format: InputFormat, options: ImportOptions = ImportOptions()) throws -> Scene {
    let path = url.path
    var fallbackWarnings: [String] = []
    if options.importer == .native {
        do {
            if let scene = try importNative(url, format: format, threads: options.threads) { return scene }
        } catch let unsupported as FBXUnsupported {
            fallbackWarnings.append(
                "native FBX reader cannot read this file (\(unsupported.reason)); read with Assimp instead")
        }
    }
    if format == .alembic {
        let scene = try importAlembic(from: url)
        guard !scene.meshes.isEmpty else {
            throw ProcessingError(
                .badInput, file: path, "contains no geometry (no PolyMesh or SubD in the Alembic archive)")
        }
        return scene
    }
    if let isolation = options.isolation {
        return try importIsolated(url, format: format, options: options, isolation: isolation)
    }
    guard let ext = format.assimpExtension else {
        return try importWithPlugin(url, format: format, options: options)
    }
    if format == .ply { try rejectPLYTriangleStrips(url) }
    var scene = try importWithAssimp(url, format: format, extension: ext, reportedPath: path)
    scene.warnings = fallbackWarnings + scene.warnings
    return scene
}

/// Reads `url` with the native reader for `format`; nil when the format has none (Assimp or a plugin reads it).
/// Throws `FBXUnsupported` when the FBX reader declines a well-formed file (Assimp then reads it).
private func importNative(_ url: URL, format: InputFormat, threads: Int) throws -> Scene? {
    let threads = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
    switch format {
    case .fbx: return try importFBX(from: url, threads: threads)
    case .obj: return try importOBJ(from: url, threads: threads)
    case .stl: return try importSTL(from: url, threads: threads)
    case .ply: return try importPLY(from: url)
    case .gltf, .glb: return try importGLTF(from: url)
    default: return nil
    }
}

/// Formats without a built-in importer (USD) go to the external converter the plugin registry names; its GLB is
/// read back through the native glTF reader, with the converter's warnings added.
private func importWithPlugin(_ url: URL, format: InputFormat, options: ImportOptions) throws -> Scene {
    let path = url.path
    let environment = options.environment ?? ProcessInfo.processInfo.environment
    guard let plugin = (options.plugins ?? PluginRegistry.discover(environment: environment)).plugin(for: format) else {
        throw ProcessingError(
            .badInput, file: path,
            "unsupported format: \(format.displayName) (no importer plugin installed)")
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("optimize-plugin-\(UUID().uuidString)")
    do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
        throw ProcessingError(
            .io, file: scratch.path, "cannot create a temporary folder: \(describe(error))")
    }
    defer { try? FileManager.default.removeItem(at: scratch) }
    let (glb, warnings) = try runConverter(
        plugin, on: url, format: format, scratch: scratch,
        timeout: options.pluginTimeout, environment: environment)
    var scene: Scene
    do {
        scene = try importGLTF(from: glb)
    } catch var error as ProcessingError {
        error.file = path
        throw error
    }
    scene.warnings = warnings + scene.warnings
    return scene
}

/// Reads `url` with Assimp; messages name `reportedPath` (the user's file when `url` is a converter's output).
private func importWithAssimp(
    _ url: URL, format: InputFormat, extension ext: String,
    reportedPath path: String
) throws -> Scene {
    let sandbox = SandboxedFileIO(modelURL: url, extension: ext)
    let scenePointer = try readWithAssimp(sandbox: sandbox, path: path)
    defer { cassimp_releaseImport(scenePointer) }
    var converter = SceneConverter(ai: scenePointer, format: format, path: path, folder: ModelFolder(modelURL: url))
    var scene = try converter.convert()
    for reference in sandbox.refused {
        scene.warnings.append("file '\(reference)' requested by the loader was not read: outside the model's folder")
    }
    return scene
}

private let baseSteps =
    aiProcess_Triangulate.rawValue | aiProcess_SortByPType.rawValue
    | aiProcess_LimitBoneWeights.rawValue

/// Runs Assimp; retries without structure validation, which rejects point clouds and face-less meshes.
private func readWithAssimp(sandbox: SandboxedFileIO, path: String) throws -> UnsafePointer<aiScene> {
    if let failure = cassimp_load() {
        throw ProcessingError(
            .internal, file: path, "cannot load Assimp to read this file: \(String(cString: failure))")
    }
    guard let store = cassimp_createPropertyStore() else {
        throw ProcessingError(.internal, file: path, "cannot create Assimp property store")
    }
    defer { cassimp_releasePropertyStore(store) }
    cassimp_setImportPropertyInteger(store, "IMPORT_FBX_PRESERVE_PIVOTS", 0)
    cassimp_setImportPropertyInteger(store, "PP_LBW_MAX_WEIGHTS", 4)

    func attempt(_ steps: UInt32) -> (UnsafePointer<aiScene>?, String) {
        sandbox.withFileIO { io in
            let result = cassimp_importFileExWithProperties(sandbox.virtualPath, steps, io, store)
            return (result, result == nil ? String(cString: cassimp_getErrorString()) : "")
        }
    }
    let (validated, firstError) = attempt(baseSteps | aiProcess_ValidateDataStructure.rawValue)
    if let validated { return validated }
    if firstError.lowercased().contains("validat") || firstError.contains("mNumFaces") {
        let (unvalidated, _) = attempt(baseSteps)
        if let unvalidated { return unvalidated }
        // SortByPType rejects meshes without vertices (an empty STL solid beside a real one).
        let (unsorted, _) = attempt(baseSteps & ~aiProcess_SortByPType.rawValue)
        if let unsorted { return unsorted }
    }
    if firstError.contains("bad_alloc") {
        throw ProcessingError(.resourceLimit, file: path, "Assimp ran out of memory reading it")
    }
    throw ProcessingError(.badInput, file: path, "Assimp cannot read it: \(oneLine(firstError))")
}

private func oneLine(_ text: String) -> String {
    let joined = text.split(whereSeparator: \.isNewline).map(\.trimmed)
        .joined(separator: " ")
    return joined.isEmpty ? "unknown error" : joined
}

/// Assimp 5.2.5 reads only the first triangle of a `tristrips` element, so such files are refused.
private func rejectPLYTriangleStrips(_ url: URL) throws {
    guard let file = try? MappedFile(url) else { return }
    let text = String(decoding: file.bytes.prefix(65_536), as: UTF8.self)
    let header = text.firstRange(of: "end_header").map { text[..<$0.lowerBound] } ?? text[...]
    for line in header.split(whereSeparator: \.isNewline) {
        let words = line.split(whereSeparator: \.isWhitespace)
        if words.count >= 2, words[0] == "element", words[1] == "tristrips" {
            throw ProcessingError(.badInput, file: url.path, "PLY triangle strips are not supported")
        }
    }
}
