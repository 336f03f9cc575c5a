import FoundationEssentials
import GLB
import Scene
import Stages
import Textures

/// What the output-size search (`--max-bytes`) chose and what it cost, for the report.
public struct BudgetReport: Sendable, Codable, Equatable {
    /// The budget in bytes.
    public var budget: Int
    /// The output's size.
    public var bytes: Int
    /// False when even the floor did not fit: the output is then the smallest one found.
    public var budgetMet: Bool
    /// "none", "meshopt" or "draco".
    public var compression: String
    public var quantized: Bool
    /// Longest texture side chosen; nil = the textures' own sizes (or `--texture-max`).
    public var textureMax: Int?
    /// Share of the triangles kept; nil = not simplified beyond the options given.
    public var ratio: Float?
    /// The largest geometric deviation of any mesh, relative to its extent (0 when not simplified).
    public var error: Float
    /// Encodings tried.
    public var attempts: Int
}

/// The floor of the search: it never goes below this share of the triangles or this texture side.
public let budgetFloor = (ratio: Float(0.05), textureSide: 64)

/// Parses `5MB`, `800KiB`, `1.5 GB` or plain bytes (decimal units are powers of 1000, binary ones of 1024).
public func parseByteCount(_ text: String) -> Int? {
    let trimmed = text.trimmed
    let number = trimmed.prefix { $0.isNumber || $0 == "." }
    let unit = trimmed.dropFirst(number.count).trimmed.lowercased()
    let scales: [String: Double] = [
        "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "k": 1e3, "m": 1e6, "g": 1e9,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824
    ]
    guard let value = Double(number), let scale = scales[unit] else { return nil }
    let bytes = (value * scale).rounded(.down)
    guard bytes >= 1, bytes <= Double(Int32.max) * 2 else { return nil }
    return Int(bytes)
}

/// The result of the search: the scene as it will be written, its encoding and what was chosen.
struct BudgetResult {
    var scene: Scene
    var options: GLBOptions
    var encoded: EncodedGLB
    var textures: [ImageReport]
    /// The texture stage's warnings ("textures: …").
    var textureWarnings: [String]
    var simplification: [MeshSimplification]?
    var report: BudgetReport
}

