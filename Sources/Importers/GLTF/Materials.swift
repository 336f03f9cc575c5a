import FoundationEssentials
import ImportSupport
import Scene

extension GLTFReader {
    /// Images (embedded, data: uri or files beside the model), samplers and textures. An image that cannot be read
    /// is dropped with a warning, and so are the textures that only it backs.
    mutating func readImagesTexturesSamplers() throws {
        var imageIndex: [Int: Int] = [:]  // glTF image → scene image
        for (i, value) in items("images").enumerated() {
            guard let json = object(value) else { continue }
            do {
                let data: UnsafeRawBufferPointer
                if let uri = string(json["uri"]) {
                    data = try load(uri: uri, what: "image \(i)")
                } else if let view = index(json["bufferView"]) {
                    data = try viewBytes(view).bytes
                } else {
                    throw bad("image \(i): has neither uri nor bufferView")
                }
                guard let mime = sniffImageType(data) ?? string(json["mimeType"]) else {
                    throw bad("image \(i): unknown image type")
                }
                imageIndex[i] = scene.images.count
                // Unnamed files keep their file name, so reports and outputs say which image is which.
                let fileName = string(json["uri"]).flatMap {
                    $0.hasPrefix("data:") ? nil : $0.split(separator: "/").last.map(String.init)
                }
                scene.images.append(
                    Image(
                        name: string(json["name"]) ?? fileName.flatMap(percentDecoded) ?? "", mimeType: mime,
                        data: Array(data)))
            } catch let error as ProcessingError {
                warnings.append("\(error.message); its textures were dropped")
            }
        }
        for value in items("samplers") {
            let json = object(value) ?? [:]
            scene.samplers.append(
                Sampler(
                    magFilter: index(json["magFilter"]), minFilter: index(json["minFilter"]),
                    wrapS: index(json["wrapS"]) ?? Sampler.repeatWrap,
                    wrapT: index(json["wrapT"]) ?? Sampler.repeatWrap))
        }
        for (t, value) in items("textures").enumerated() {
            let json = object(value) ?? [:]
            let extensions = object(json["extensions"])
            let source = index(json["source"]).flatMap { imageIndex[$0] }
            let webp = index(object(extensions?["EXT_texture_webp"])?["source"]).flatMap { imageIndex[$0] }
            let basisu = index(object(extensions?["KHR_texture_basisu"])?["source"]).flatMap { imageIndex[$0] }
            var sampler: Int?
            if let s = json["sampler"] {
                guard let s = index(s), s < scene.samplers.count else {
                    throw bad("texture \(t): sampler does not exist")
                }
                sampler = s
            }
            // The PNG/JPEG source when there is one, else the WebP or KTX2 image stands alone.
            let core = source.flatMap { ["image/png", "image/jpeg"].contains(scene.images[$0].mimeType) ? $0 : nil }
            guard let image = core ?? webp ?? basisu ?? source else {
                textureIndex.append(nil)
                continue
            }
            textureIndex.append(scene.textures.count)
            scene.textures.append(Texture(image: image, sampler: sampler, webpSource: webp, basisuSource: basisu))
        }
    }

