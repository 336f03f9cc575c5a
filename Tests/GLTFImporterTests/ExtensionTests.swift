import Foundation
import GLB
import Scene
import Testing

@testable import GLTFImporter

@Suite("glTF reader: extensions, and what the writer makes of them")
struct ExtensionTests {
    /// A 1×1 PNG.
    static let png: [UInt8] = [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01,
        0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
        0x44, 0x41,
        0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D,
        0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82
    ]

    /// A textured quad whose material uses clearcoat (with textures and a transform), sheen, ior, emissive strength
    /// and a transformed base color texture; a point light and two instances.
    func materialScene() -> GLTFBuilder {
        var b = GLTFBuilder()
        let uv = b.floats([0, 0, 1, 0, 1, 1, 0, 1], type: "VEC2")
        b.json["extensionsUsed"] = [
            "KHR_materials_clearcoat", "KHR_materials_sheen", "KHR_materials_ior", "KHR_texture_transform",
            "KHR_materials_emissive_strength", "KHR_lights_punctual", "EXT_mesh_gpu_instancing"
        ]
        let image = b.view(Self.png)
        b.json["images"] = [
            ["bufferView": image, "mimeType": "image/png"],
            ["bufferView": image, "mimeType": "image/png", "name": "second"]
        ]
        b.json["textures"] = [["source": 0], ["source": 1]]
        let transform: [String: Any] = ["offset": [0.5, 0.25], "rotation": 0.3, "scale": [2, 3]]
        b.json["materials"] = [
            [
                "name": "Car paint",
                "pbrMetallicRoughness": [
                    "baseColorTexture": ["index": 0, "extensions": ["KHR_texture_transform": transform]]
                ],
                "extensions": [
                    "KHR_materials_clearcoat": [
                        "clearcoatFactor": 0.8,
                        "clearcoatTexture": [
                            "index": 1, "texCoord": 0, "extensions": ["KHR_texture_transform": ["scale": [4, 4]]]
                        ],
                        "clearcoatNormalTexture": ["index": 0, "scale": 0.5]
                    ],
                    "KHR_materials_sheen": ["sheenColorFactor": [1, 0.5, 0.25], "sheenRoughnessFactor": 0.4],
                    "KHR_materials_ior": ["ior": 1.45],
                    "KHR_materials_emissive_strength": ["emissiveStrength": 5]
                ],
                "extras": ["note": "kept"]
            ], ["name": "Velvet", "extensions": ["KHR_materials_sheen": ["sheenColorTexture": ["index": 1]]]]
        ]
        b.json["extensionsUsed"] = (b.json["extensionsUsed"] as! [String]) + ["KHR_materials_variants"]
        _ = b.triangleScene(
            positions: [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0], indices: [0, 1, 2, 0, 2, 3], attributes: ["TEXCOORD_0": uv]
        )
        let translations = b.floats([0, 0, 0, 3, 0, 0], type: "VEC3")
        b.json["extensions"] = [
            "KHR_lights_punctual": ["lights": [["type": "point", "intensity": 20, "color": [1, 0.5, 0]]]],
            "KHR_materials_variants": ["variants": [["name": "Paint"], ["name": "Velvet"]]]
        ]
        var meshes = b.json["meshes"] as! [[String: Any]]
        var primitive = (meshes[0]["primitives"] as! [[String: Any]])[0]
        primitive["extensions"] = [
            "KHR_materials_variants": ["mappings": [["material": 1, "variants": [1]], ["material": 0, "variants": [0]]]]
        ]
        meshes[0]["primitives"] = [primitive]
        b.json["meshes"] = meshes
        b.json["nodes"] = [
            ["mesh": 0, "extensions": ["EXT_mesh_gpu_instancing": ["attributes": ["TRANSLATION": translations]]]],
            ["extensions": ["KHR_lights_punctual": ["light": 0]]]
        ]
        b.json["scenes"] = [["nodes": [0, 1]]]
        return b
    }

