import Dispatch
import FoundationEssentials
import Scene
import Textures

/// The color behind the model.
public enum PreviewBackground: Sendable, Equatable {
    /// An sRGB color.
    case color(SIMD3<UInt8>)
    /// A transparent background (an RGBA PNG).
    case transparent

    /// The default: a neutral light gray.
    public static let standard = PreviewBackground.color(SIMD3(240, 240, 240))

    /// Parses `#RRGGBB`, `RRGGBB` or `transparent`.
    public init?(argument: String) {
        if argument.lowercased() == "transparent" {
            self = .transparent
            return
        }
        let hex = argument.hasPrefix("#") ? String(argument.dropFirst()) : argument
        guard hex.count == 6, let value = UInt32(hex, radix: 16) else { return nil }
        self = .color(SIMD3(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)))
    }
}

/// Options of `renderPreview`.
public struct PreviewOptions: Sendable, Equatable {
    /// Width and height of the square image in pixels (16…4096).
    public var size = 512
    public var background = PreviewBackground.standard
    /// Textures whose header declares more pixels are not decoded (the material's factors are used).
    public var maxTexturePixels = 64 * 1024 * 1024
    /// Refuse scenes that would place more vertices than this (instancing multiplies them), before allocating.
    public var maxVertices = 64_000_000

    public init() {}
}

/// A rendered preview: the PNG file's bytes and how it was made.
public struct RenderedPreview: Sendable {
    public var png: [UInt8]
    public var width: Int
    public var height: Int
    public var camera: PreviewCamera
    /// Triangles rasterized (after culling of back faces and of triangles that cover no sample).
    public var trianglesDrawn: Int
    /// Textures that could not be decoded, one line each.
    public var warnings: [String]
}

/// Renders `scene` on the CPU as a PNG: a perspective camera framed on the world bounds from a three-quarter view,
/// a depth buffer, base color factor and texture, vertex colors, metallic-roughness and emissive, a hemisphere
/// ambient plus one key light (see `Lighting`), 2×2 supersampling, sRGB output.
///
/// Triangles only (points and lines are not drawn), rest pose (no skinning or morph targets), no normal or occlusion
/// maps; MASK materials are alpha-tested, BLEND materials blended over the opaque result in scene order without
/// depth writes. Tiles of the image are rendered in parallel on `threads` workers; every tile is computed the same
/// way for any thread count, so the bytes are deterministic.
public func renderPreview(_ scene: Scene, options: PreviewOptions, threads: Int) throws -> RenderedPreview {
    guard (16...4096).contains(options.size) else {
        throw ProcessingError(.internal, "preview size \(options.size) is outside 16…4096")
    }
    var warnings: [String] = []
    let (textures, materials) = prepareMaterials(scene, options: options, warnings: &warnings)
    let frame = try Frame(
        scene: scene, size: options.size * 2, materials: materials,
        maxVertices: options.maxVertices, threads: threads)
    let camera = frame.camera
    let pixels = frame.render(
        textures: textures, materials: materials, background: options.background,
        lighting: Lighting(keyDirection: lightDirection(camera), eye: camera.eye),
        threads: threads)
    let bitmap = Bitmap(width: options.size, height: options.size, pixels: pixels)
    let png: [UInt8]
    do {
        png = try encodePNG(bitmap, alpha: options.background == .transparent)
    } catch {
        throw ProcessingError(.internal, "cannot encode the preview PNG: \(error)")
    }
    return RenderedPreview(
        png: png, width: options.size, height: options.size, camera: camera,
        trianglesDrawn: frame.triangles.count, warnings: warnings)
}

/// From the world origin towards the camera (a three.js directional light at the camera aiming at its default target).
private func lightDirection(_ camera: PreviewCamera) -> SIMD3<Float> {
    length(camera.eye) > 1e-12
        ? normalize(camera.eye, fallback: .zero) : normalize(camera.eye - camera.center, fallback: .zero)
}

