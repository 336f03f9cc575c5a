import Dispatch
import Scene
import Stages

/// What the texture stage does with each image.
public struct TextureOptions: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// JPEG for opaque color and for JPEG sources, PNG for alpha and for normal and data textures from lossless sources.
        case auto
        case jpeg, png, webp
        /// Keep images as imported; only formats glTF cannot carry (BMP, TGA) become PNG.
        case keep
    }

    public var format: Format = .auto
    /// Longest side in pixels for every class; nil keeps the size.
    public var maxSize: Int?
    /// Per-class overrides of `maxSize`.
    public var maxSizeByClass: [TextureClass: Int] = [:]
    /// Shrink each side to a power of two (never enlarging).
    public var powerOfTwo = false
    /// JPEG quality, in `jpegQualityRange`.
    public var jpegQuality = 85
    /// WebP quality, in `webpQualityRange`.
    public var webpQuality = 85
    public static let jpegQualityRange = 1...100
    public static let webpQualityRange = 0...100
    /// With WebP, also keep a PNG/JPEG `source` for viewers without `EXT_texture_webp`.
    public var webpFallback = false
    /// Images whose header declares more pixels are not decoded: warning, and their textures are dropped.
    public var maxImagePixels = 64 * 1024 * 1024
    /// Estimated bytes of decoded pixels held at once across the parallel workers.
    public var memoryBudgetBytes = 1 << 30

    public init() {}

    /// The longest side allowed for a class.
    public func maxSize(for kind: TextureClass) -> Int? { maxSizeByClass[kind] ?? maxSize }
}

/// One source image: how it was used and what became of it.
public struct ImageReport: Sendable, Codable, Equatable {
    public var name: String
    public var use: TextureClass
    public var mimeBefore: String
    public var bytesBefore: Int
    /// `[width, height]`; empty when the image could not be read.
    public var sizeBefore: [Int]
    /// MIME types written (WebP and its fallback, or one); empty when nothing of it is written.
    public var mimeAfter: [String]
    /// Bytes written for it (0 when dropped, folded into factors or a duplicate).
    public var bytesAfter: Int
    public var sizeAfter: [Int]
    /// re-encoded, original kept, folded into factors, duplicate of image N, dropped: reason.
    public var outcome: String
}

/// Decodes, classifies, resizes and re-encodes every image, folds solid-color textures into material factors,
/// deduplicates images (by bytes and by decoded pixels), textures and samplers, and drops what is unused.
///
/// With `.keep`, images stay as imported except BMP and TGA, which become PNG (glTF only carries PNG, JPEG and,
/// through `EXT_texture_webp`, WebP); imported WebP images are written with `EXT_texture_webp`.
/// An image that cannot be decoded, or declares more than `maxImagePixels`, is dropped with a warning: the
/// materials using it keep their factors. Output bytes do not depend on `threads`.
/// Problems (an image that cannot be decoded, a folded texture) are appended to `scene.warnings`.
public func processTextures(_ scene: inout Scene, options: TextureOptions, threads: Int) -> TextureStageReport {
    var images: [ImageReport] = []
    let stage = runStage("textures", &scene) { scene in
        let (reports, warnings) = processImages(&scene, options: options, threads: threads)
        images = reports
        scene.warnings += warnings.map { "textures: \($0)" }
        return (nil, [])
    }
    return TextureStageReport(stage: stage, images: images)
}

/// What `processTextures` did: its stage timing and statistics, and one report per source image.
public struct TextureStageReport: Sendable {
    public var stage: StageReport
    public var images: [ImageReport]
}

private func processImages(_ scene: inout Scene, options: TextureOptions, threads: Int)
    -> (images: [ImageReport], warnings: [String])
{
    let uses = imageUses(scene)
    let jobs = scene.images.indices.filter { uses[$0] != nil }
    var results = [ImageResult?](repeating: nil, count: scene.images.count)
    let images = scene.images
    for batch in batches(jobs, images: images, options: options, threads: threads) {
        let done = parallelMap(batch.count, threads: threads) { k in
            processImage(images[batch[k]], use: uses[batch[k]]!, options: options)
        }
        for (k, index) in batch.enumerated() { results[index] = done[k] }
    }
    markPixelDuplicates(&results, images: images, uses: uses, options: options)
    return rebuild(&scene, uses: uses, results: results)
}

// MARK: - Uses

/// How the materials use an image.
struct ImageUse: Equatable {
    var kind: TextureClass
    /// Some material reads its alpha (base color in a MASK or BLEND material).
    var alphaRead: Bool
}

