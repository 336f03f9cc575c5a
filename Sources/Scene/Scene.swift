/// The in-memory scene every importer produces, every stage transforms and the GLB writer serializes.
///
/// Plain value types in glTF 2.0 conventions: Y-up, meters, right-handed, counter-clockwise front faces,
/// column-major matrices, quaternions as (x, y, z, w). Objects refer to each other by index into the
/// arrays of `Scene`. No C type appears here.
public struct Scene: Sendable, Equatable, Codable {
    public var nodes: [Node] = []
    /// Indices of the top-level nodes, in order.
    public var roots: [Int] = []
    public var meshes: [Mesh] = []
    public var materials: [Material] = []
    public var textures: [Texture] = []
    public var images: [Image] = []
    public var samplers: [Sampler] = []
    public var skins: [Skin] = []
    public var animations: [Animation] = []
    public var cameras: [Camera] = []
    public var lights: [Light] = []
    /// `KHR_materials_variants`: the variant names that `Primitive.variantMaterials` refer to by index.
    public var materialVariants: [String] = []
    /// Problems that did not stop the import (a missing texture, an ignored feature), one line each.
    public var warnings: [String] = []

    public init() {}
}

// MARK: - Nodes

public struct Node: Sendable, Equatable, Codable {
    public var name: String = ""
    public var transform: Transform = .identity
    public var children: [Int] = []
    public var mesh: Int?
    public var skin: Int?
    public var camera: Int?
    public var light: Int?
    /// `EXT_mesh_gpu_instancing`: when not empty, the node draws its mesh once per instance, each instance's
    /// transform applied to the mesh before the node's own world transform. Empty = drawn once, not instanced.
    public var instances: [InstanceTransform] = []
    /// The input's `extras`, written back unchanged.
    public var extras: ExtensionValue?
    /// `MSFT_lod`: nodes drawing coarser versions of this node's mesh, finest first. They sit outside the hierarchy
    /// (no parent, not roots) and carry this node's transform; empty = no levels of detail.
    public var levelsOfDetail: [Int] = []
    /// `MSFT_screencoverage` hints: per level, this node's first, the smallest share of the screen's height (0…1)
    /// at which a viewer should draw it.
    public var screenCoverage: [Float] = []

    public init(name: String = "") { self.name = name }
}

/// One copy of an instanced node's mesh: a decomposed transform in the node's local space.
public struct InstanceTransform: Sendable, Equatable, Codable {
    public var translation: SIMD3<Float>
    /// Unit quaternion (x, y, z, w).
    public var rotation: SIMD4<Float>
    public var scale: SIMD3<Float>

    public init(
        translation: SIMD3<Float> = .zero, rotation: SIMD4<Float> = SIMD4(0, 0, 0, 1), scale: SIMD3<Float> = .one
    ) {
        self.translation = translation
        self.rotation = rotation
        self.scale = scale
    }

    public var matrix: Matrix4 { Matrix4(translation: translation, rotation: rotation, scale: scale) }
}

/// A node's local transform: either decomposed (what animations target) or a raw matrix.
public enum Transform: Sendable, Equatable, Codable {
    case trs(translation: SIMD3<Float>, rotation: SIMD4<Float>, scale: SIMD3<Float>)
    case matrix(Matrix4)

    public static let identity = Transform.trs(translation: .zero, rotation: SIMD4(0, 0, 0, 1), scale: .one)

    /// The transform as a column-major 4×4 matrix.
    public var matrix: Matrix4 {
        switch self {
        case .matrix(let m): return m
        case let .trs(t, r, s): return Matrix4(translation: t, rotation: r, scale: s)
        }
    }

    public var isIdentity: Bool {
        switch self {
        case .matrix(let m): return m == .identity
        case let .trs(t, r, s): return t == .zero && r == SIMD4(0, 0, 0, 1) && s == .one
        }
    }
}

/// A 4×4 matrix stored as four inline columns (no heap storage), as glTF lays it out column-major.
public struct Matrix4: Sendable, Equatable, Hashable, Codable {
    public var c0, c1, c2, c3: SIMD4<Float>

    public init(columns c0: SIMD4<Float>, _ c1: SIMD4<Float>, _ c2: SIMD4<Float>, _ c3: SIMD4<Float>) {
        (self.c0, self.c1, self.c2, self.c3) = (c0, c1, c2, c3)
    }