/// Decodes every texture the materials use (once per texture) and maps the materials for shading; the last entry of
/// the material list is glTF's default material.
private func prepareMaterials(
    _ scene: Scene, options: PreviewOptions,
    warnings: inout [String]
) -> ([SampledTexture], [ShadeMaterial]) {
    var slots: [Int: Int] = [:]
    var textures: [SampledTexture] = []
    func slot(_ ref: TextureRef?) -> (Int, Int)? {
        guard let ref, scene.textures.indices.contains(ref.texture) else { return nil }
        if let existing = slots[ref.texture] { return existing < 0 ? nil : (existing, ref.texCoord) }
        let texture = scene.textures[ref.texture]
        guard scene.images.indices.contains(texture.image) else {
            slots[ref.texture] = -1
            return nil
        }
        let image = scene.images[texture.image]
        do {
            let bitmap = try decodeBitmap(image, maxPixels: options.maxTexturePixels)
            let sampler = texture.sampler.flatMap { scene.samplers.indices.contains($0) ? scene.samplers[$0] : nil }
            textures.append(SampledTexture(bitmap, sampler: sampler))
            slots[ref.texture] = textures.count - 1
            return (textures.count - 1, ref.texCoord)
        } catch {
            warnings.append(
                "texture \(ref.texture) (\(image.name.isEmpty ? image.mimeType : image.name)) not drawn: \(error)")
            slots[ref.texture] = -1
            return nil
        }
    }
    var materials = scene.materials.map { ShadeMaterial($0, textureSlot: slot) }
    materials.append(ShadeMaterial(nil, textureSlot: slot))
    return (textures, materials)
}

/// One primitive placed in the world by a node (and instance).
struct DrawItem: Sendable {
    var mesh: Int
    var primitive: Int
    var material: Int
    var world: Matrix4
    /// Offset of the item's vertices in the frame's vertex arrays.
    var base: Int
    /// The placement mirrors (negative determinant): front faces are clockwise.
    var mirrored: Bool
}

/// A triangle that survived culling: its vertices in the frame's arrays, its item and which side faces the camera.
struct FrameTriangle: Sendable {
    var v0: UInt32, v1: UInt32, v2: UInt32
    var item: UInt32
    var backFacing: Bool
    var blend: Bool
}

/// Vertices transformed to the screen, triangles culled and binned into tiles.
struct Frame: Sendable {
    static let tile = 64

    let scene: Scene
    let size: Int
    let items: [DrawItem]
    /// Per placed vertex: screen x, y (supersampled pixels, y down), 1/w.
    let screen: [SIMD3<Float>]
    let worldPositions: [SIMD3<Float>]
    /// World-space normals (unnormalized), zero when the primitive has none.
    let worldNormals: [SIMD3<Float>]
    let triangles: [FrameTriangle]
    /// Per tile (row-major), the triangles overlapping it, in scene order.
    let bins: [[UInt32]]
    let tilesPerRow: Int

    /// Framed on the bounds of what is drawn.
    let camera: PreviewCamera

