import Meshopt
import Scene

/// How `encodeGLB` compresses bufferViews.
public enum Compression: Sendable, Equatable {
    case none
    /// `EXT_meshopt_compression` on every geometry, skin and animation bufferView (images stay as they are).
    ///
    /// With `fallback` the BIN chunk also holds the uncompressed bytes, the views point at them and the extension
    /// is only "used": loaders without it still read the file. Without `fallback` the views point at a placeholder
    /// buffer that has no data (tagged `fallback: true`), so the extension is required — per the extension's spec a
    /// uri-less placeholder cannot be read by anyone else.
    case meshopt(fallback: Bool)
    /// `KHR_draco_mesh_compression` (required) on every indexed triangle primitive without morph targets; other
    /// primitives, skins and animations stay uncompressed. Draco quantizes by itself: `GLBOptions.quantization` is
    /// then ignored.
    case draco(DracoSettings)
}

/// The filter meshopt's decoder applies after the attribute codec.
enum ViewFilter: String, Hashable {
    case none = "NONE"
    case octahedral = "OCTAHEDRAL"
    case quaternion = "QUATERNION"
    case exponential = "EXPONENTIAL"
}

/// The bitstream a compressed view uses, with what its decoder needs to know.
enum ViewCodec: Hashable {
    /// Mode ATTRIBUTES: elements of `stride` bytes; the view's data is the filter's input when `filter` ≠ none.
    case attributes(stride: Int, filter: ViewFilter)
    /// Mode TRIANGLES (triangle lists) or INDICES (anything else), `indexSize` 2 or 4.
    case triangles(indexSize: Int)
    case indices(indexSize: Int)
}

/// Filter bit counts, as gltfpack's defaults (-ar 12; -at/-as 16).
enum FilterBits {
    static let rotation = 12
    static let exponentialMantissa = 16
}

extension SceneEncoder {
    /// Whether bufferViews get `EXT_meshopt_compression`.
    var compressing: Bool {
        if case .meshopt = options.compression { return true }
        return false
    }

    /// Adds a view whose bytes are compressed with `EXT_meshopt_compression` (see `Compression`).
    ///
    /// `data` is the view content the codec encodes: for a filtered view the filter's encoded form; the bytes the
    /// uncompressed view holds are then what the filter decodes it to, computed with meshopt's own decoder so both
    /// representations match exactly.
    mutating func addCompressedView(
        _ data: [UInt8], category: ByteCategory, target: Int?, stride: Int?, codec: ViewCodec
    ) -> Int {
        let encoded: [UInt8]
        let mode: String
        let count: Int
        let elementStride: Int
        var filter = ViewFilter.none
        var plain = data
        switch codec {
        case let .attributes(s, f):
            (count, elementStride, filter, mode) = (data.count / s, s, f, "ATTRIBUTES")
            encoded = MeshoptCodec.encodeVertexBuffer(data, count: count, stride: s)
            switch f {
            case .none: break
            case .octahedral: MeshoptFilter.decodeOctahedral(&plain, count: count, stride: s)
            case .quaternion: MeshoptFilter.decodeQuaternion(&plain, count: count)
            case .exponential: MeshoptFilter.decodeExponential(&plain, count: count, stride: s)
            }
        case .triangles(let size), .indices(let size):
            let indices = Self.unpackIndices(data, size: size)
            let vertexCount = Int(indices.max() ?? 0) + 1
            (count, elementStride) = (indices.count, size)
            if case .triangles = codec {
                mode = "TRIANGLES"
                encoded = MeshoptCodec.encodeIndexBuffer(indices, vertexCount: vertexCount)
                // The codec may rotate a triangle's corners (same winding); the uncompressed copy must match it.
                let decoded = encoded.withUnsafeBytes {
                    MeshoptCodec.decodeIndexBuffer($0, count: indices.count, indexSize: size)
                }
                plain = decoded!
            } else {
                mode = "INDICES"
                encoded = MeshoptCodec.encodeIndexSequence(indices, vertexCount: vertexCount)
            }
        }
        let fallback = options.compression == .meshopt(fallback: true)
        let buffer: Int
        let offset: Int
        if fallback {
            (buffer, offset) = (0, layout.append(length: plain.count, category: category, fill: rawCopy(plain)))
        } else {
            (buffer, offset) = (1, placeholderLength)
            placeholderLength = alignedTo4(offset + plain.count)
        }
        let compressedOffset = layout.append(length: encoded.count, category: category, fill: rawCopy(encoded))

        var ext = JSONObjectBuilder()
        ext.set("buffer", .int(0))
        ext.set("byteOffset", compressedOffset == 0 ? nil : .int(compressedOffset))
        ext.set("byteLength", .int(encoded.count))
        ext.set("byteStride", .int(elementStride))
        ext.set("mode", .string(mode))
        ext.set("count", .int(count))
        ext.set("filter", filter == .none ? nil : .string(filter.rawValue))
        extensionsUsed.insert("EXT_meshopt_compression")
        if !fallback { extensionsRequired.insert("EXT_meshopt_compression") }

        var view = JSONObjectBuilder()
        view.set("buffer", .int(buffer))
        view.set("byteLength", .int(plain.count))
        view.set("byteOffset", offset == 0 ? nil : .int(offset))
        view.set("byteStride", stride.map { .int($0) })
        view.set("target", target.map { .int($0) })
        view.set("extensions", .object([("EXT_meshopt_compression", ext.value)]))
        bufferViews.append(view.value)
        return bufferViews.count - 1
    }