enum Slot: CaseIterable {
    case baseColor, emissive, metallicRoughness, occlusion, normal

    var path: WritableKeyPath<Material, TextureRef?> {
        switch self {
        case .baseColor: return \.baseColorTexture
        case .emissive: return \.emissiveTexture
        case .metallicRoughness: return \.metallicRoughnessTexture
        case .occlusion: return \.occlusionTexture
        case .normal: return \.normalTexture
        }
    }

    var kind: TextureClass {
        switch self {
        case .baseColor, .emissive: return .color
        case .metallicRoughness, .occlusion: return .data
        case .normal: return .normal
        }
    }
}

/// Per image: its class (normal wins over color, color over data) and whether alpha is read; nil when unused.
func imageUses(_ scene: Scene) -> [ImageUse?] {
    var uses = [ImageUse?](repeating: nil, count: scene.images.count)
    let rank: [TextureClass: Int] = [.data: 0, .color: 1, .normal: 2]
    func use(_ ref: TextureRef?, _ kind: TextureClass, alphaRead: Bool) {
        guard let ref, ref.texture >= 0, ref.texture < scene.textures.count else { return }
        let texture = scene.textures[ref.texture]
        // A KTX2 image without a PNG/JPEG fallback is kept as it is.
        guard texture.image >= 0, texture.image < scene.images.count, texture.image != texture.basisuSource else {
            return
        }
        var use = uses[texture.image] ?? ImageUse(kind: kind, alphaRead: false)
        if rank[kind]! > rank[use.kind]! { use.kind = kind }
        if alphaRead { use.alphaRead = true }
        uses[texture.image] = use
    }
    for material in scene.materials {
        for slot in Slot.allCases {
            use(material[keyPath: slot.path], slot.kind, alphaRead: slot == .baseColor && material.alphaMode != .opaque)
        }
        for (ref, role) in material.extensionTextures {
            use(ref, role == .normal ? .normal : role == .color ? .color : .data, alphaRead: false)
        }
    }
    return uses
}

// MARK: - One image

struct ImageResult {
    enum Outcome {
        /// Encoded images to write: the `source` (PNG/JPEG) and/or the WebP.
        case written(source: Image?, webp: Image?, size: (Int, Int), reencoded: Bool)
        /// Every pixel is this RGBA value.
        case solid(SIMD4<UInt8>, written: Image)
        case failed(String)
    }
    var outcome: Outcome
    var report: ImageReport
    /// Digest of the decoded pixels, for finding the same picture in different encodings.
    var digest: UInt64?
}

private let coreMIMETypes: Set<String> = ["image/png", "image/jpeg"]