    init(scene: Scene, size: Int, materials: [ShadeMaterial], maxVertices: Int, threads: Int) throws {
        self.scene = scene
        self.size = size
        let world = scene.worldTransforms()
        // Only nodes in the hierarchy are drawn (not, e.g., MSFT_lod's coarser levels), in index order: the order
        // triangles are drawn in (ties in depth go to the earlier one).
        var reachable = [Bool](repeating: false, count: scene.nodes.count)
        var stack = scene.roots.filter { scene.nodes.indices.contains($0) }
        while let n = stack.popLast() {
            guard !reachable[n] else { continue }
            reachable[n] = true
            stack += scene.nodes[n].children.filter { scene.nodes.indices.contains($0) }
        }
        var items: [DrawItem] = []
        var total = 0
        for (n, node) in scene.nodes.enumerated() where reachable[n] {
            guard let m = node.mesh, scene.meshes.indices.contains(m) else { continue }
            let placements = node.instances.isEmpty ? [world[n]] : node.instances.map { world[n] * $0.matrix }
            for placement in placements {
                let det = placement.determinant3
                for (p, primitive) in scene.meshes[m].primitives.enumerated()
                where primitive.mode == .triangles && primitive.indices.count >= 3 {
                    let material =
                        primitive.material.flatMap { scene.materials.indices.contains($0) ? $0 : nil }
                        ?? materials.count - 1
                    items.append(
                        DrawItem(
                            mesh: m, primitive: p, material: material, world: placement, base: total,
                            mirrored: det < 0))
                    total += primitive.vertexCount
                    guard total <= maxVertices else {
                        throw ProcessingError(.resourceLimit, "more than \(maxVertices) placed vertices to draw")
                    }
                }
            }
        }
        self.items = items

        // World positions and normals of every item's vertices, each item into its own slice, in parallel; then
        // the bounds (min/max are exact, so the order of combination does not matter).
        var positions = [SIMD3<Float>](repeating: .zero, count: total)
        var normals = [SIMD3<Float>](repeating: .zero, count: total)
        positions.withUnsafeMutableBufferPointer { positionsOut in
            normals.withUnsafeMutableBufferPointer { normalsOut in
                nonisolated(unsafe) let (w, nrm) = (positionsOut, normalsOut)
                parallelFor(items.count, threads: threads) { i in
                    let item = items[i]
                    let streams = scene.meshes[item.mesh].primitives[item.primitive].vertices
                    let normalMatrix = item.world.normalMatrix
                    let hasNormals = streams.normals.count == streams.positions.count
                    for (k, p) in streams.positions.enumerated() {
                        w[item.base + k] = item.world.transformPoint(p)
                        if hasNormals {
                            let n = streams.normals[k]
                            nrm[item.base + k] = normalMatrix.0 * n.x + normalMatrix.1 * n.y + normalMatrix.2 * n.z
                        }
                    }
                }
            }
        }
        var lo = SIMD3<Float>(repeating: .infinity)
        var hi = SIMD3<Float>(repeating: -.infinity)
        for p in positions where p.x.isFinite && p.y.isFinite && p.z.isFinite {
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        guard lo.x <= hi.x else { throw ProcessingError(.badInput, "the scene has no finite triangles to draw") }
        let camera = PreviewCamera.framing(min: lo, max: hi)
        self.camera = camera

        // Project to the screen.
        let viewProjection = camera.viewProjection(aspect: 1)
        let half = Float(size) / 2
        var screen = [SIMD3<Float>](repeating: .zero, count: total)
        screen.withUnsafeMutableBufferPointer { screenOut in
            nonisolated(unsafe) let s = screenOut
            let world = positions
            parallelFor(max(1, (total + 65_535) / 65_536), threads: threads) { chunk in
                for k in chunk * 65_536..<min(total, (chunk + 1) * 65_536) {
                    let clip = viewProjection * SIMD4(world[k], 1)
                    let invW = clip.w > 0 && clip.w.isFinite ? 1 / clip.w : 0
                    s[k] = SIMD3(half + clip.x * invW * half, half - clip.y * invW * half, invW)
                }
            }
        }
        self.screen = screen
        self.worldPositions = positions
        self.worldNormals = normals

        // Cull and bin, in scene order.
        let tile = Frame.tile
        tilesPerRow = (size + tile - 1) / tile
        var bins = [[UInt32]](repeating: [], count: tilesPerRow * tilesPerRow)
        var triangles: [FrameTriangle] = []
        let limit = Float(size) - 0.5
        for (i, item) in items.enumerated() {
            let material = materials[item.material]
            let indices = scene.meshes[item.mesh].primitives[item.primitive].indices
            let count = scene.meshes[item.mesh].primitives[item.primitive].vertexCount
            var t = 0
            while t + 2 < indices.count {
                defer { t += 3 }
                let (a, b, c) = (Int(indices[t]), Int(indices[t + 1]), Int(indices[t + 2]))
                guard a < count, b < count, c < count else { continue }
                let (p0, p1, p2) = (screen[item.base + a], screen[item.base + b], screen[item.base + c])
                guard p0.z > 0, p1.z > 0, p2.z > 0 else { continue }
                let area = (p1.x - p0.x) * (p2.y - p0.y) - (p2.x - p0.x) * (p1.y - p0.y)
                guard area != 0, area.isFinite else { continue }
                // y points down on screen: a counter-clockwise (front) triangle has a negative area.
                let backFacing = (area > 0) != item.mirrored
                if backFacing && !material.doubleSided { continue }
                // The sample centers (x + 0.5) the bounding box can contain.
                let minX = max(min(p0.x, p1.x, p2.x) - 0.5, 0).rounded(.up)
                let maxX = min(max(p0.x, p1.x, p2.x) - 0.5, limit).rounded(.down)
                let minY = max(min(p0.y, p1.y, p2.y) - 0.5, 0).rounded(.up)
                let maxY = min(max(p0.y, p1.y, p2.y) - 0.5, limit).rounded(.down)
                guard minX <= maxX, minY <= maxY else { continue }
                let index = UInt32(triangles.count)
                triangles.append(
                    FrameTriangle(
                        v0: UInt32(item.base + a), v1: UInt32(item.base + b),
                        v2: UInt32(item.base + c), item: UInt32(i), backFacing: backFacing,
                        blend: material.alphaMode == .blend))
                for ty in Int(minY) / tile...Int(maxY) / tile {
                    for tx in Int(minX) / tile...Int(maxX) / tile { bins[ty * tilesPerRow + tx].append(index) }
                }
            }
        }
        self.triangles = triangles
        self.bins = bins
    }

    /// Rasterizes, shades and downsamples every tile; returns `size / 2` squared RGBA8 pixels.
    func render(
        textures: [SampledTexture], materials: [ShadeMaterial], background: PreviewBackground,
        lighting: Lighting, threads: Int
    ) -> [UInt8] {
        let out = size / 2
        var pixels = [UInt8](repeating: 0, count: out * out * 4)
        let backgroundColor: SIMD4<Float>
        switch background {
        case .transparent: backgroundColor = .zero
        case .color(let c):
            backgroundColor = SIMD4(
                srgbByteToLinear[Int(c.x)], srgbByteToLinear[Int(c.y)], srgbByteToLinear[Int(c.z)], 1)
        }
        let shader = Shader(frame: self, textures: textures, materials: materials, lighting: lighting)
        pixels.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let target = buffer
            parallelFor(bins.count, threads: threads) { tileIndex in
                let colors = renderTile(tileIndex, shader: shader, background: backgroundColor)
                let x0 = (tileIndex % tilesPerRow) * Frame.tile
                let y0 = (tileIndex / tilesPerRow) * Frame.tile
                let width = min(Frame.tile, size - x0)
                let height = min(Frame.tile, size - y0)
                // 2×2 box filter in linear light (premultiplied), then sRGB bytes.
                for y in stride(from: 0, to: height, by: 2) {
                    for x in stride(from: 0, to: width, by: 2) {
                        let sum =
                            colors[y * width + x] + colors[y * width + x + 1]
                            + colors[(y + 1) * width + x] + colors[(y + 1) * width + x + 1]
                        let average = sum / 4
                        let alpha = average.w
                        let rgb = alpha > 0 ? SIMD3(average.x, average.y, average.z) / alpha : .zero
                        let o = (((y0 + y) / 2) * out + (x0 + x) / 2) * 4
                        target[o] = encodeByte(rgb.x)
                        target[o + 1] = encodeByte(rgb.y)
                        target[o + 2] = encodeByte(rgb.z)
                        target[o + 3] = UInt8(min(max(alpha, 0), 1) * 255 + 0.5)
                    }
                }
            }
        }
        return pixels
    }

