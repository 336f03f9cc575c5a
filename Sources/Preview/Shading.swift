import FoundationEssentials
import Scene
import Textures

#if canImport(Glibc)
    import Glibc
#endif

/// A decoded texture with its sampler's wrap modes, sampled bilinearly (no mipmaps: the 4× supersampling filters).
struct SampledTexture: Sendable {
    let width: Int, height: Int
    let pixels: [UInt8]
    let wrapS: Int, wrapT: Int

    init(_ bitmap: Bitmap, sampler: Sampler?) {
        (width, height, pixels) = (bitmap.width, bitmap.height, bitmap.pixels)
        wrapS = sampler?.wrapS ?? Sampler.repeatWrap
        wrapT = sampler?.wrapT ?? Sampler.repeatWrap
    }

    /// The texel index along one axis for integer coordinate `i` of a texture `size` texels long.
    @inline(__always) private static func wrap(_ i: Int, _ size: Int, _ mode: Int) -> Int {
        switch mode {
        case Sampler.clampToEdge: return min(max(i, 0), size - 1)
        case Sampler.mirroredRepeat:
            let period = 2 * size
            var m = i % period
            if m < 0 { m += period }
            return m < size ? m : period - 1 - m
        default:
            let m = i % size
            return m < 0 ? m + size : m
        }
    }

    /// The raw (still sRGB-encoded for color maps) RGBA value at `uv`, each channel in 0…1; v = 0 is the image top.
    func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> {
        guard uv.x.isFinite, uv.y.isFinite else { return SIMD4(repeating: 1) }
        // Keep the coordinate in a range where Int conversion is exact; repeating textures do not change.
        let fx = (uv.x - (wrapS == Sampler.repeatWrap ? uv.x.rounded(.down) : 0)) * Float(width) - 0.5
        let fy = (uv.y - (wrapT == Sampler.repeatWrap ? uv.y.rounded(.down) : 0)) * Float(height) - 0.5
        let cx = min(max(fx, -1e6), 1e6)
        let cy = min(max(fy, -1e6), 1e6)
        let x0f = cx.rounded(.down)
        let y0f = cy.rounded(.down)
        let tx = cx - x0f
        let ty = cy - y0f
        let x0 = Int(x0f)
        let y0 = Int(y0f)
        let xa = Self.wrap(x0, width, wrapS)
        let xb = Self.wrap(x0 + 1, width, wrapS)
        let ya = Self.wrap(y0, height, wrapT)
        let yb = Self.wrap(y0 + 1, height, wrapT)
        return pixels.withUnsafeBufferPointer { p in
            @inline(__always) func texel(_ x: Int, _ y: Int) -> SIMD4<Float> {
                let o = (y * width + x) * 4
                return SIMD4(Float(p[o]), Float(p[o + 1]), Float(p[o + 2]), Float(p[o + 3]))
            }
            let top = texel(xa, ya) * (1 - tx) + texel(xb, ya) * tx
            let bottom = texel(xa, yb) * (1 - tx) + texel(xb, yb) * tx
            return (top * (1 - ty) + bottom * ty) / 255
        }
    }
}

/// sRGB-encoded 0…1 → linear through a 4096-entry table.
let srgbTable: [Float] = (0..<4096).map { srgbToLinear(Float($0) / 4095) }
@inline(__always) func decodeSRGB(_ c: Float) -> Float { srgbTable[Int(min(max(c, 0), 1) * 4095 + 0.5)] }

/// What the shader needs of a material, with texture indices into the decoded textures (nil when absent or
/// undecodable).
struct ShadeMaterial: Sendable {
    var base: SIMD4<Float> = .one
    var baseTexture: (texture: Int, set: Int)?
    var metallic: Float = 1
    var roughness: Float = 1
    var metallicRoughnessTexture: (texture: Int, set: Int)?
    var emissive: SIMD3<Float> = .zero
    var emissiveTexture: (texture: Int, set: Int)?
    var alphaMode: Material.AlphaMode = .opaque
    var alphaCutoff: Float = 0.5
    var doubleSided = false
    var unlit = false

    /// glTF's default material (white, metallic 1, roughness 1) when `material` is nil.
    init(_ material: Material?, textureSlot: (TextureRef?) -> (Int, Int)?) {
        guard let material else { return }
        base = material.baseColorFactor
        baseTexture = textureSlot(material.baseColorTexture)
        metallic = material.metallicFactor
        roughness = material.roughnessFactor
        metallicRoughnessTexture = textureSlot(material.metallicRoughnessTexture)
        emissive = material.emissiveFactor
        emissiveTexture = textureSlot(material.emissiveTexture)
        alphaMode = material.alphaMode
        alphaCutoff = material.alphaCutoff
        doubleSided = material.doubleSided
        unlit = material.unlit
    }
}

/// The lights, matching the three.js page of Tests/Scripts/render.py: a hemisphere light (sky white, ground 0x444444,
/// intensity 1) as ambient and a white directional key light of intensity 1.5 shining from the camera position
/// towards the world origin. Shading follows three.js r111's MeshStandardMaterial (Lambert diffuse, GGX specular).
struct Lighting: Sendable {
    var keyDirection: SIMD3<Float>
    var keyIntensity: Float = 1.5
    var sky = SIMD3<Float>(repeating: 1)
    var ground = SIMD3<Float>(repeating: Float(0x44) / 255)
    var eye: SIMD3<Float>

    /// Outgoing linear radiance for a surface point.
    func shade(
        albedo: SIMD3<Float>, metallic: Float, roughness: Float, normal n: SIMD3<Float>,
        position: SIMD3<Float>
    ) -> SIMD3<Float> {
        let m = min(max(metallic, 0), 1)
        let diffuse = albedo * (1 - m)
        let specular = SIMD3<Float>(repeating: 0.04) * (1 - m) + albedo * m
        let r = min(max(roughness, 0.0525), 1)
        let alpha = r * r
        let v = normalize(eye - position, fallback: .zero)
        let l = keyDirection
        let nl = min(max(dot(n, l), 0), 1)
        // Hemisphere irradiance (three.js scales both lights by π and divides Lambert by π: they cancel).
        let hemi = 0.5 * dot(n, SIMD3(0, 1, 0)) + 0.5
        var color = diffuse * (ground + (sky - ground) * hemi)
        if nl > 0 {
            let irradiance = nl * keyIntensity
            color += diffuse * irradiance
            let h = normalize(l + v, fallback: .zero)
            let nv = min(max(dot(n, v), 0), 1)
            let nh = min(max(dot(n, h), 0), 1)
            let lh = min(max(dot(l, h), 0), 1)
            let fresnel = exp2((-5.55473 * lh - 6.98316) * lh)
            let f = (1 - specular) * fresnel + specular
            let a2 = alpha * alpha
            let gv = nl * (a2 + (1 - a2) * nv * nv).squareRoot()
            let gl = nv * (a2 + (1 - a2) * nl * nl).squareRoot()
            let g = 0.5 / max(gv + gl, 1e-6)
            let denom = nh * nh * (a2 - 1) + 1
            let d = a2 / (Float.pi * denom * denom)
            // irradiance × π × BRDF, as three.js does without physically correct lights.
            color += f * (irradiance * Float.pi * g * d)
        }
        return color
    }
}