func processImage(_ image: Image, use: ImageUse, options: TextureOptions) -> ImageResult {
    let label = image.name.isEmpty ? "(unnamed \(image.mimeType))" : image.name
    var report = ImageReport(
        name: image.name, use: use.kind, mimeBefore: image.mimeType, bytesBefore: image.data.count,
        sizeBefore: [], mimeAfter: [], bytesAfter: 0, sizeAfter: [], outcome: "")
    func fail(_ reason: String) -> ImageResult {
        report.outcome = "dropped: \(reason)"
        return ImageResult(
            outcome: .failed("image \(label): \(reason); its textures were dropped, the materials keep their factors"),
            report: report)
    }
    guard let format = ImageFormat(mimeType: image.mimeType) else { return fail("unsupported type \(image.mimeType)") }
    if options.format == .keep {
        if coreMIMETypes.contains(image.mimeType) || format == .webp {
            report.mimeAfter = [image.mimeType]
            report.bytesAfter = image.data.count
            report.outcome = "original kept"
            let written =
                format == .webp
                ? ImageResult.Outcome.written(source: nil, webp: image, size: (0, 0), reencoded: false)
                : .written(source: image, webp: nil, size: (0, 0), reencoded: false)
            return ImageResult(outcome: written, report: report)
        }
    }
    let bitmap: Bitmap
    do {
        bitmap = try decodeImage(image.data, format, maxPixels: options.maxImagePixels)
    } catch {
        return fail("\(error)")
    }
    report.sizeBefore = [bitmap.width, bitmap.height]
    let digest = bitmap.digest
    do {
        if options.format == .keep {
            let png = Image(
                name: renamed(image.name, "png"), mimeType: "image/png",
                data: try encodePNG(bitmap, Channels(gray: bitmap.isGrayscale, alpha: bitmap.usesAlpha)))
            report.mimeAfter = [png.mimeType]
            report.bytesAfter = png.data.count
            report.sizeAfter = report.sizeBefore
            report.outcome = "re-encoded"
            return ImageResult(
                outcome: .written(source: png, webp: nil, size: (bitmap.width, bitmap.height), reencoded: true),
                report: report, digest: digest)
        }
        if let solid = bitmap.solidColor {
            let one = Bitmap(width: 1, height: 1, pixels: [solid.x, solid.y, solid.z, solid.w])
            let alpha = use.alphaRead && solid.w != 255
            let png = Image(
                name: renamed(image.name, "png"), mimeType: "image/png",
                data: try encodePNG(one, Channels(gray: solid.x == solid.y && solid.x == solid.z, alpha: alpha)))
            report.sizeAfter = [1, 1]
            return ImageResult(outcome: .solid(solid, written: png), report: report, digest: digest)
        }
        let alpha = use.alphaRead && bitmap.usesAlpha
        let gray = bitmap.isGrayscale
        let size = targetSize(
            width: bitmap.width, height: bitmap.height, maxSize: options.maxSize(for: use.kind),
            powerOfTwo: options.powerOfTwo)
        let resized = resize(bitmap, to: size.width, size.height, as: use.kind)
        let sameSize = size.width == bitmap.width && size.height == bitmap.height
        let channels = Channels(gray: gray, alpha: alpha)

        /// The PNG/JPEG for `source`: auto rules, or the original when it is already PNG/JPEG, unresized and smaller.
        /// Auto keeps a JPEG source as JPEG whatever its class: PNG would only store its artifacts, several times bigger.
        func coreImage() throws -> (Image, Bool) {
            let automaticJPEG = options.format != .png && (use.kind == .color || format == .jpeg)
            let jpeg = !alpha && (options.format == .jpeg || automaticJPEG)
            let encoded =
                jpeg
                ? Image(
                    name: renamed(image.name, "jpg"), mimeType: "image/jpeg",
                    data: try encodeJPEG(
                        resized, quality: options.jpegQuality, gray: gray,
                        subsampleChroma: use.kind == .color))
                : Image(name: renamed(image.name, "png"), mimeType: "image/png", data: try encodePNG(resized, channels))
            if sameSize && coreMIMETypes.contains(image.mimeType) && image.data.count <= encoded.data.count {
                return (image, false)
            }
            return (encoded, true)
        }
        var source: Image?
        var webp: Image?
        var reencoded = false
        if options.format == .webp {
            let lossy = Image(
                name: renamed(image.name, "webp"), mimeType: "image/webp",
                data: try encodeWebP(resized, quality: options.webpQuality, alpha: alpha))
            let keptWebP = sameSize && format == .webp && image.data.count <= lossy.data.count ? image : lossy
            webp = keptWebP
            reencoded = keptWebP != image
            if options.webpFallback {
                let (core, coreReencoded) = try coreImage()
                source = core
                reencoded = reencoded || coreReencoded
                if core.data.count <= keptWebP.data.count { webp = nil }
            } else if sameSize && coreMIMETypes.contains(image.mimeType) && image.data.count <= keptWebP.data.count {
                (source, webp, reencoded) = (image, nil, false)
            }
        } else {
            (source, reencoded) = try coreImage()
        }
        report.mimeAfter = [webp?.mimeType, source?.mimeType].compactMap { $0 }
        report.bytesAfter = (webp?.data.count ?? 0) + (source?.data.count ?? 0)
        report.sizeAfter = [size.width, size.height]
        report.outcome = reencoded ? "re-encoded" : "original kept"
        return ImageResult(
            outcome: .written(source: source, webp: webp, size: size, reencoded: reencoded),
            report: report, digest: digest)
    } catch {
        return fail("\(error)")
    }
}

/// `name` with its extension replaced (empty stays empty).
private func renamed(_ name: String, _ ext: String) -> String {
    guard !name.isEmpty else { return name }
    if let dot = name.lastIndex(of: "."), dot != name.startIndex { return name[..<dot] + "." + ext }
    return name + "." + ext
}

// MARK: - Scheduling

/// Splits jobs, in order, into batches of at most `threads` images whose estimated decoded memory fits the budget
/// (a single image always forms a batch). Images whose header cannot be read count as small.
func batches(_ jobs: [Int], images: [Image], options: TextureOptions, threads: Int) -> [[Int]] {
    var result: [[Int]] = []
    var current: [Int] = []
    var bytes = 0
    for index in jobs {
        var cost = images[index].data.count
        if let format = ImageFormat(mimeType: images[index].mimeType),
            let (w, h) = try? imageDimensions(images[index].data, format),
            w.multipliedReportingOverflow(by: h).partialValue <= options.maxImagePixels
        {
            cost += w * h * 8  // decoded RGBA plus the resized copy and encoder buffers
        }
        if !current.isEmpty && (current.count >= max(1, threads) || bytes + cost > options.memoryBudgetBytes) {
            result.append(current)
            current = []
            bytes = 0
        }
        current.append(index)
        bytes += cost
    }
    if !current.isEmpty { result.append(current) }
    return result
}