    /// The tile's samples as premultiplied linear RGBA.
    private func renderTile(_ tileIndex: Int, shader: Shader, background: SIMD4<Float>) -> [SIMD4<Float>] {
        let x0 = (tileIndex % tilesPerRow) * Frame.tile
        let y0 = (tileIndex / tilesPerRow) * Frame.tile
        let width = min(Frame.tile, size - x0)
        let height = min(Frame.tile, size - y0)
        var depth = [Float](repeating: 0, count: width * height)
        var owner = [Int32](repeating: -1, count: width * height)
        var weights = [SIMD2<Float>](repeating: .zero, count: width * height)
        let bin = bins[tileIndex]

        // Visibility: the nearest opaque or alpha-tested triangle per sample (larger 1/w is nearer; ties keep the first).
        for t in bin where !triangles[Int(t)].blend {
            let triangle = triangles[Int(t)]
            let alphaTested = shader.materials[items[Int(triangle.item)].material].alphaMode == .mask
            rasterize(triangle, x0: x0, y0: y0, width: width, height: height) { index, l1, l2, z in
                guard z > depth[index] else { return }
                if alphaTested, !shader.passesAlphaTest(triangle, l1, l2) { return }
                depth[index] = z
                owner[index] = Int32(bitPattern: t)
                weights[index] = SIMD2(l1, l2)
            }
        }
        var colors = [SIMD4<Float>](repeating: background, count: width * height)
        for index in 0..<(width * height) where owner[index] >= 0 {
            let w = weights[index]
            let c = shader.shade(triangles[Int(owner[index])], w.x, w.y)
            colors[index] = SIMD4(c.x, c.y, c.z, 1)
        }
        // Blended triangles over the result, in scene order, depth-tested but not writing depth.
        for t in bin where triangles[Int(t)].blend {
            let triangle = triangles[Int(t)]
            rasterize(triangle, x0: x0, y0: y0, width: width, height: height) { index, l1, l2, z in
                guard z > depth[index] else { return }
                let c = shader.shade(triangle, l1, l2)
                let a = min(max(c.w, 0), 1)
                colors[index] = SIMD4(c.x * a, c.y * a, c.z * a, a) + colors[index] * (1 - a)
            }
        }
        return colors
    }