    @Test("KHR_materials_* values, texture references and KHR_texture_transform read, written and read back unchanged")
    func materialRoundTrip() throws {
        let scene = try importBuilt(materialScene(), name: "m.glb")
        let material = scene.materials[0]
        #expect(
            material.baseColorTexture?.transform
                == TextureTransform(offset: SIMD2(0.5, 0.25), rotation: 0.3, scale: SIMD2(2, 3)))
        guard case .object(let clearcoat)? = material.extensions["KHR_materials_clearcoat"] else {
            Issue.record("clearcoat missing")
            return
        }
        #expect(clearcoat["clearcoatFactor"] == .number(0.8))
        #expect(clearcoat["clearcoatNormalTexture"] == .texture(TextureRef(texture: 0), extra: ["scale": .number(0.5)]))
        #expect(material.extensionTextures.map(\.role) == [.normal, .data])
        #expect(material.extras == .object(["note": .string("kept")]))
        #expect(scene.lights.count == 1 && scene.nodes[1].light == 0 && scene.nodes[0].instances.count == 2)

        // Through the writer (validated) and back: the same scene, extension by extension.
        let encoded = try encodeGLB(scene, options: GLBOptions(generator: "test"))
        #expect(validateGLB(encoded.bytes).isEmpty, "\(validateGLB(encoded.bytes))")
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.glb")
        try Data(encoded.bytes).write(to: url)
        let again = try importGLTF(from: url)
        #expect(again.materials == scene.materials)
        #expect(again.lights == scene.lights && again.nodes[0].instances == scene.nodes[0].instances)
        #expect(scene.materialVariants == ["Paint", "Velvet"] && again.materialVariants == scene.materialVariants)
        #expect(
            scene.meshes[0].primitives[0].variantMaterials == [
                VariantMapping(material: 1, variants: [1]),
                VariantMapping(material: 0, variants: [0])
            ])
        #expect(again.meshes[0].primitives[0].variantMaterials == scene.meshes[0].primitives[0].variantMaterials)
        let text = String(decoding: encoded.bytes, as: UTF8.self)
        for name in [
            "KHR_materials_clearcoat", "KHR_materials_sheen", "KHR_materials_ior", "KHR_materials_emissive_strength",
            "KHR_texture_transform", "KHR_materials_variants"
        ] {
            #expect(text.contains("\"\(name)\""), "\(name) missing from the output")
        }
    }

    @Test("texture transforms survive UV quantization: composed with the dequantization transform")
    func transformsSurviveQuantization() throws {
        let scene = try importBuilt(materialScene(), name: "m.glb")
        let encoded = try encodeGLB(scene, options: GLBOptions(generator: "test", quantization: Quantization()))
        #expect(validateGLB(encoded.bytes).isEmpty, "\(validateGLB(encoded.bytes))")
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("q.glb")
        try Data(encoded.bytes).write(to: url)
        let quantized = try importGLTF(from: url)
        func apply(_ t: TextureTransform?, _ uv: SIMD2<Float>) -> SIMD2<Float> {
            guard let t else { return uv }
            let s = uv * t.scale
            let (c, n) = (cosf(t.rotation), sinf(t.rotation))
            return SIMD2(c * s.x + n * s.y, -n * s.x + c * s.y) + t.offset
        }
        let before = scene.meshes[0].primitives[0]
        let after = quantized.meshes[0].primitives[0]
        #expect(before.vertices.texcoords[0] != after.vertices.texcoords[0], "UVs were not quantized")
        let refs: [(TextureRef?, TextureRef?)] = [
            (scene.materials[0].baseColorTexture, quantized.materials[0].baseColorTexture),
            (scene.materials[0].extensionTextures[1].ref, quantized.materials[0].extensionTextures[1].ref)
        ]
        for (original, written) in refs {
            for (uv, stored) in zip(before.vertices.texcoords[0], after.vertices.texcoords[0]) {
                let expected = apply(original?.transform, uv)
                let actual = apply(written?.transform, stored)
                #expect(largest(expected - actual) < 0.01, "\(expected) vs \(actual)")
            }
        }
    }

    /// A `side` × `side` grid of quads with normals and UVs (more than 65,535 vertices from side 256 on).
    func grid(_ side: Int) -> Scene {
        var p = Primitive()
        for y in 0...side {
            for x in 0...side {
                p.vertices.positions.append(
                    SIMD3(Float(x) / Float(side), sinf(Float(x + y) * 0.3) * 0.1, Float(y) / Float(side)))
                p.vertices.normals.append(SIMD3(0, 1, 0))
            }
        }
        p.vertices.texcoords = [p.vertices.positions.map { SIMD2($0.x, $0.z) }]
        for y in 0..<side {
            for x in 0..<side {
                let i = UInt32(y * (side + 1) + x)
                let row = UInt32(side + 1)
                p.indices += [i, i + row, i + 1, i + 1, i + row, i + row + 1]
            }
        }
        var scene = Scene()
        var mesh = Mesh(name: "grid")
        mesh.primitives = [p]
        scene.meshes = [mesh]
        var node = Node(name: "grid")
        node.mesh = 0
        scene.nodes = [node]
        scene.roots = [0]
        return scene
    }

    @Test(
        "EXT_meshopt_compression (required and fallback) and KHR_draco_mesh_compression (16- and 32-bit indices) read back",
        arguments: [(8, "meshopt"), (8, "meshopt-fallback"), (8, "draco"), (300, "draco"), (300, "meshopt")])
    func compressedInput(side: Int, codec: String) throws {
        let scene = grid(side)
        let compression: Compression =
            switch codec {
            case "draco": .draco(DracoSettings())
            case "meshopt-fallback": .meshopt(fallback: true)
            default: .meshopt(fallback: false)
            }
        let options = GLBOptions(
            generator: "test", quantization: codec == "draco" ? nil : Quantization(), compression: compression)
        let encoded = try encodeGLB(scene, options: options)
        #expect(validateGLB(encoded.bytes).isEmpty)
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.glb")
        try Data(encoded.bytes).write(to: url)
        let read = try importGLTF(from: url)
        let original = scene.meshes[0].primitives[0]
        let decoded = read.meshes[0].primitives[0]
        #expect(decoded.triangleCount == original.triangleCount)
        // Positions in world space (quantization folds a grid into the node transform) within a quantization step.
        let world = read.worldTransforms()[0]
        let cells = Set(original.vertices.positions.map { cell($0) })
        let far = decoded.vertices.positions.map { world.transformPoint($0) }.filter { p in
            let c = cell(p)
            return !(-1...1).contains { dx in
                (-1...1).contains { dy in (-1...1).contains { dz in cells.contains(c &+ SIMD3(dx, dy, dz)) } }
            }
        }
        #expect(
            far.isEmpty, "\(far.count) decoded vertices are not within 1/500 of an input vertex, e.g. \(far.prefix(3))")
        if codec == "draco" && side == 300 { #expect(decoded.vertexCount > 65_535) }
    }

    /// The 1/500-sized cell holding `p` (much coarser than 14-bit quantization of the unit grid).
    func cell(_ p: SIMD3<Float>) -> SIMD3<Int> {
        SIMD3(Int((p.x * 500).rounded()), Int((p.y * 500).rounded()), Int((p.z * 500).rounded()))
    }

    @Test("KHR_materials_pbrSpecularGlossiness becomes metallic-roughness with a warning")
    func specularGlossiness() throws {
        var b = GLTFBuilder()
        b.json["extensionsUsed"] = ["KHR_materials_pbrSpecularGlossiness"]
        b.json["materials"] = [
            [
                "extensions": [
                    "KHR_materials_pbrSpecularGlossiness": [
                        "diffuseFactor": [0.5, 0.4, 0.3, 1], "glossinessFactor": 0.8, "specularFactor": [1, 1, 1]
                    ]
                ]
            ]
        ]
        _ = b.triangleScene(positions: [0, 0, 0, 1, 0, 0, 0, 1, 0])
        let scene = try importBuilt(b)
        #expect(scene.materials[0].baseColorFactor == SIMD4(0.5, 0.4, 0.3, 1))
        #expect(scene.materials[0].metallicFactor == 0 && abs(scene.materials[0].roughnessFactor - 0.2) < 1e-6)
        #expect(scene.warnings.count == 1 && scene.warnings[0].contains("pbrSpecularGlossiness"))
    }
}
