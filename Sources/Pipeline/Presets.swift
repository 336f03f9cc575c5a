import GLB

/// Named bundles of settings (`--preset`); explicit options applied afterwards override them.
public enum Preset: String, Sendable, CaseIterable {
    /// Weld, reorder, flatten static nodes, quantize (gltfpack's default bits) and meshopt-compress: the smallest
    /// fast-loading file.
    case web
    /// Only lossless steps: weld, deduplicate, reorder; float data, no compression, no simplification.
    case lossless
    /// Quantize and Draco-compress.
    case draco

    /// `settings` with this preset's choices applied.
    public func apply(to settings: Settings) -> Settings {
        var s = settings
        switch self {
        case .web:
            (s.weld, s.reorder, s.simplify, s.flatten) = (true, true, nil, true)
            s.quantization = Quantization()
            s.compression = .meshopt(fallback: false)
        case .lossless:
            (s.weld, s.reorder, s.simplify) = (true, true, nil)
            s.quantization = nil
            s.compression = .none
        case .draco:
            (s.weld, s.reorder, s.simplify) = (true, true, nil)
            s.quantization = Quantization()
            s.compression = .draco(DracoSettings())
        }
        return s
    }
}