// MARK: - Deduplication and scene rebuild

/// Images with identical decoded pixels and the same use (class and alpha) become duplicates of the first (confirmed by decoding
/// both again, so a digest collision cannot merge different pictures).
func markPixelDuplicates(_ results: inout [ImageResult?], images: [Image], uses: [ImageUse?], options: TextureOptions) {
    var firstByKey: [String: [Int]] = [:]
    for index in results.indices {
        guard let result = results[index], let digest = result.digest else { continue }
        if case .failed = result.outcome { continue }
        let key = "\(digest) \(result.report.use) \(uses[index]?.alphaRead ?? false) \(result.report.sizeBefore)"
        let candidates = firstByKey[key, default: []]
        let sameBytes = { (a: Int) in images[a].data == images[index].data }
        if let match = candidates.first(where: { sameBytes($0) || samePixels(images[$0], images[index], options) }) {
            results[index]!.outcome = results[match]!.outcome
            results[index]!.report.mimeAfter = []
            results[index]!.report.bytesAfter = 0
            results[index]!.report.sizeAfter = results[match]!.report.sizeAfter
            results[index]!.report.outcome = "duplicate of image \(match)"
        } else {
            firstByKey[key, default: []].append(index)
        }
    }
}

private func samePixels(_ a: Image, _ b: Image, _ options: TextureOptions) -> Bool {
    guard let fa = ImageFormat(mimeType: a.mimeType), let fb = ImageFormat(mimeType: b.mimeType),
        let pa = try? decodeImage(a.data, fa, maxPixels: options.maxImagePixels),
        let pb = try? decodeImage(b.data, fb, maxPixels: options.maxImagePixels)
    else { return false }
    return pa == pb
}

