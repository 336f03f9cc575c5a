/// The tables `validateGLB` is driven by. Supporting another extension means adding rows here, not new code paths.
enum ValidationRules {
    /// Where an index points: a root-level array (given as a path such as `extensions/KHR_lights_punctual/lights`)
    /// or an array inside the same collection item (an animation channel's sampler).
    enum Target {
        case root(String)
        case sibling(String)

        var name: String {
            switch self {
            case .root(let path), .sibling(let path): return path
            }
        }
    }

    /// An index-valued property: inside each item of `collection` (root-level array; "" = the root object itself),
    /// at `path` (keys; `[]` = every array element, `*` = every object member), pointing into `target`.
    struct Reference {
        var collection: String
        var path: String
        var target: Target
    }

    static let references: [Reference] = [
        Reference(collection: "", path: "scene", target: .root("scenes")),
        Reference(collection: "scenes", path: "nodes/[]", target: .root("nodes")),
        Reference(collection: "nodes", path: "children/[]", target: .root("nodes")),
        Reference(collection: "nodes", path: "mesh", target: .root("meshes")),
        Reference(collection: "nodes", path: "skin", target: .root("skins")),
        Reference(collection: "nodes", path: "camera", target: .root("cameras")),
        Reference(
            collection: "nodes", path: "extensions/KHR_lights_punctual/light",
            target: .root("extensions/KHR_lights_punctual/lights")),
        Reference(
            collection: "nodes", path: "extensions/EXT_mesh_gpu_instancing/attributes/*", target: .root("accessors")),
        Reference(collection: "nodes", path: "extensions/MSFT_lod/ids/[]", target: .root("nodes")),
        Reference(collection: "meshes", path: "primitives/[]/attributes/*", target: .root("accessors")),
        Reference(collection: "meshes", path: "primitives/[]/indices", target: .root("accessors")),
        Reference(collection: "meshes", path: "primitives/[]/material", target: .root("materials")),
        Reference(collection: "meshes", path: "primitives/[]/targets/[]/*", target: .root("accessors")),
        Reference(
            collection: "meshes", path: "primitives/[]/extensions/KHR_draco_mesh_compression/bufferView",
            target: .root("bufferViews")),
        Reference(
            collection: "meshes", path: "primitives/[]/extensions/KHR_materials_variants/mappings/[]/material",
            target: .root("materials")),
        Reference(
            collection: "meshes", path: "primitives/[]/extensions/KHR_materials_variants/mappings/[]/variants/[]",
            target: .root("extensions/KHR_materials_variants/variants")),
        Reference(
            collection: "materials", path: "pbrMetallicRoughness/baseColorTexture/index", target: .root("textures")),
        Reference(
            collection: "materials", path: "pbrMetallicRoughness/metallicRoughnessTexture/index",
            target: .root("textures")),
        Reference(collection: "materials", path: "normalTexture/index", target: .root("textures")),
        Reference(collection: "materials", path: "occlusionTexture/index", target: .root("textures")),
        Reference(collection: "materials", path: "emissiveTexture/index", target: .root("textures")),
        Reference(collection: "materials", path: "extensions/*/*/index", target: .root("textures")),
        Reference(collection: "textures", path: "source", target: .root("images")),
        Reference(collection: "textures", path: "sampler", target: .root("samplers")),
        Reference(collection: "textures", path: "extensions/EXT_texture_webp/source", target: .root("images")),
        Reference(collection: "textures", path: "extensions/KHR_texture_basisu/source", target: .root("images")),
        Reference(collection: "images", path: "bufferView", target: .root("bufferViews")),
        Reference(collection: "skins", path: "joints/[]", target: .root("nodes")),
        Reference(collection: "skins", path: "skeleton", target: .root("nodes")),
        Reference(collection: "skins", path: "inverseBindMatrices", target: .root("accessors")),
        Reference(collection: "animations", path: "channels/[]/sampler", target: .sibling("samplers")),
        Reference(collection: "animations", path: "channels/[]/target/node", target: .root("nodes")),
        Reference(collection: "animations", path: "samplers/[]/input", target: .root("accessors")),
        Reference(collection: "animations", path: "samplers/[]/output", target: .root("accessors")),
        Reference(collection: "accessors", path: "bufferView", target: .root("bufferViews")),
        Reference(collection: "accessors", path: "sparse/indices/bufferView", target: .root("bufferViews")),
        Reference(collection: "accessors", path: "sparse/values/bufferView", target: .root("bufferViews")),
        Reference(collection: "bufferViews", path: "buffer", target: .root("buffers")),
        Reference(
            collection: "bufferViews", path: "extensions/EXT_meshopt_compression/buffer", target: .root("buffers"))
    ]

    /// A storage format an attribute may use.
    struct Format: Hashable {
        var componentType: Int
        var normalized: Bool
    }

    /// The accessor types and formats allowed for one attribute semantic (a name, or a prefix ending in "_").
    struct Attribute {
        var types: Set<String>
        var formats: Set<Format>
    }