    /// From 16 values in column-major order (`values[column * 4 + row]`), as glTF and most file formats store them.
    public init(_ values: [Float]) {
        precondition(values.count == 16, "Matrix4 needs 16 values")
        self.init(columns: SIMD4(values[0..<4]), SIMD4(values[4..<8]), SIMD4(values[8..<12]), SIMD4(values[12..<16]))
    }

    public static let identity = Matrix4(
        columns: SIMD4(1, 0, 0, 0), SIMD4(0, 1, 0, 0), SIMD4(0, 0, 1, 0), SIMD4(0, 0, 0, 1))

    public init(translation t: SIMD3<Float>, rotation q: SIMD4<Float>, scale s: SIMD3<Float>) {
        let (x, y, z, w) = (q.x, q.y, q.z, q.w)
        let c0 = SIMD3<Float>(1 - 2 * (y * y + z * z), 2 * (x * y + z * w), 2 * (x * z - y * w)) * s.x
        let c1 = SIMD3<Float>(2 * (x * y - z * w), 1 - 2 * (x * x + z * z), 2 * (y * z + x * w)) * s.y
        let c2 = SIMD3<Float>(2 * (x * z + y * w), 2 * (y * z - x * w), 1 - 2 * (x * x + y * y)) * s.z
        self.init(columns: SIMD4(c0, 0), SIMD4(c1, 0), SIMD4(c2, 0), SIMD4(t, 1))
    }

    /// The 16 values in column-major order, as glTF writes them.
    public var columnMajor: [Float] { [c0, c1, c2, c3].flatMap { [$0.x, $0.y, $0.z, $0.w] } }

    public subscript(column: Int) -> SIMD4<Float> {
        get {
            switch column {
            case 0: return c0
            case 1: return c1
            case 2: return c2
            default: return c3
            }
        }
        set {
            switch column {
            case 0: c0 = newValue
            case 1: c1 = newValue
            case 2: c2 = newValue
            default: c3 = newValue
            }
        }
    }

    public subscript(row: Int, column: Int) -> Float {
        get { self[column][row] }
        set { self[column][row] = newValue }
    }

    /// Transforms a column vector: `a * v`.
    public static func * (a: Matrix4, v: SIMD4<Float>) -> SIMD4<Float> {
        a.c0 * v.x + a.c1 * v.y + a.c2 * v.z + a.c3 * v.w
    }

    public static func * (a: Matrix4, b: Matrix4) -> Matrix4 {
        Matrix4(columns: a * b.c0, a * b.c1, a * b.c2, a * b.c3)
    }

    /// Transforms a point (w = 1).
    public func transformPoint(_ p: SIMD3<Float>) -> SIMD3<Float> {
        let r = c0 * p.x + c1 * p.y + c2 * p.z + c3
        return SIMD3(r.x, r.y, r.z)
    }

    /// The columns of the upper-left 3×3 block: the linear part (rotation, scale, shear) that directions follow.
    public var linearColumns: (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) {
        (SIMD3(c0.x, c0.y, c0.z), SIMD3(c1.x, c1.y, c1.z), SIMD3(c2.x, c2.y, c2.z))
    }

    /// The determinant of the upper-left 3×3 block (negative for a mirror).
    public var determinant3: Float {
        let (a, b, c) = linearColumns
        return dot(a, cross(b, c))
    }

    /// The columns of the normal matrix: the inverse transpose of the upper 3×3 block, up to a positive scale
    /// (normals transformed by it need renormalizing).
    public var normalMatrix: (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) {
        let (a, b, c) = linearColumns
        let sign: Float = dot(a, cross(b, c)) < 0 ? -1 : 1
        return (cross(b, c) * sign, cross(c, a) * sign, cross(a, b) * sign)
    }
}

// MARK: - Meshes

public struct Mesh: Sendable, Equatable, Codable {
    public var name: String = ""
    public var primitives: [Primitive] = []
    /// Default morph-target weights, one per target of each primitive.
    public var weights: [Float] = []
    /// The input's `extras` (without `targetNames`, which live in `MorphTarget.name`).
    public var extras: ExtensionValue?

    public init(name: String = "") { self.name = name }
}