    /// Calls `body(sample index in the tile, λ1, λ2, 1/w)` for every sample center of the tile inside the triangle.
    @inline(__always)
    private func rasterize(
        _ t: FrameTriangle, x0: Int, y0: Int, width: Int, height: Int,
        _ body: (Int, Float, Float, Float) -> Void
    ) {
        let (p0, p1, p2) = (screen[Int(t.v0)], screen[Int(t.v1)], screen[Int(t.v2)])
        let area = (p1.x - p0.x) * (p2.y - p0.y) - (p2.x - p0.x) * (p1.y - p0.y)
        let inverseArea = 1 / area
        let minX = max(Int((min(p0.x, p1.x, p2.x) - 0.5).rounded(.up)), x0)
        let maxX = min(Int((max(p0.x, p1.x, p2.x) - 0.5).rounded(.down)), x0 + width - 1)
        let minY = max(Int((min(p0.y, p1.y, p2.y) - 0.5).rounded(.up)), y0)
        let maxY = min(Int((max(p0.y, p1.y, p2.y) - 0.5).rounded(.down)), y0 + height - 1)
        guard minX <= maxX, minY <= maxY else { return }
        for y in minY...maxY {
            let py = Float(y) + 0.5
            for x in minX...maxX {
                let px = Float(x) + 0.5
                let l0 = ((p2.x - p1.x) * (py - p1.y) - (p2.y - p1.y) * (px - p1.x)) * inverseArea
                let l1 = ((p0.x - p2.x) * (py - p2.y) - (p0.y - p2.y) * (px - p2.x)) * inverseArea
                let l2 = ((p1.x - p0.x) * (py - p0.y) - (p1.y - p0.y) * (px - p0.x)) * inverseArea
                guard l0 >= 0, l1 >= 0, l2 >= 0 else { continue }
                body((y - y0) * width + (x - x0), l1, l2, l0 * p0.z + l1 * p1.z + l2 * p2.z)
            }
        }
    }
}

/// Per-sample surface evaluation: perspective-correct attributes, material, lighting.
struct Shader: Sendable {
    let frame: Frame
    let textures: [SampledTexture]
    let materials: [ShadeMaterial]
    let lighting: Lighting

    /// Perspective-correct weights of the three vertices from the screen-space ones.
    @inline(__always) private func perspective(_ t: FrameTriangle, _ l1: Float, _ l2: Float) -> SIMD3<Float> {
        let w = SIMD3(frame.screen[Int(t.v0)].z, frame.screen[Int(t.v1)].z, frame.screen[Int(t.v2)].z)
        let weighted = SIMD3(1 - l1 - l2, l1, l2) * w
        let sum = weighted.sum()
        return sum > 0 ? weighted / sum : SIMD3(1 - l1 - l2, l1, l2)
    }