    static let float = Format(componentType: GL.float, normalized: false)
    static func normalized(_ types: Int...) -> [Format] { types.map { Format(componentType: $0, normalized: true) } }
    static func integer(_ types: Int...) -> [Format] { types.map { Format(componentType: $0, normalized: false) } }

    /// Core glTF 2.0 vertex attributes.
    static let coreAttributes: [String: Attribute] = [
        "POSITION": Attribute(types: ["VEC3"], formats: [float]),
        "NORMAL": Attribute(types: ["VEC3"], formats: [float]),
        "TANGENT": Attribute(types: ["VEC4"], formats: [float]),
        "TEXCOORD_": Attribute(types: ["VEC2"], formats: Set([float] + normalized(GL.unsignedByte, GL.unsignedShort))),
        "COLOR_": Attribute(
            types: ["VEC3", "VEC4"], formats: Set([float] + normalized(GL.unsignedByte, GL.unsignedShort))),
        "JOINTS_": Attribute(types: ["VEC4"], formats: Set(integer(GL.unsignedByte, GL.unsignedShort))),
        "WEIGHTS_": Attribute(types: ["VEC4"], formats: Set([float] + normalized(GL.unsignedByte, GL.unsignedShort)))
    ]

    /// Core morph-target attributes.
    static let coreTargetAttributes: [String: Attribute] = [
        "POSITION": Attribute(types: ["VEC3"], formats: [float]),
        "NORMAL": Attribute(types: ["VEC3"], formats: [float]),
        "TANGENT": Attribute(types: ["VEC3"], formats: [float])
    ]

    /// `EXT_mesh_gpu_instancing` attributes (the formats the extension allows without `KHR_mesh_quantization`).
    static let instancingAttributes: [String: Attribute] = [
        "TRANSLATION": Attribute(types: ["VEC3"], formats: [float]),
        "ROTATION": Attribute(types: ["VEC4"], formats: Set([float] + normalized(GL.byte, GL.short))),
        "SCALE": Attribute(types: ["VEC3"], formats: [float])
    ]

    /// Extra formats an extension allows, by semantic, for vertex attributes and for morph targets.
    static let extensionFormats: [String: (attributes: [String: Set<Format>], targets: [String: Set<Format>])] = [
        "KHR_mesh_quantization": (
            attributes: [
                "POSITION": Set(
                    integer(GL.byte, GL.unsignedByte, GL.short, GL.unsignedShort)
                        + normalized(GL.byte, GL.unsignedByte, GL.short, GL.unsignedShort)),
                "NORMAL": Set(normalized(GL.byte, GL.short)),
                "TANGENT": Set(normalized(GL.byte, GL.short)),
                "TEXCOORD_": Set(
                    integer(GL.byte, GL.unsignedByte, GL.short, GL.unsignedShort) + normalized(GL.byte, GL.short))
            ],
            targets: [
                "POSITION": Set(integer(GL.byte, GL.short) + normalized(GL.byte, GL.short)),
                "NORMAL": Set(integer(GL.byte, GL.short) + normalized(GL.byte, GL.short)),
                "TANGENT": Set(integer(GL.byte, GL.short) + normalized(GL.byte, GL.short))
            ]
        )
    ]

    /// Extensions this validator understands, so files may list them in `extensionsRequired`.
    static let knownExtensions: Set<String> = [
        "KHR_lights_punctual", "KHR_materials_unlit", "KHR_mesh_quantization", "KHR_texture_transform",
        "KHR_texture_basisu", "EXT_texture_webp", "EXT_meshopt_compression", "KHR_draco_mesh_compression",
        "KHR_materials_emissive_strength", "KHR_materials_ior", "KHR_materials_specular", "KHR_materials_transmission",
        "KHR_materials_volume", "KHR_materials_clearcoat", "KHR_materials_sheen", "KHR_materials_iridescence",
        "KHR_materials_anisotropy", "KHR_materials_variants", "EXT_mesh_gpu_instancing", "KHR_materials_dispersion",
        "MSFT_lod"
    ]

    /// A bufferView carrying one of these extensions holds compressed bytes: its accessors' data is not checked.
    static let compressedBufferViewExtensions: Set<String> = ["EXT_meshopt_compression"]

    static let componentSizes: [Int: Int] = [
        GL.byte: 1, GL.unsignedByte: 1, GL.short: 2, GL.unsignedShort: 2, GL.unsignedInt: 4, GL.float: 4
    ]
    static let componentCounts: [String: Int] = [
        "SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16
    ]
    /// Elements per primitive for modes whose index/vertex count must be a multiple of it.
    static let modeMultiples: [Int: Int] = [0: 1, 1: 2, 4: 3]
    static let modeMinimums: [Int: Int] = [0: 1, 1: 2, 2: 2, 3: 2, 4: 3, 5: 3, 6: 3]
}