public struct Primitive: Sendable, Equatable, Codable {
    public enum Mode: Int, Sendable, Codable {
        case points = 0
        case lines = 1
        case triangles = 4
    }

    public var mode: Mode = .triangles
    /// Vertex indices: 3 per triangle, 2 per line, 1 per point.
    public var indices: [UInt32] = []
    public var vertices = VertexStreams()
    public var material: Int?
    public var targets: [MorphTarget] = []
    /// `KHR_materials_variants`: the material to use instead of `material` when one of the variants is selected.
    public var variantMaterials: [VariantMapping] = []

    public init(mode: Mode = .triangles) { self.mode = mode }

    public var vertexCount: Int { vertices.positions.count }
    /// Triangles (0 for points and lines).
    public var triangleCount: Int { mode == .triangles ? indices.count / 3 : 0 }
}

/// One `KHR_materials_variants` mapping: `material` for the variants (indices into `Scene.materialVariants`).
public struct VariantMapping: Sendable, Equatable, Codable {
    public var material: Int
    public var variants: [Int]

    public init(material: Int, variants: [Int]) {
        self.material = material
        self.variants = variants
    }
}

/// Per-vertex data. Every non-empty stream has `positions.count` elements.
public struct VertexStreams: Sendable, Equatable, Codable {
    public var positions: [SIMD3<Float>] = []
    public var normals: [SIMD3<Float>] = []
    /// xyz tangent, w = handedness (±1).
    public var tangents: [SIMD4<Float>] = []
    /// TEXCOORD_0, TEXCOORD_1, … in glTF's orientation (v = 0 at the image's top).
    public var texcoords: [[SIMD2<Float>]] = []
    /// COLOR_0 as linear RGBA.
    public var colors: [SIMD4<Float>] = []
    public var joints: [SIMD4<UInt16>] = []
    /// Skin weights, summing to 1.
    public var weights: [SIMD4<Float>] = []

    public init() {}

    /// Appends `other`'s vertices (the same streams present).
    public mutating func append(_ other: VertexStreams) {
        positions += other.positions
        normals += other.normals
        tangents += other.tangents
        for s in texcoords.indices { texcoords[s] += other.texcoords[s] }
        colors += other.colors
        joints += other.joints
        weights += other.weights
    }
}

/// Morph-target displacements, each empty or with one element per vertex.
public struct MorphTarget: Sendable, Equatable, Codable {
    public var name: String = ""
    public var positions: [SIMD3<Float>] = []
    public var normals: [SIMD3<Float>] = []
    public var tangents: [SIMD3<Float>] = []

    public init(name: String = "") { self.name = name }
}

// MARK: - Materials and textures

/// A glTF PBR metallic-roughness material.
public struct Material: Sendable, Equatable, Codable {
    public enum AlphaMode: String, Sendable, Codable {
        case opaque = "OPAQUE"
        case mask = "MASK"
        case blend = "BLEND"
    }

    public var name: String = ""
    /// Linear RGBA.
    public var baseColorFactor: SIMD4<Float> = .one
    public var baseColorTexture: TextureRef?
    public var metallicFactor: Float = 1
    public var roughnessFactor: Float = 1
    /// Roughness in G, metalness in B.
    public var metallicRoughnessTexture: TextureRef?
    public var normalTexture: TextureRef?
    public var normalScale: Float = 1
    public var occlusionTexture: TextureRef?
    public var occlusionStrength: Float = 1
    public var emissiveTexture: TextureRef?
    public var emissiveFactor: SIMD3<Float> = .zero
    public var alphaMode: AlphaMode = .opaque
    public var alphaCutoff: Float = 0.5
    public var doubleSided = false
    /// `KHR_materials_unlit`.
    public var unlit = false
    /// Other `KHR_materials_*` extensions (clearcoat, sheen, specular, transmission, volume, ior, …) by name, their
    /// objects as read; texture references inside them are `ExtensionValue.texture`.
    public var extensions: [String: ExtensionValue] = [:]
    /// The input's `extras`.
    public var extras: ExtensionValue?

    public init(name: String = "") { self.name = name }
}

public struct TextureRef: Sendable, Equatable, Codable {
    public var texture: Int
    /// Which TEXCOORD_n set the texture reads.
    public var texCoord: Int
    /// `KHR_texture_transform`; nil = none.
    public var transform: TextureTransform?

