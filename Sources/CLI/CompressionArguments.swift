import ArgumentParser
import GLB

/// `--compress` and the Draco tuning options of `convert`.
struct CompressionArguments: ParsableArguments {
    enum Method: String, CaseIterable, ExpressibleByArgument {
        case none, meshopt, draco
    }

    @Option(
        help:
            "Geometry compression: none; meshopt (EXT_meshopt_compression of vertex, index, skin and animation data, like gltfpack -c/-cc; see --meshopt-fallback); or draco (KHR_draco_mesh_compression, required: readers need a Draco decoder). Default: the preset's, else none."
    )
    var compress: Method?

    @Option(
        help:
            "Draco: position quantization bits, \(DracoSettings.bitRange.lowerBound)-\(DracoSettings.bitRange.upperBound) (default \(DracoSettings().positionBits))."
    )
    var dracoPositionBits: Int?

    @Option(
        help:
            "Draco: normal quantization bits, \(DracoSettings.bitRange.lowerBound)-\(DracoSettings.bitRange.upperBound) (default \(DracoSettings().normalBits))."
    )
    var dracoNormalBits: Int?

    @Option(
        help:
            "Draco: texture coordinate quantization bits, \(DracoSettings.bitRange.lowerBound)-\(DracoSettings.bitRange.upperBound) (default \(DracoSettings().texcoordBits))."
    )
    var dracoTexcoordBits: Int?

    @Option(
        help:
            "Draco: vertex color quantization bits, \(DracoSettings.bitRange.lowerBound)-\(DracoSettings.bitRange.upperBound) (default \(DracoSettings().colorBits))."
    )
    var dracoColorBits: Int?

    @Option(
        help:
            "Draco: quantization bits of other float attributes (tangents, skin weights), \(DracoSettings.bitRange.lowerBound)-\(DracoSettings.bitRange.upperBound) (default \(DracoSettings().genericBits))."
    )
    var dracoGenericBits: Int?

    @Option(
        help:
            "Draco: compression level, \(DracoSettings.levelRange.lowerBound) (fastest) to \(DracoSettings.levelRange.upperBound) (smallest) (default \(DracoSettings().compressionLevel))."
    )
    var dracoLevel: Int?

    private var dracoOptions: [(String, Int?, ClosedRange<Int>)] {
        [
            ("--draco-position-bits", dracoPositionBits, DracoSettings.bitRange),
            ("--draco-normal-bits", dracoNormalBits, DracoSettings.bitRange),
            ("--draco-texcoord-bits", dracoTexcoordBits, DracoSettings.bitRange),
            ("--draco-color-bits", dracoColorBits, DracoSettings.bitRange),
            ("--draco-generic-bits", dracoGenericBits, DracoSettings.bitRange),
            ("--draco-level", dracoLevel, DracoSettings.levelRange)
        ]
    }

    func validate() throws {
        for (name, value, range) in dracoOptions {
            guard let value else { continue }
            if compress != .draco { throw ValidationError("\(name) needs --compress draco") }
            if !range.contains(value) {
                throw ValidationError("\(name) must be in \(range.lowerBound)...\(range.upperBound)")
            }
        }
    }

    /// The chosen compression; nil when `--compress` was not given (the preset's then applies).
    var compression: Compression? {
        switch compress {
        case nil: return nil
        case .none?: return Compression.none
        case .meshopt?: return .meshopt(fallback: false)
        case .draco?:
            let d = DracoSettings()
            return .draco(
                DracoSettings(
                    positionBits: dracoPositionBits ?? d.positionBits, normalBits: dracoNormalBits ?? d.normalBits,
                    texcoordBits: dracoTexcoordBits ?? d.texcoordBits, colorBits: dracoColorBits ?? d.colorBits,
                    genericBits: dracoGenericBits ?? d.genericBits,
                    compressionLevel: dracoLevel ?? d.compressionLevel))
        }
    }
}
