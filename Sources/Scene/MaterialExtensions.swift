/// A JSON value carried through from the input: the properties of a material extension, or `extras`.
///
/// Texture references inside material extensions are typed (`texture`) so stages can classify, remap and resize
/// them like the core ones; everything else is kept as read.
public indirect enum ExtensionValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ExtensionValue])
    case object([String: ExtensionValue])
    /// A glTF textureInfo: the reference, and its other properties (such as a normal texture's `scale`).
    case texture(TextureRef, extra: [String: ExtensionValue])
}

/// `KHR_texture_transform`: `uv' = T(offset) · R(rotation) · S(scale) · uv`, as the extension defines it.
public struct TextureTransform: Sendable, Equatable, Codable {
    public var offset: SIMD2<Float>
    /// Radians, counter-clockwise in UV space.
    public var rotation: Float
    public var scale: SIMD2<Float>
    /// Overrides the reference's `texCoord` when set.
    public var texCoord: Int?

    public init(offset: SIMD2<Float> = .zero, rotation: Float = 0, scale: SIMD2<Float> = .one, texCoord: Int? = nil) {
        self.offset = offset
        self.rotation = rotation
        self.scale = scale
        self.texCoord = texCoord
    }

    /// `self` applied after `offset + scale · uv` (an axis-aligned inner transform, such as a UV dequantization
    /// grid): still one offset/rotation/scale transform.
    public func composed(innerOffset: SIMD2<Float>, innerScale: SIMD2<Float>) -> TextureTransform {
        let scaled = scale * innerOffset
        let (c, s) = (cosf(rotation), sinf(rotation))
        let rotated = SIMD2<Float>(c * scaled.x + s * scaled.y, -s * scaled.x + c * scaled.y)
        return TextureTransform(
            offset: offset + rotated, rotation: rotation, scale: scale * innerScale, texCoord: texCoord)
    }
}

/// How a texture's texels are used, which decides how it may be re-encoded and resized.
public enum TextureRole: Sendable {
    case color, normal, data
}

extension Material {
    /// Every texture reference inside `extensions`, in a stable order (extension names, then keys, sorted).
    public var extensionTextures: [(ref: TextureRef, role: TextureRole)] {
        var found: [(TextureRef, TextureRole)] = []
        var copy = self
        copy.updateExtensionTextures { ref, role in
            found.append((ref, role))
            return ref
        }
        return found
    }

    /// Replaces every texture reference inside `extensions` by `body`'s result, visiting them in the order of
    /// `extensionTextures`; a nil result removes the property that held the reference.
    public mutating func updateExtensionTextures(_ body: (TextureRef, TextureRole) -> TextureRef?) {
        for name in extensions.keys.sorted() {
            guard case .object(var members) = extensions[name] else { continue }
            for key in members.keys.sorted() {
                guard case let .texture(ref, extra) = members[key] else { continue }
                members[key] = body(ref, Self.role(ofTextureNamed: key)).map { .texture($0, extra: extra) }
            }
            extensions[name] = .object(members)
        }
    }

    /// The role of an extension's texture property, from its name (`clearcoatNormalTexture`, `sheenColorTexture`).
    static func role(ofTextureNamed key: String) -> TextureRole {
        if key.hasSuffix("NormalTexture") || key == "normalTexture" { return .normal }
        if key.hasSuffix("ColorTexture") || key == "diffuseTexture" { return .color }
        return .data
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