    static func unpackIndices(_ data: [UInt8], size: Int) -> [UInt32] {
        data.withUnsafeBytes { raw in
            (0..<data.count / size).map { i in
                size == 2
                    ? UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                    : UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            }
        }
    }

    /// The `buffers` array: the BIN chunk, and the placeholder compressed views point at when there is one.
    var buffersJSON: JSONValue? {
        guard layout.length > 0 else { return nil }
        var buffers: [JSONValue] = [.object([("byteLength", .int(layout.length))])]
        if placeholderLength > 0 {
            buffers.append(
                .object([
                    ("byteLength", .int(placeholderLength)),
                    ("extensions", .object([("EXT_meshopt_compression", .object([("fallback", .bool(true))]))]))
                ]))
        }
        return .array(buffers)
    }

    // MARK: Quantized attributes

    /// A vertex view of `data` (elements of `stride` bytes), compressed when compressing.
    mutating func addVertexBytes(_ data: [UInt8], stride: Int, filter: ViewFilter = .none) -> ViewRef {
        addStreamView(
            length: data.count, category: .geometry, target: GL.arrayBuffer, stride: stride,
            codec: .attributes(stride: stride, filter: filter), fill: rawCopy(data))
    }

    /// POSITION as UNSIGNED_SHORT grid coordinates (padded to 8 bytes), with integer min/max.
    mutating func addQuantizedPositions(_ positions: [SIMD3<Float>], grid: PositionGrid) -> Int {
        var data: [UInt16] = []
        data.reserveCapacity(positions.count * 4)
        var lo = SIMD3<UInt16>(repeating: .max)
        var hi = SIMD3<UInt16>(repeating: 0)
        for p in positions {
            let q = grid.quantize(p)
            lo = pointwiseMin(lo, q)
            hi = pointwiseMax(hi, q)
            data += [q.x, q.y, q.z, 0]
        }
        let view = addVertexBytes(littleEndianBytes(data), stride: 8)
        return addAccessor(
            view: view, componentType: GL.unsignedShort, count: positions.count, type: "VEC3",
            min: [Float(lo.x), Float(lo.y), Float(lo.z)], max: [Float(hi.x), Float(hi.y), Float(hi.z)])
    }

    /// Morph POSITION deltas in grid units: SHORT when they fit, else float.
    mutating func addQuantizedTargetPositions(_ deltas: [SIMD3<Float>], grid: PositionGrid) -> Int {
        let scaled = deltas.map { ($0 / grid.scale).rounded(.toNearestOrEven) }
        guard scaled.allSatisfy({ $0.max() <= 32767 && $0.min() >= -32767 }) else {
            let units = deltas.map { $0 / grid.scale }
            let lo = units.reduce(SIMD3<Float>(repeating: .infinity)) { pointwiseMin($0, $1) }
            let hi = units.reduce(SIMD3<Float>(repeating: -.infinity)) { pointwiseMax($0, $1) }
            let bytes = littleEndianBytes(units.flatMap { [$0.x, $0.y, $0.z].map(\.bitPattern) })
            let view = addVertexBytes(bytes, stride: 12)
            return addAccessor(
                view: view, componentType: GL.float, count: deltas.count, type: "VEC3",
                min: [lo.x, lo.y, lo.z], max: [hi.x, hi.y, hi.z])
        }
        let q = scaled.map { SIMD3<Int16>($0) }
        let lo = q.reduce(SIMD3<Int16>(repeating: .max)) { pointwiseMin($0, $1) }
        let hi = q.reduce(SIMD3<Int16>(repeating: .min)) { pointwiseMax($0, $1) }
        let view = addVertexBytes(
            littleEndianBytes(q.flatMap { [$0.x, $0.y, $0.z, 0].map { UInt16(bitPattern: $0) } }), stride: 8)
        return addAccessor(
            view: view, componentType: GL.short, count: deltas.count, type: "VEC3",
            min: [Float(lo.x), Float(lo.y), Float(lo.z)], max: [Float(hi.x), Float(hi.y), Float(hi.z)])
    }