    mutating func readMaterials() throws {
        var converted = 0
        for (m, value) in items("materials").enumerated() {
            guard let json = object(value) else { throw bad("material \(m) is not an object") }
            var material = Material(name: string(json["name"]) ?? "")
            let pbr = object(json["pbrMetallicRoughness"]) ?? [:]
            if let c = floats(pbr["baseColorFactor"], count: 4) {
                material.baseColorFactor = SIMD4(c[0], c[1], c[2], c[3])
            }
            material.baseColorTexture = textureRef(pbr["baseColorTexture"])
            material.metallicFactor = float(pbr["metallicFactor"]) ?? 1
            material.roughnessFactor = float(pbr["roughnessFactor"]) ?? 1
            material.metallicRoughnessTexture = textureRef(pbr["metallicRoughnessTexture"])
            material.normalTexture = textureRef(json["normalTexture"])
            material.normalScale = float(object(json["normalTexture"])?["scale"]) ?? 1
            material.occlusionTexture = textureRef(json["occlusionTexture"])
            material.occlusionStrength = float(object(json["occlusionTexture"])?["strength"]) ?? 1
            material.emissiveTexture = textureRef(json["emissiveTexture"])
            if let e = floats(json["emissiveFactor"], count: 3) { material.emissiveFactor = SIMD3(e[0], e[1], e[2]) }
            material.alphaMode = Material.AlphaMode(rawValue: string(json["alphaMode"]) ?? "OPAQUE") ?? .opaque
            material.alphaCutoff = float(json["alphaCutoff"]) ?? 0.5
            material.doubleSided = (json["doubleSided"] as? Bool) ?? false
            material.extras = json["extras"].map { extensionValue($0) }

            let extensions = object(json["extensions"]) ?? [:]
            material.unlit = extensions["KHR_materials_unlit"] != nil
            for name in extensions.keys.sorted() where keptMaterialExtensions.contains(name) {
                guard let members = object(extensions[name]) else { continue }
                var kept: [String: ExtensionValue] = [:]
                for (key, member) in members {
                    if key.hasSuffix("Texture"), object(member)?["index"] != nil {
                        guard let ref = textureRef(member) else { continue }  // its image could not be read
                        var extra = object(member) ?? [:]
                        for known in ["index", "texCoord", "extensions"] { extra.removeValue(forKey: known) }
                        kept[key] = .texture(ref, extra: extra.mapValues { extensionValue($0) })
                    } else {
                        kept[key] = extensionValue(member)
                    }
                }
                material.extensions[name] = .object(kept)
            }
            if let specGloss = object(extensions["KHR_materials_pbrSpecularGlossiness"]) {
                convertSpecularGlossiness(specGloss, into: &material)
                converted += 1
            }
            scene.materials.append(material)
        }
        if converted > 0 {
            warnings.append(
                "\(converted) KHR_materials_pbrSpecularGlossiness material(s) converted to metallic-roughness "
                    + "(diffuse → base color, glossiness → roughness; the specular-glossiness texture is not used)")
        }
    }

    /// Diffuse becomes base color (non-metal), `1 − glossiness` becomes roughness.
    func convertSpecularGlossiness(_ json: JSONObject, into material: inout Material) {
        if let d = floats(json["diffuseFactor"], count: 4) {
            material.baseColorFactor = SIMD4(d[0], d[1], d[2], d[3])
        } else {
            material.baseColorFactor = .one
        }
        material.baseColorTexture = textureRef(json["diffuseTexture"])
        material.metallicFactor = 0
        material.roughnessFactor = 1 - max(0, min(1, float(json["glossinessFactor"]) ?? 1))
        material.metallicRoughnessTexture = nil
    }

    /// A textureInfo (index, texCoord, `KHR_texture_transform`); nil when absent or its texture was dropped.
    func textureRef(_ value: Any?) -> TextureRef? {
        guard let json = object(value), let t = index(json["index"]), t < textureIndex.count,
            let texture = textureIndex[t]
        else {
            return nil
        }
        var ref = TextureRef(texture: texture, texCoord: index(json["texCoord"]) ?? 0)
        if let transform = object(object(json["extensions"])?["KHR_texture_transform"]) {
            var t = TextureTransform()
            if let o = floats(transform["offset"], count: 2) { t.offset = SIMD2(o[0], o[1]) }
            t.rotation = float(transform["rotation"]) ?? 0
            if let s = floats(transform["scale"], count: 2) { t.scale = SIMD2(s[0], s[1]) }
            t.texCoord = index(transform["texCoord"])
            ref.transform = t
        }
        return ref
    }
}

/// The MIME type the bytes' signature shows (PNG, JPEG, WebP, KTX2), else nil.
func sniffImageType(_ data: UnsafeRawBufferPointer) -> String? {
    let head = Array(data.prefix(12))
    if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
    if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
    if head.count == 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) {
        return "image/webp"
    }
    if head.starts(with: [0xAB, 0x4B, 0x54, 0x58, 0x20, 0x32, 0x30, 0xBB]) { return "image/ktx2" }
    return nil
}
