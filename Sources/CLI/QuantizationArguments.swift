import ArgumentParser
import GLB
import Pipeline

extension Preset: ExpressibleByArgument {}

/// `--preset`, `--quantize` and its bit counts, and `--meshopt-fallback`.
struct QuantizationArguments: ParsableArguments {
    @Option(
        help:
            "Start from a preset, then apply the other options: web (weld, reorder, flatten, quantize, meshopt), lossless (no quantization, compression or simplification; the default), draco (quantize + Draco)."
    )
    var preset: Preset?

    @Flag(
        inversion: .prefixedNo,
        help:
            "Store vertex data as integers (KHR_mesh_quantization, like gltfpack's default; --no-quantize is like gltfpack -noq). Default: the preset's, else on with --compress meshopt and off otherwise; a --*-bits option turns it on."
    )
    var quantize: Bool?

    @Option(
        help:
            "Quantize: position bits, \(Quantization.bitRange.lowerBound)-\(Quantization.bitRange.upperBound) (default \(Quantization().positionBits); like gltfpack -vp)."
    )
    var positionBits: Int?

    @Option(
        help:
            "Quantize: texture coordinate bits, \(Quantization.bitRange.lowerBound)-\(Quantization.bitRange.upperBound) (default \(Quantization().texcoordBits); like gltfpack -vt)."
    )
    var texcoordBits: Int?

    @Option(
        help:
            "Quantize: normal and tangent bits, \(Quantization.normalBitRange.lowerBound)-\(Quantization.normalBitRange.upperBound) (default \(Quantization().normalBits); like gltfpack -vn)."
    )
    var normalBits: Int?

    @Option(
        help:
            "Quantize: vertex color bits, \(Quantization.bitRange.lowerBound)-\(Quantization.bitRange.upperBound) (default \(Quantization().colorBits); like gltfpack -vc)."
    )
    var colorBits: Int?

    @Flag(
        help:
            "With meshopt compression, also keep uncompressed data so readers without EXT_meshopt_compression work (larger; like gltfpack -cf)."
    )
    var meshoptFallback = false

    private var bitOptions: [(String, Int?, ClosedRange<Int>)] {
        [
            ("--position-bits", positionBits, Quantization.bitRange),
            ("--texcoord-bits", texcoordBits, Quantization.bitRange),
            ("--normal-bits", normalBits, Quantization.normalBitRange),
            ("--color-bits", colorBits, Quantization.bitRange)
        ]
    }

    func validate() throws {
        for (name, value, range) in bitOptions {
            guard let value else { continue }
            if quantize == false { throw ValidationError("\(name) needs quantization; drop --no-quantize") }
            if !range.contains(value) {
                throw ValidationError("\(name) must be in \(range.lowerBound)...\(range.upperBound)")
            }
        }
    }

    /// Applies the quantization options and the fallback flag on top of `settings` (preset and --compress applied).
    func apply(to settings: inout Settings) throws {
        let anyBits = bitOptions.contains { $0.1 != nil }
        if quantize == false {
            settings.quantization = nil
        } else if quantize == true || anyBits {
            var q = settings.quantization ?? Quantization()
            q.positionBits = positionBits ?? q.positionBits
            q.texcoordBits = texcoordBits ?? q.texcoordBits
            q.normalBits = normalBits ?? q.normalBits
            q.colorBits = colorBits ?? q.colorBits
            settings.quantization = q
        } else if case .meshopt = settings.compression, settings.quantization == nil {
            // Like gltfpack -c/-cc: meshopt's codecs work on quantized data; --no-quantize keeps floats.
            settings.quantization = Quantization()
        }
        if meshoptFallback {
            guard case .meshopt = settings.compression else {
                throw ValidationError(
                    "--meshopt-fallback needs meshopt compression (--compress meshopt or --preset web)")
            }
            settings.compression = .meshopt(fallback: true)
        }
    }
}