/// Finds the settings that keep the most fidelity with an output of at most `budget` bytes, from a scene that went
/// through the lossless stages. In order, each step only when the previous one is not enough: (1) quantization with
/// meshopt, then Draco, compression; (2) the longest texture side, halving down to `budgetFloor.textureSide`; (3) the
/// share of triangles, by regula falsi between `budgetFloor.ratio` and 1. Simplified geometry is cached per ratio and
/// processed textures per size, so each attempt re-runs only what changed. When even the floor does not fit, the
/// smallest output found is returned with `budgetMet` false.
func searchBudget(_ prepared: Scene, budget: Int, settings: Settings, threads: Int) throws -> BudgetResult {
    typealias Textured = (scene: Scene, report: [ImageReport], warnings: [String])
    typealias Geometry = (scene: Scene, simplification: [MeshSimplification]?, error: Float)
    var texturedCache: [Int: Textured] = [:]
    var geometryCache: [Float: Geometry] = [:]
    var attempts = 0

    func textured(_ side: Int?) -> Textured {
        if let cached = texturedCache[side ?? 0] { return cached }
        var scene = prepared
        var options = settings.textures
        if let side { options.maxSize = min(side, options.maxSize ?? side) }
        let result = processTextures(&scene, options: options, threads: threads)
        let value = (scene, result.images, Array(scene.warnings.dropFirst(prepared.warnings.count)))
        texturedCache[side ?? 0] = value
        return value
    }
    func geometry(_ ratio: Float?) throws -> Geometry {
        if let cached = geometryCache[ratio ?? 1] { return cached }
        var scene = prepared
        var simplification: [MeshSimplification]?
        var options = settings.simplify
        if let ratio {
            options = SimplifyOptions(
                ratio: min(ratio, options?.ratio ?? 1), triangleBudget: options?.triangleBudget,
                targetError: 1, lockBorders: options?.lockBorders ?? false, aggressive: true)
        }
        if let options { simplification = try simplify(&scene, options: options, threads: threads).simplify }
        if settings.dropFlatNormals {
            _ = dropFlatNormals(
                &scene, positionBits: settings.coarsestPositionBits, weld: settings.weld, threads: threads)
        }
        if settings.reorder {
            _ = try optimizeOrder(&scene, options: OrderOptions(forCompression: true), threads: threads)
        }
        let value = (scene, simplification, simplification?.map(\.error).max() ?? 0)
        geometryCache[ratio ?? 1] = value
        return value
    }
    struct Candidate {
        var options: GLBOptions
        var side: Int?
        var ratio: Float?
        var bytes: Int
        var imageBytes: Int
    }
    func attempt(_ options: GLBOptions, side: Int?, ratio: Float?) throws -> Candidate {
        attempts += 1
        var scene = try geometry(ratio).scene
        let look = textured(side).scene
        (scene.materials, scene.textures, scene.images, scene.samplers) = (
            look.materials, look.textures, look.images, look.samplers
        )
        let encoded = try encodeGLB(scene, options: options)
        return Candidate(
            options: options, side: side, ratio: ratio, bytes: encoded.bytes.count,
            imageBytes: encoded.breakdown.images)
    }

    // (1) Encodings, most faithful first.
    let given = GLBOptions(
        generator: settings.generator, quantization: settings.quantization, compression: settings.compression)
    var ladder = [given]
    let quantization = settings.quantization ?? Quantization()
    for compression in [Compression.meshopt(fallback: false), .draco(DracoSettings())]
    where compression != settings.compression {
        ladder.append(GLBOptions(generator: settings.generator, quantization: quantization, compression: compression))
    }
    var best = try attempt(ladder[0], side: nil, ratio: nil)
    var smallest = best
    for options in ladder.dropFirst() where best.bytes > budget {
        let candidate = try attempt(options, side: nil, ratio: nil)
        if candidate.bytes < smallest.bytes { smallest = candidate }
        if candidate.bytes <= budget { best = candidate }
    }
    if best.bytes > budget { best = smallest }

    // (2) Texture size: the largest power-of-two longest side (below the textures' own, down to the floor) that fits.
    // Image bytes grow about with the pixel count, so the first try is the side that estimate allows; then one
    // halving or doubling at a time.
    if best.bytes > budget {
        let longest = textured(nil).report.map { $0.sizeAfter.max() ?? 0 }.max() ?? 0
        var largest = budgetFloor.textureSide
        while largest * 2 < longest { largest *= 2 }
        if longest > budgetFloor.textureSide {
            let allowed = Double(budget - (best.bytes - best.imageBytes)) / Double(max(best.imageBytes, 1))
            var side = budgetFloor.textureSide
            while side * 2 <= largest && Double(side * 2) <= Double(longest) * allowed.squareRoot() { side *= 2 }
            var tried: [Int: Candidate] = [:]
            while tried[side] == nil {
                let candidate = try attempt(best.options, side: side, ratio: nil)
                tried[side] = candidate
                if candidate.bytes < smallest.bytes { smallest = candidate }
                if candidate.bytes <= budget {
                    if side * 2 <= largest, tried[side * 2] == nil { side *= 2 }
                } else if side > budgetFloor.textureSide {
                    side /= 2
                }
            }
            // The largest side that fitted, else the floor.
            best =
                tried.filter { $0.value.bytes <= budget }.max { $0.key < $1.key }?.value
                ?? tried[budgetFloor.textureSide] ?? best
        }
    }

    // (3) Triangles: the largest share kept that fits, between the floor and 1. Bytes grow about linearly with the
    // share, so each try aims where the line through the bracket's ends meets the budget (regula falsi), at least
    // 0.01 inside the bracket; the search ends when the bracket is 0.01 wide (or after 7 tries).
    if best.bytes > budget {
        let floor = try attempt(best.options, side: best.side, ratio: budgetFloor.ratio)
        if floor.bytes < smallest.bytes { smallest = floor }
        if floor.bytes <= budget {
            var (low, high) = (floor, best)
            for _ in 0..<7 {
                let (a, b) = (low.ratio ?? 1, high.ratio ?? 1)
                guard b - a > 0.0101 else { break }
                let along = Double(budget - low.bytes) / Double(max(high.bytes - low.bytes, 1))
                let aim = ((a + Float(along) * (b - a)) * 1000).rounded(.down) / 1000
                let share = min(max(aim, a + 0.01), b - 0.01)
                let candidate = try attempt(best.options, side: best.side, ratio: share)
                if candidate.bytes <= budget { low = candidate } else { high = candidate }
            }
            best = low
        } else {
            best = smallest
        }
    }

    // The chosen attempt's scene, from the caches.
    let chosenGeometry = try geometry(best.ratio)
    let chosenLook = textured(best.side)
    var scene = chosenGeometry.scene
    (scene.materials, scene.textures, scene.images, scene.samplers) =
        (chosenLook.scene.materials, chosenLook.scene.textures, chosenLook.scene.images, chosenLook.scene.samplers)
    let encoded = try encodeGLB(scene, options: best.options)
    let compression: String
    switch best.options.compression {
    case .none: compression = "none"
    case .meshopt: compression = "meshopt"
    case .draco: compression = "draco"
    }
    let report = BudgetReport(
        budget: budget, bytes: encoded.bytes.count, budgetMet: encoded.bytes.count <= budget,
        compression: compression, quantized: best.options.quantization != nil,
        textureMax: best.side, ratio: best.ratio, error: chosenGeometry.error, attempts: attempts)
    return BudgetResult(
        scene: scene, options: best.options, encoded: encoded, textures: chosenLook.report,
        textureWarnings: chosenLook.warnings, simplification: chosenGeometry.simplification,
        report: report)
}