    /// Morph NORMAL or TANGENT deltas as normalized BYTE (normal bits ≤ 8) or SHORT, as gltfpack stores them; nil
    /// when a component lies outside [-1, 1] (the caller then keeps floats).
    mutating func addQuantizedTargetDirections(_ deltas: [SIMD3<Float>]) -> Int? {
        guard deltas.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite && $0.max() <= 1 && $0.min() >= -1 })
        else { return nil }
        let bits = options.quantization?.normalBits ?? 8
        let wide = bits > 8
        let levels = Float((1 << (bits - 1)) - 1)
        let storage: Float = wide ? 32767 : 127
        let q = deltas.flatMap { d in
            (0..<4).map { c -> Int16 in c < 3 ? Int16(((d[c] * levels).rounded() * storage / levels).rounded()) : 0 }
        }
        let view = addVertexBytes(
            wide ? littleEndianBytes(q.map { UInt16(bitPattern: $0) }) : q.map { UInt8(bitPattern: Int8($0)) },
            stride: wide ? 8 : 4)
        var accessor = addAccessor(
            view: view, componentType: wide ? GL.short : GL.byte, count: deltas.count, type: "VEC3")
        markNormalized(&accessor)
        return accessor
    }

    /// Unit vectors (xyz, and w for tangents) as normalized BYTE or SHORT; octahedral-filtered when compressing.
    mutating func addQuantizedDirections(_ vectors: [SIMD4<Float>], components: Int) -> Int {
        let bits = options.quantization?.normalBits ?? 8
        let wide = bits > 8
        let stride = wide ? 8 : 4
        let view: ViewRef
        if compressing {
            let encoded = MeshoptFilter.encodeOctahedral(vectors, stride: stride, bits: bits)
            view = addVertexBytes(encoded, stride: stride, filter: .octahedral)
        } else {
            let limit: Float = wide ? 32767 : 127
            let q = vectors.flatMap { v in (0..<4).map { c in c < components ? Int16((v[c] * limit).rounded()) : 0 } }
            view = addVertexBytes(
                wide ? littleEndianBytes(q.map { UInt16(bitPattern: $0) }) : q.map { UInt8(bitPattern: Int8($0)) },
                stride: stride)
        }
        var accessor = addAccessor(
            view: view, componentType: wide ? GL.short : GL.byte, count: vectors.count,
            type: components == 3 ? "VEC3" : "VEC4")
        markNormalized(&accessor)
        return accessor
    }

    /// A UV set as normalized UNSIGNED_SHORT on its material's grid.
    mutating func addQuantizedTexcoords(_ uvs: [SIMD2<Float>], grid: UVGrid) -> Int {
        let data = uvs.flatMap { uv -> [UInt16] in
            let q = grid.quantize(uv)
            return [q.x, q.y]
        }
        var accessor = addAccessor(
            view: addVertexBytes(littleEndianBytes(data), stride: 4), componentType: GL.unsignedShort,
            count: uvs.count, type: "VEC2")
        markNormalized(&accessor)
        return accessor
    }

    /// COLOR_0 clamped to [0, 1] as normalized UNSIGNED_BYTE (bits ≤ 8) or UNSIGNED_SHORT with `bits` of precision.
    mutating func addQuantizedColors(_ colors: [SIMD4<Float>]) -> Int {
        let bits = options.quantization?.colorBits ?? 8
        let wide = bits > 8
        let levels = Float((1 << bits) - 1)
        let storage: Float = wide ? 65535 : 255
        let q = colors.flatMap { c in
            (0..<4).map { i -> UInt16 in
                let step = (min(max(finite(c[i]), 0), 1) * levels).rounded()
                return UInt16((step * storage / levels).rounded())
            }
        }
        let view = addVertexBytes(wide ? littleEndianBytes(q) : q.map { UInt8($0) }, stride: wide ? 8 : 4)
        var accessor = addAccessor(
            view: view, componentType: wide ? GL.unsignedShort : GL.unsignedByte,
            count: colors.count, type: "VEC4")
        markNormalized(&accessor)
        return accessor
    }

    /// Skin weights as normalized UNSIGNED_BYTE; rounding error goes to the largest weight so each sums to 255.
    mutating func addQuantizedWeights(_ weights: [SIMD4<Float>], normalize: (SIMD4<Float>) -> SIMD4<Float>) -> Int {
        let data = weights.flatMap { w -> [UInt8] in
            let n = normalize(w)
            var q = (0..<4).map { Int((n[$0] * 255).rounded()) }
            let largest = (0..<4).max { q[$0] < q[$1] || (q[$0] == q[$1] && $0 > $1) }!
            q[largest] += 255 - q.reduce(0, +)
            return q.map { UInt8(clamping: $0) }
        }
        var accessor = addAccessor(
            view: addVertexBytes(data, stride: 4), componentType: GL.unsignedByte,
            count: weights.count, type: "VEC4")
        markNormalized(&accessor)
        return accessor
    }

    /// Adds `"normalized": true` to an accessor just added.
    mutating func markNormalized(_ index: inout Int) {
        guard case .object(var members) = accessors[index] else { return }
        let at = members.firstIndex { $0.0 == "count" } ?? members.count
        members.insert(("normalized", .bool(true)), at: at)
        accessors[index] = .object(members)
    }

    // MARK: Animation and skin data

    /// An animation output or input of floats (`components` per element), compressed when compressing:
    /// rotations use the quaternion filter (normalized SHORT), translations, scales and weights the exponential
    /// filter when it makes the view smaller; morph weights in 0…1 of a quantized file are normalized bytes. Returns
    /// the accessor.
    mutating func addAnimationFloats(
        _ values: [Float], components: Int, type: String, path: Animation.Path?,
        cubic: Bool, min: [Float]? = nil, max: [Float]? = nil
    ) -> Int {
        let count = values.count / components
        // Morph weights within 0…1 (give or take half a step), when vertices are quantized: normalized UNSIGNED_BYTE,
        // uncompressed (as gltfpack writes them); steps of 1/255, a quarter of the bytes.
        let halfStep: Float = 0.5 / 255
        if path == .weights, plan != nil, values.allSatisfy({ $0 >= -halfStep && $0 <= 1 + halfStep }) {
            let bytes = values.map { UInt8((Swift.min(Swift.max($0, 0), 1) * 255).rounded()) }
            let view = addView(length: bytes.count, category: .animation, fill: rawCopy(bytes))
            var accessor = addAccessor(view: view, componentType: GL.unsignedByte, count: count, type: type)
            markNormalized(&accessor)
            return accessor
        }
        guard compressing else {
            let view = addView(length: values.count * 4, category: .animation, fill: rawCopy(values))
            return addAccessor(view: view, componentType: GL.float, count: count, type: type, min: min, max: max)
        }
        if path == .rotation && !cubic {
            let quats = (0..<count).map { i -> SIMD4<Float> in
                let q = SIMD4<Float>(values[i * 4], values[i * 4 + 1], values[i * 4 + 2], values[i * 4 + 3])
                let length = (q * q).sum().squareRoot()
                return length > 0 && length.isFinite ? q / length : SIMD4(0, 0, 0, 1)
            }
            let data = MeshoptFilter.encodeQuaternion(quats, bits: FilterBits.rotation)
            let view = addCompressedView(
                data, category: .animation, target: nil, stride: nil,
                codec: .attributes(stride: 8, filter: .quaternion))
            var accessor = addAccessor(view: view, componentType: GL.short, count: count, type: type)
            markNormalized(&accessor)
            return accessor
        }
        let stride = components * 4
        var data = littleEndianBytes(values.map(\.bitPattern))
        var filter = ViewFilter.none
        if path != nil && path != .rotation && stride <= 256 {
            let filtered = MeshoptFilter.encodeExponential(
                values, count: count, stride: stride, bits: FilterBits.exponentialMantissa)
            let plainSize = MeshoptCodec.encodeVertexBuffer(data, count: count, stride: stride).count
            let filteredSize = MeshoptCodec.encodeVertexBuffer(filtered, count: count, stride: stride).count
            if filteredSize * 10 < plainSize * 9 { (data, filter) = (filtered, .exponential) }
        }
        let codecStride = stride <= 256 && stride % 4 == 0 ? stride : 4
        let view = addCompressedView(
            data, category: .animation, target: nil, stride: nil,
            codec: .attributes(stride: codecStride, filter: filter))
        return addAccessor(view: view, componentType: GL.float, count: count, type: type, min: min, max: max)
    }
}

/// The little-endian bytes of integer words.
func littleEndianBytes<T: FixedWidthInteger>(_ words: [T]) -> [UInt8] {
    words.map(\.littleEndian).withUnsafeBytes { Array($0) }
}