/// Writes the results back: new images (shared when bytes are equal), textures with `webpSource`, solid colors
/// folded into factors, then drops unused textures, images and samplers and merges equal ones.
func rebuild(_ scene: inout Scene, uses: [ImageUse?], results: [ImageResult?]) -> (
    images: [ImageReport], warnings: [String]
) {
    var warnings: [String] = []
    let oldTextures = scene.textures
    var newImages: [Image] = []
    var imageByBytes: [[UInt8]: Int] = [:]
    func add(_ image: Image) -> Int {
        let key = Array(image.mimeType.utf8) + [0] + image.data
        if let existing = imageByBytes[key] { return existing }
        newImages.append(image)
        imageByBytes[key] = newImages.count - 1
        return newImages.count - 1
    }
    /// Per old texture: the new texture, or nil when dropped; `solid` when every texel is one color.
    struct Mapped {
        var texture: Texture?
        var solid: SIMD4<UInt8>?
    }
    var warned = Set<Int>()
    func mapSource(_ texture: Texture) -> Mapped {
        guard texture.image >= 0, texture.image < results.count, let result = results[texture.image] else {
            return Mapped(texture: nil, solid: nil)
        }
        switch result.outcome {
        case .failed(let message):
            if warned.insert(texture.image).inserted { warnings.append(message) }
            return Mapped(texture: nil, solid: nil)
        case let .solid(color, written):
            let index = add(written)
            return Mapped(texture: Texture(image: index, sampler: texture.sampler), solid: color)
        case let .written(source, webp, _, _):
            let webpIndex = webp.map(add)
            let sourceIndex = source.map(add) ?? webpIndex!
            return Mapped(
                texture: Texture(image: sourceIndex, sampler: texture.sampler, webpSource: webpIndex), solid: nil)
        }
    }

    let mapped: [Mapped] = scene.textures.map { texture in
        // KHR_texture_basisu images are kept as they are.
        let basisu = texture.basisuSource.flatMap { $0 >= 0 && $0 < scene.images.count ? add(scene.images[$0]) : nil }
        if let basisu, texture.image == texture.basisuSource {
            return Mapped(texture: Texture(image: basisu, sampler: texture.sampler, basisuSource: basisu), solid: nil)
        }
        var mapped = mapSource(texture)
        mapped.texture?.basisuSource = basisu
        return mapped
    }

    var foldedSlots = 0
    for m in scene.materials.indices {
        for slot in Slot.allCases {
            guard let ref = scene.materials[m][keyPath: slot.path] else { continue }
            guard ref.texture >= 0, ref.texture < mapped.count, mapped[ref.texture].texture != nil else {
                scene.materials[m][keyPath: slot.path] = nil
                continue
            }
            if let solid = mapped[ref.texture].solid, fold(solid, slot: slot, into: &scene.materials[m]) {
                scene.materials[m][keyPath: slot.path] = nil
                foldedSlots += 1
            }
        }
        scene.materials[m].updateExtensionTextures { ref, _ in
            ref.texture >= 0 && ref.texture < mapped.count && mapped[ref.texture].texture != nil ? ref : nil
        }
    }

    // Textures still referenced, merged when equal; samplers likewise.
    var newTextures: [Texture] = []
    var textureIndex: [Int: Int] = [:]
    var samplers: [Sampler] = []
    func remapSampler(_ old: Int?) -> Int? {
        guard let old, old >= 0, old < scene.samplers.count else { return nil }
        let sampler = scene.samplers[old]
        if let existing = samplers.firstIndex(of: sampler) { return existing }
        samplers.append(sampler)
        return samplers.count - 1
    }
    func newIndex(_ old: Int) -> Int {
        if let done = textureIndex[old] { return done }
        var texture = mapped[old].texture!
        texture.sampler = remapSampler(texture.sampler)
        let index =
            newTextures.firstIndex(of: texture)
            ?? {
                newTextures.append(texture)
                return newTextures.count - 1
            }()
        textureIndex[old] = index
        return index
    }
    for m in scene.materials.indices {
        for slot in Slot.allCases {
            if let old = scene.materials[m][keyPath: slot.path]?.texture {
                scene.materials[m][keyPath: slot.path]?.texture = newIndex(old)
            }
        }
        scene.materials[m].updateExtensionTextures { ref, _ in
            var ref = ref
            ref.texture = newIndex(ref.texture)
            return ref
        }
    }
    // Keep only images the surviving textures use, in first-use order.
    var imageIndex: [Int: Int] = [:]
    var finalImages: [Image] = []
    func keep(_ old: Int) -> Int {
        if let done = imageIndex[old] { return done }
        finalImages.append(newImages[old])
        imageIndex[old] = finalImages.count - 1
        return finalImages.count - 1
    }
    for t in newTextures.indices {
        newTextures[t].image = keep(newTextures[t].image)
        newTextures[t].webpSource = newTextures[t].webpSource.map(keep)
        newTextures[t].basisuSource = newTextures[t].basisuSource.map(keep)
    }
    scene.images = finalImages
    scene.textures = newTextures
    scene.samplers = samplers
    if foldedSlots > 0 { warnings.append("\(foldedSlots) single-color texture slot(s) folded into material factors") }

    var reports: [ImageReport] = []
    let survivingSources = Set(textureIndex.keys.map { oldTextures[$0].image })
    for (index, result) in results.enumerated() {
        guard let result, uses[index] != nil else { continue }
        var report = result.report
        if case let .solid(_, written) = result.outcome, !report.outcome.hasPrefix("duplicate") {
            let stillUsed = survivingSources.contains(index)
            report.outcome = stillUsed ? "single color, written as 1×1" : "folded into factors"
            report.mimeAfter = stillUsed ? [written.mimeType] : []
            report.bytesAfter = stillUsed ? written.data.count : 0
        }
        reports.append(report)
    }
    return (reports, warnings)
}

/// Replaces a single-color texture by its effect on the material's factors when that is exact; false otherwise.
func fold(_ color: SIMD4<UInt8>, slot: Slot, into material: inout Material) -> Bool {
    let unit = SIMD4<Float>(Float(color.x), Float(color.y), Float(color.z), Float(color.w)) / 255
    switch slot {
    case .baseColor:
        let linear = SIMD4(
            srgbByteToLinear[Int(color.x)], srgbByteToLinear[Int(color.y)], srgbByteToLinear[Int(color.z)], unit.w)
        material.baseColorFactor *= linear
        return true
    case .emissive:
        material.emissiveFactor *= SIMD3(
            srgbByteToLinear[Int(color.x)], srgbByteToLinear[Int(color.y)], srgbByteToLinear[Int(color.z)])
        return true
    case .metallicRoughness:
        material.roughnessFactor *= unit.y
        material.metallicFactor *= unit.z
        return true
    case .occlusion:
        return color.x == 255  // full occlusion value: no effect at all
    case .normal:
        return color.x == 128 && color.y == 128 && color.z == 255  // the flat normal (0, 0, 1)
    }
}
