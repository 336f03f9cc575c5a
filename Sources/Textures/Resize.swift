import FoundationEssentials
import Scene

/// How a texture's values are interpreted, which decides how it is filtered and encoded.
public enum TextureClass: String, Sendable, Codable, CaseIterable {
    /// Base color and emissive: sRGB-encoded color.
    case color
    /// Tangent-space normal vectors in RGB.
    case normal
    /// Linear data: metallic-roughness, occlusion.
    case data
}

/// The size an image is resized to: its longer side at most `maxSize`, aspect ratio kept; with `powerOfTwo`, each
/// side becomes the largest power of two not above it. Never larger than the original.
public func targetSize(width: Int, height: Int, maxSize: Int?, powerOfTwo: Bool) -> (width: Int, height: Int) {
    var w = width
    var h = height
    if let maxSize, max(w, h) > maxSize {
        let scale = Double(maxSize) / Double(max(w, h))
        w = min(maxSize, max(1, Int((Double(w) * scale).rounded())))
        h = min(maxSize, max(1, Int((Double(h) * scale).rounded())))
    }
    if powerOfTwo {
        func floorPowerOfTwo(_ v: Int) -> Int { 1 << (Int.bitWidth - 1 - v.leadingZeroBitCount) }
        w = floorPowerOfTwo(w)
        h = floorPowerOfTwo(h)
    }
    return (w, h)
}

/// For each output index along one axis: the source indices it covers and their area weights (summing to 1).
private func boxWeights(source: Int, target: Int) -> [[(index: Int, weight: Float)]] {
    let scale = Double(source) / Double(target)
    return (0..<target).map { o in
        let start = Double(o) * scale
        let end = Double(o + 1) * scale
        var taps: [(Int, Float)] = []
        var s = Int(start.rounded(.down))
        while Double(s) < end && s < source {
            let covered = min(end, Double(s + 1)) - max(start, Double(s))
            if covered > 1e-9 { taps.append((s, Float(covered / scale))) }
            s += 1
        }
        return taps
    }
}

/// Downsamples with an area-weighted box filter: color is averaged in linear light with alpha weighting, normal
/// vectors are averaged and renormalized, data is averaged as stored.
func resize(_ bitmap: Bitmap, to width: Int, _ height: Int, as kind: TextureClass) -> Bitmap {
    if width == bitmap.width && height == bitmap.height { return bitmap }
    let xs = boxWeights(source: bitmap.width, target: width)
    let ys = boxWeights(source: bitmap.height, target: height)
    var out = [UInt8](repeating: 0, count: width * height * 4)
    let lut = srgbByteToLinear
    func byte(_ v: Float) -> UInt8 { UInt8(min(max(v * 255, 0), 255).rounded()) }
    bitmap.pixels.withUnsafeBufferPointer { src in
        for oy in 0..<height {
            for ox in 0..<width {
                var sum = SIMD4<Float>.zero
                for (sy, wy) in ys[oy] {
                    for (sx, wx) in xs[ox] {
                        let i = (sy * bitmap.width + sx) * 4
                        let w = wy * wx
                        let a = Float(src[i + 3]) / 255
                        switch kind {
                        case .color:
                            sum +=
                                SIMD4(lut[Int(src[i])] * a, lut[Int(src[i + 1])] * a, lut[Int(src[i + 2])] * a, a) * w
                        case .normal:
                            sum +=
                                SIMD4(
                                    Float(src[i]) / 127.5 - 1, Float(src[i + 1]) / 127.5 - 1,
                                    Float(src[i + 2]) / 127.5 - 1, a) * w
                        case .data:
                            sum +=
                                SIMD4(Float(src[i]), Float(src[i + 1]), Float(src[i + 2]), Float(src[i + 3])) / 255 * w
                        }
                    }
                }
                let o = (oy * width + ox) * 4
                switch kind {
                case .color:
                    let rgb = sum.w > 0 ? SIMD3(sum.x, sum.y, sum.z) / sum.w : .zero
                    out[o] = byte(linearToSRGB(min(rgb.x, 1)))
                    out[o + 1] = byte(linearToSRGB(min(rgb.y, 1)))
                    out[o + 2] = byte(linearToSRGB(min(rgb.z, 1)))
                    out[o + 3] = byte(sum.w)
                case .normal:
                    var n = SIMD3(sum.x, sum.y, sum.z)
                    let length = (n * n).sum().squareRoot()
                    n = length > 1e-6 ? n / length : SIMD3(0, 0, 1)
                    out[o] = byte(n.x * 0.5 + 0.5)
                    out[o + 1] = byte(n.y * 0.5 + 0.5)
                    out[o + 2] = byte(n.z * 0.5 + 0.5)
                    out[o + 3] = byte(sum.w)
                case .data:
                    out[o] = byte(sum.x)
                    out[o + 1] = byte(sum.y)
                    out[o + 2] = byte(sum.z)
                    out[o + 3] = byte(sum.w)
                }
            }
        }
    }
    return Bitmap(width: width, height: height, pixels: out)
}
