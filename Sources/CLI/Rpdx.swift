import ArgumentParser
import CommandSupport
import FoundationEssentials
import Scene

/// `optimize rpdx`: a drop-in for the RapidPipeline 3D Processor CLI command line that VAMS runs
/// (`/rpdx/rpdx [--read_config rp_config.json] -i IN -c -e OUT`), mapped onto `optimize convert`.
struct Rpdx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpdx",
        abstract: "RapidPipeline-compatible entry point: -i IN [-c] [-e OUT.glb] [--read_config rp_config.json].",
        discussion: """
            -i imports IN; -c applies the processing settings of --read_config (decimation target as faces \
            percentage or count, deviation percentage; Draco export; texture re-encoding format and maximum \
            resolution); -e writes OUT (GLB only). Without -e the output is the \
            name VAMS expects: BASE-glb.glb, or BASE.glb when IN is already a .glb. Settings with no \
            `optimize convert` equivalent are ignored with one warning line each.
            """)

    @Option(name: [.customShort("i"), .customLong("import")], help: "The input model.")
    var input: String

    @Flag(name: [.customShort("c"), .customLong("compress")], help: "Apply the processing settings of the config.")
    var compress = false

    @Option(name: [.customShort("e"), .customLong("export")], help: "The output file (.glb).")
    var export: String?

    @Option(name: .customLong("read_config"), help: "A RapidPipeline 3D Processing settings file (JSON).")
    var readConfig: String?

    func validate() throws {
        if let export, URL(fileURLWithPath: export).pathExtension.lowercased() != "glb" {
            throw ValidationError("-e \(export): only .glb export is supported")
        }
    }

    func run() throws {
        let output = export ?? Self.vamsOutputName(forInput: input)
        var arguments = [input, "-o", output, "--replace-input"]
        if let readConfig {
            let mapping = try RapidPipelineConfig(contentsOf: readConfig)
            if compress {
                arguments += mapping.convertArguments
                for ignored in mapping.ignored {
                    printError("warning: rpdx: \(readConfig): ignoring \(ignored) (no optimize convert equivalent)")
                }
            } else if !mapping.convertArguments.isEmpty {
                printError("warning: rpdx: \(readConfig): processing settings not applied without -c")
            }
        }
        let convert = try Convert.parse(arguments)
        try convert.run()
    }

    /// The output name VAMS expects for `input`: `chair.fbx` → `chair-glb.glb`, `chair.glb` → `chair.glb`.
    static func vamsOutputName(forInput input: String) -> String {
        let url = URL(fileURLWithPath: input)
        let base = url.deletingPathExtension().lastPathComponent
        return url.pathExtension.lowercased() == "glb" ? "\(base).glb" : "\(base)-glb.glb"
    }
}

/// The parts of a RapidPipeline settings file (3D Processing Schema) that map onto `optimize convert` options.
struct RapidPipelineConfig: Equatable {
    /// Options for `optimize convert`, e.g. `["--ratio", "0.25", "--error", "0.005"]`.
    var convertArguments: [String] = []
    /// Dotted paths of settings that were present but have no equivalent, sorted.
    var ignored: [String] = []

    static let decimator = "optimize.3dModelOptimizationMethod.meshAndMaterialOptimization.decimator"