    /// Base color (linear RGBA) at a sample: factor × texture × vertex color.
    private func baseColor(
        _ t: FrameTriangle, _ b: SIMD3<Float>, _ material: ShadeMaterial,
        _ streams: VertexStreams, local: (Int, Int, Int)
    ) -> SIMD4<Float> {
        var color = material.base
        if let slot = material.baseTexture, let uv = texcoord(streams, slot.set, b, local) {
            let s = textures[slot.texture].sample(uv)
            color *= SIMD4(decodeSRGB(s.x), decodeSRGB(s.y), decodeSRGB(s.z), s.w)
        }
        if streams.colors.count == streams.positions.count {
            color *= streams.colors[local.0] * b.x + streams.colors[local.1] * b.y + streams.colors[local.2] * b.z
        }
        return color
    }

    private func texcoord(
        _ streams: VertexStreams, _ set: Int, _ b: SIMD3<Float>,
        _ local: (Int, Int, Int)
    ) -> SIMD2<Float>? {
        guard set < streams.texcoords.count, streams.texcoords[set].count == streams.positions.count else { return nil }
        let uv = streams.texcoords[set]
        return uv[local.0] * b.x + uv[local.1] * b.y + uv[local.2] * b.z
    }

    private func context(_ t: FrameTriangle) -> (DrawItem, VertexStreams, (Int, Int, Int)) {
        let item = frame.items[Int(t.item)]
        let streams = frame.scene.meshes[item.mesh].primitives[item.primitive].vertices
        return (item, streams, (Int(t.v0) - item.base, Int(t.v1) - item.base, Int(t.v2) - item.base))
    }

    func passesAlphaTest(_ t: FrameTriangle, _ l1: Float, _ l2: Float) -> Bool {
        let (item, streams, local) = context(t)
        let material = materials[item.material]
        return baseColor(t, perspective(t, l1, l2), material, streams, local: local).w >= material.alphaCutoff
    }

    /// Linear RGB and alpha of the surface at a sample.
    func shade(_ t: FrameTriangle, _ l1: Float, _ l2: Float) -> SIMD4<Float> {
        let (item, streams, local) = context(t)
        let material = materials[item.material]
        let b = perspective(t, l1, l2)
        let base = baseColor(t, b, material, streams, local: local)
        if material.unlit { return base }
        let (i0, i1, i2) = (Int(t.v0), Int(t.v1), Int(t.v2))
        let positions = frame.worldPositions
        let position = positions[i0] * b.x + positions[i1] * b.y + positions[i2] * b.z
        var normal = frame.worldNormals[i0] * b.x + frame.worldNormals[i1] * b.y + frame.worldNormals[i2] * b.z
        if dot(normal, normal) < 1e-20 {
            normal = cross(positions[i1] - positions[i0], positions[i2] - positions[i0])
            if item.mirrored { normal = -normal }
        }
        normal = normalize(normal, fallback: .zero)
        if t.backFacing { normal = -normal }
        var metallic = material.metallic
        var roughness = material.roughness
        if let slot = material.metallicRoughnessTexture, let uv = texcoord(streams, slot.set, b, local) {
            let s = textures[slot.texture].sample(uv)
            roughness *= s.y
            metallic *= s.z
        }
        var color = lighting.shade(
            albedo: SIMD3(base.x, base.y, base.z), metallic: metallic, roughness: roughness,
            normal: normal, position: position)
        var emissive = material.emissive
        if emissive != .zero, let slot = material.emissiveTexture, let uv = texcoord(streams, slot.set, b, local) {
            let s = textures[slot.texture].sample(uv)
            emissive *= SIMD3(decodeSRGB(s.x), decodeSRGB(s.y), decodeSRGB(s.z))
        }
        color += emissive
        return SIMD4(color, base.w)
    }
}

@inline(__always) private func encodeByte(_ linear: Float) -> UInt8 {
    UInt8(min(max(linearToSRGB(min(max(linear, 0), 1)), 0), 1) * 255 + 0.5)
}
