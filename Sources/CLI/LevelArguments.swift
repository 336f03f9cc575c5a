import ArgumentParser
import Pipeline

/// The level-of-detail options of `convert`.
struct LevelArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Levels of detail: shares of the full triangle count, decreasing, e.g. 0.5,0.2,0.05; written as MSFT_lod nodes (with MSFT_screencoverage hints) sharing materials and textures. Viewers without MSFT_lod draw the full level.",
            valueName: "r1,r2,..."))
    var lods: String?

    @Flag(help: "With --lods, write one GLB per level instead (NAME.glb, NAME.lod1.glb, ...).")
    var lodFiles = false

    /// The parsed ratios (empty without `--lods`).
    var ratios: [Float] {
        get throws {
            guard let lods else { return [] }
            let values = lods.split(separator: ",", omittingEmptySubsequences: false).map {
                Float($0.trimmed)
            }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }) else {
                throw ValidationError("--lods takes shares in (0, 1) separated by commas, e.g. 0.5,0.2,0.05")
            }
            let ratios = values.map { $0! }
            guard zip(ratios, ratios.dropFirst()).allSatisfy({ $0 > $1 }), ratios.count <= 8 else {
                throw ValidationError("--lods must be decreasing, at most 8 levels")
            }
            return ratios
        }
    }

    func validate() throws {
        _ = try ratios
        if lodFiles && lods == nil { throw ValidationError("--lod-files needs --lods") }
    }
}