    init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProcessingError(.io, file: path, "cannot read the settings file")
        }
        try self.init(json: data, file: path)
    }

    init(json data: Data, file: String) throws {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ProcessingError(.badInput, file: file, "not valid JSON: \(describe(error))")
        }
        guard case .object = root else { throw ProcessingError(.badInput, file: file, "expected a JSON object") }
        var leaves: [(path: String, value: JSONValue)] = []
        root.flatten(path: "", into: &leaves)

        func number(_ value: JSONValue, _ path: String) throws -> Double {
            guard case let .number(number) = value, number.isFinite else {
                throw ProcessingError(.badInput, file: file, "\(path) must be a number")
            }
            return number
        }
        for (path, value) in leaves {
            switch path {
            case "version":
                continue
            case "\(Self.decimator).target.faces.percentage":
                let percent = try number(value, path)
                guard percent > 0 && percent <= 100 else {
                    throw ProcessingError(.badInput, file: file, "\(path) must be in (0, 100], got \(percent)")
                }
                convertArguments += ["--ratio", Self.format(percent / 100)]
            case "\(Self.decimator).target.faces.value":
                let count = try number(value, path)
                guard count >= 1 && count <= Double(Int32.max) else {
                    throw ProcessingError(.badInput, file: file, "\(path) must be a positive face count, got \(count)")
                }
                convertArguments += ["--triangles", String(Int(count))]
            case "\(Self.decimator).target.deviation.percentage":
                let percent = try number(value, path)
                guard percent >= 0 && percent <= 100 else {
                    throw ProcessingError(.badInput, file: file, "\(path) must be in [0, 100], got \(percent)")
                }
                convertArguments += ["--error", Self.format(percent / 100)]
            case _ where Self.isFileSizeTarget(path):
                let megabytes = try number(value, path)
                guard megabytes > 0 && megabytes <= 4096 else {
                    throw ProcessingError(.badInput, file: file, "\(path) must be in (0, 4096] MB, got \(megabytes)")
                }
                convertArguments += ["--max-bytes", Self.format(megabytes) + "MB"]
            default:
                if !mapExport(path, value) { ignored.append(path) }
            }
        }
        if dracoRequested == true { convertArguments += ["--compress", "draco"] }
        for (option, side) in textureMax.sorted(by: { $0.key < $1.key }) { convertArguments += [option, String(side)] }
    }

    /// The File Size Target modifier's "maximum megabytes on disk": a number under a `fileSizeTarget` object whose
    /// name mentions megabytes (e.g. `modifier.fileSizeTarget.maxMegabytes`).
    static func isFileSizeTarget(_ path: String) -> Bool {
        let parts = path.split(separator: ".").map { $0.lowercased() }
        guard parts.dropLast().contains("filesizetarget"), let leaf = parts.last else { return false }
        return leaf.contains("megabyte") || leaf.hasSuffix("mb")
    }

    /// Whether the export asks for Draco (nil: not mentioned).
    private var dracoRequested: Bool?
    private var textureMax: [String: Int] = [:]

    /// Export and texture settings (names from RapidPipeline's published examples): a `draco` object or flag under
    /// `export[N].format` turns on `--compress draco`; `reencodeTextures` picks `--texture-format`; texture
    /// resolution settings set `--texture-max` (per map kind when named). Returns false for anything else.
    private mutating func mapExport(_ path: String, _ value: JSONValue) -> Bool {
        let parts = path.split(separator: ".").map(String.init)
        if path.hasPrefix("export["), let draco = parts.firstIndex(of: "draco") {
            let rest = parts[(draco + 1)...]
            switch (rest.first, value) {
            case (nil, .object): dracoRequested = dracoRequested ?? true  // "draco": {} (defaults)
            case let (nil, .bool(on)), let ("enable", .bool(on)): dracoRequested = on
            default:
                // Quantization and other details: compression is on, the detail is ignored.
                dracoRequested = dracoRequested ?? true
                return false
            }
            return true
        }
        if parts.last == "reencodeTextures", case let .string(format) = value {
            let formats = ["auto": "auto", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp"]
            guard let mapped = formats[format.lowercased()] else { return false }
            convertArguments += ["--texture-format", mapped]
            return true
        }
        if case let .number(side) = value, side >= 1, side <= 65536, side == side.rounded() {
            let kinds = [
                "baseColor": "--texture-max-color", "emissive": "--texture-max-color",
                "normal": "--texture-max-normal", "orm": "--texture-max-data", "occlusion": "--texture-max-data",
                "metallicRoughness": "--texture-max-data"
            ]
            let resolutionKeys: Set = ["textureResolution", "maxTextureResolution", "bakingResolution"]
            let option: String?
            if let last = parts.last, resolutionKeys.contains(last) {
                option = "--texture-max"
            } else if parts.count >= 2, resolutionKeys.contains(parts[parts.count - 2]), let kind = kinds[parts.last!] {
                option = kind
            } else {
                option = nil
            }
            if let option {
                textureMax[option] = min(textureMax[option] ?? Int.max, Int(side))
                return true
            }
        }
        return false
    }

    /// Shortest decimal text that parses back to the same Float (what `convert` reads).
    static func format(_ value: Double) -> String { "\(Float(value))" }
}

/// A JSON document; decoding keeps numbers and booleans apart (JSONSerialization on Linux bridges 1 to true).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Leaf settings as dotted paths (`export[0].format.glb.draco`), sorted by key; an empty object
    /// (`"draco": {}`, "on with defaults") is a leaf too; empty strings and nulls (unset) are skipped.
    func flatten(path: String, into leaves: inout [(path: String, value: JSONValue)]) {
        switch self {
        case let .object(object) where !object.isEmpty:
            for key in object.keys.sorted() {
                object[key]!.flatten(path: path.isEmpty ? key : "\(path).\(key)", into: &leaves)
            }
        case let .array(array) where !array.isEmpty:
            for (index, element) in array.enumerated() { element.flatten(path: "\(path)[\(index)]", into: &leaves) }
        case .null, .string(""):
            break
        default:
            leaves.append((path, self))
        }
    }
}