    public init(texture: Int, texCoord: Int = 0, transform: TextureTransform? = nil) {
        self.texture = texture
        self.texCoord = texCoord
        self.transform = transform
    }
}

public struct Texture: Sendable, Equatable, Codable {
    /// The PNG or JPEG image glTF's `source` names; equal to `webpSource` when the WebP has no fallback.
    public var image: Int
    public var sampler: Int?
    /// A WebP image for `EXT_texture_webp`. When it equals `image` there is no PNG/JPEG fallback: the writer omits
    /// `source` and marks the extension required.
    public var webpSource: Int?
    /// A KTX2 image for `KHR_texture_basisu`, kept as read. When it equals `image` there is no PNG/JPEG fallback.
    public var basisuSource: Int?

    public init(image: Int, sampler: Int? = nil, webpSource: Int? = nil, basisuSource: Int? = nil) {
        self.image = image
        self.sampler = sampler
        self.webpSource = webpSource
        self.basisuSource = basisuSource
    }
}

/// An encoded image (PNG, JPEG, WebP, …) as it will be stored in the GLB.
public struct Image: Sendable, Equatable, Codable {
    public var name: String = ""
    public var mimeType: String
    public var data: [UInt8]

    public init(name: String = "", mimeType: String, data: [UInt8]) {
        self.name = name
        self.mimeType = mimeType
        self.data = data
    }
}

/// Texture filtering and wrapping, with glTF's GL enum values.
public struct Sampler: Sendable, Equatable, Hashable, Codable {
    public var magFilter: Int?
    public var minFilter: Int?
    public var wrapS: Int = Sampler.repeatWrap
    public var wrapT: Int = Sampler.repeatWrap

    public static let repeatWrap = 10497
    public static let clampToEdge = 33071
    public static let mirroredRepeat = 33648

    public init(
        magFilter: Int? = nil, minFilter: Int? = nil, wrapS: Int = Sampler.repeatWrap,
        wrapT: Int = Sampler.repeatWrap
    ) {
        self.magFilter = magFilter
        self.minFilter = minFilter
        self.wrapS = wrapS
        self.wrapT = wrapT
    }
}

// MARK: - Skins and animation

public struct Skin: Sendable, Equatable, Codable {
    public var name: String = ""
    /// Joint nodes; `VertexStreams.joints` indexes into this list.
    public var joints: [Int] = []
    /// One per joint.
    public var inverseBindMatrices: [Matrix4] = []
    public var skeleton: Int?

    public init(name: String = "") { self.name = name }
}

public struct Animation: Sendable, Equatable, Codable {
    public var name: String = ""
    public var channels: [Channel] = []

    public init(name: String = "") { self.name = name }

    public enum Path: String, Sendable, Codable { case translation, rotation, scale, weights }
    public enum Interpolation: String, Sendable, Codable {
        case linear = "LINEAR"
        case step = "STEP"
        case cubicSpline = "CUBICSPLINE"
    }

    /// One animated property of one node, with its own keyframes.
    public struct Channel: Sendable, Equatable, Codable {
        public var node: Int
        public var path: Path
        public var interpolation: Interpolation = .linear
        /// Key times in seconds, strictly increasing.
        public var times: [Float] = []
        /// Flattened output values: 3 (translation, scale) or 4 (rotation) per key, or one per morph target.
        public var values: [Float] = []

        public init(node: Int, path: Path) {
            self.node = node
            self.path = path
        }
    }
}

// MARK: - Cameras and lights

public enum Camera: Sendable, Equatable, Codable {
    case perspective(name: String, yfov: Float, aspectRatio: Float?, znear: Float, zfar: Float?)
    case orthographic(name: String, xmag: Float, ymag: Float, znear: Float, zfar: Float)
}

/// A `KHR_lights_punctual` light, shining down its node's -Z axis.
public struct Light: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case directional, point, spot }

    public var name: String = ""
    public var kind: Kind
    /// Linear RGB.
    public var color: SIMD3<Float> = .one
    /// Candela for point and spot lights, lux for directional lights.
    public var intensity: Float = 1
    public var range: Float?
    public var innerConeAngle: Float = 0
    public var outerConeAngle: Float = .pi / 4

    public init(name: String = "", kind: Kind) {
        self.name = name
        self.kind = kind
    }
}
