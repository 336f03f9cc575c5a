import FoundationEssentials
import Meshopt
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// An accessor's layout, checked against the bytes that hold it.
struct AccessorLayout {
    var componentType: Int
    var components: Int
    var count: Int
    var normalized: Bool
    /// nil: no bufferView (zeros, possibly with sparse values).
    var bytes: UnsafeRawBufferPointer?
    var stride: Int
    /// Bytes per component (`componentSizes[componentType]`, looked up once: element loops read it per component).
    var componentSize: Int
}

let componentSizes: [Int: Int] = [5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4]
let componentCounts: [String: Int] = ["SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16]

extension GLTFReader {
    /// Decodes an `EXT_meshopt_compression` bufferView (any mode and filter).
    mutating func decodeMeshopt(_ ext: JSONObject, view i: Int) throws -> UnsafeRawBufferPointer {
        let place = "bufferView \(i) (EXT_meshopt_compression)"
        guard let bufferIndex = index(ext["buffer"]), bufferIndex < buffers.count, let buffer = buffers[bufferIndex],
            let length = index(ext["byteLength"]), let stride = index(ext["byteStride"]),
            let count = index(ext["count"]),
            let mode = string(ext["mode"])
        else {
            throw bad("\(place): buffer, byteLength, byteStride, count and mode are required")
        }
        let offset = index(ext["byteOffset"] ?? 0) ?? -1
        guard offset >= 0, offset + length <= buffer.count else {
            throw bad("\(place): compressed bytes \(offset)..<\(offset + length) exceed buffer \(bufferIndex)")
        }
        // The codecs cannot expand data more than 64:1 (two header bits per 16 bytes), so a larger claim is a lie;
        // checked before the output is allocated.
        let (size, overflow) = count.multipliedReportingOverflow(by: stride)
        guard !overflow, size <= 64 * length + 65_536 else {
            throw bad("\(place): \(count) × \(stride) bytes cannot come from \(length) compressed bytes")
        }
        let encoded = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length])
        var decoded: [UInt8]?
        switch mode {
        case "ATTRIBUTES": decoded = MeshoptCodec.decodeVertexBuffer(encoded, count: count, stride: stride)
        case "TRIANGLES": decoded = MeshoptCodec.decodeIndexBuffer(encoded, count: count, indexSize: stride)
        case "INDICES": decoded = MeshoptCodec.decodeIndexSequence(encoded, count: count, indexSize: stride)
        default: throw bad("\(place): unknown mode \(mode)")
        }
        guard var data = decoded else { throw bad("\(place): the compressed \(mode) data does not decode") }
        switch string(ext["filter"]) ?? "NONE" {
        case "NONE": break
        case "OCTAHEDRAL" where stride == 4 || stride == 8:
            MeshoptFilter.decodeOctahedral(&data, count: count, stride: stride)
        case "QUATERNION" where stride == 8: MeshoptFilter.decodeQuaternion(&data, count: count)
        case "EXPONENTIAL" where stride % 4 == 0: MeshoptFilter.decodeExponential(&data, count: count, stride: stride)
        case let filter: throw bad("\(place): filter \(filter) does not fit byteStride \(stride)")
        }
        inputBytes += data.count
        return storage.keep(data)
    }

    /// Accessor `i`'s layout, its element range checked to lie inside its bufferView.
    mutating func layout(_ i: Int, allowMatrix: Bool = false) throws -> AccessorLayout {
        let place = "accessor \(i)"
        guard let accessor = item("accessors", i) else { throw bad("\(place) does not exist") }
        guard let componentType = index(accessor["componentType"]), let size = componentSizes[componentType] else {
            throw bad("\(place): invalid componentType")
        }
        guard let type = string(accessor["type"]), let components = componentCounts[type] else {
            throw bad("\(place): invalid type")
        }
        if type.hasPrefix("MAT") && (!allowMatrix || componentType != 5126) {
            throw bad("\(place): a \(type) accessor is not allowed here")
        }
        guard let count = index(accessor["count"]) else { throw bad("\(place): invalid count") }
        let normalized = (accessor["normalized"] as? Bool) ?? false
        let elementSize = size * components
        guard let viewIndex = accessor["bufferView"].map({ index($0) ?? -1 }) else {
            // Zeros (plus sparse values): bounded by the input's size, since nothing else limits it.
            guard count <= inputBytes else { throw bad("\(place): count \(count) is larger than the input") }
            return AccessorLayout(
                componentType: componentType, components: components, count: count,
                normalized: normalized, bytes: nil, stride: elementSize, componentSize: size)
        }
        let (bytes, declaredStride) = try viewBytes(viewIndex)
        let stride = declaredStride ?? elementSize
        guard stride >= elementSize || count <= 1 else {
            throw bad("\(place): byteStride \(stride) is smaller than the \(elementSize)-byte element")
        }
        let offset = index(accessor["byteOffset"] ?? 0) ?? -1
        guard offset >= 0 else { throw bad("\(place): invalid byteOffset") }
        if count > 0 {
            let (span, overflow) = stride.multipliedReportingOverflow(by: count - 1)
            guard !overflow, offset + span + elementSize <= bytes.count else {
                throw bad("\(place): \(count) elements exceed bufferView \(viewIndex) of \(bytes.count) bytes")
            }
        }
        let start = min(offset, bytes.count)
        return AccessorLayout(
            componentType: componentType, components: components, count: count, normalized: normalized,
            bytes: UnsafeRawBufferPointer(rebasing: bytes[start...]), stride: stride, componentSize: size)
    }

    /// Accessor `i` as floats, `components` per element (`allowed` lists the accepted counts), normalized integers
    /// mapped to [0, 1] or [-1, 1] and others converted as they are; sparse values applied.
    mutating func readFloats(_ i: Int, allowed: Set<Int>, what: String, allowMatrix: Bool = false) throws -> (
        values: [Float], components: Int
    ) {
        let layout = try layout(i, allowMatrix: allowMatrix)
        guard allowed.contains(layout.components) else {
            throw bad("accessor \(i) (\(what)): \(layout.components) components per element is not allowed")
        }
        let n = layout.components
        var values = [Float](repeating: 0, count: layout.count * n)
        if let bytes = layout.bytes {
            values.withUnsafeMutableBufferPointer { out in
                decodeComponents(bytes, layout: layout, elements: 0..<layout.count) { element, c, v in
                    out[element * n + c] = v
                }
            }
        }
        try applySparse(i, layout: layout) { element, source, sourceElement in
            decodeComponents(source, layout: layout, elements: sourceElement..<sourceElement + 1) { _, c, v in
                values[element * n + c] = v
            }
        }
        return (values, n)
    }

    /// Accessor `i` as unsigned integers (indices, joints), flattened; float or signed components are refused.
    mutating func readIntegers(_ i: Int, what: String) throws -> (values: [UInt32], components: Int) {
        let layout = try layout(i)
        guard [5121, 5123, 5125].contains(layout.componentType) else {
            throw bad("accessor \(i) (\(what)): componentType \(layout.componentType) is not an unsigned integer type")
        }
        let n = layout.components
        var values = [UInt32](repeating: 0, count: layout.count * n)
        func load(_ bytes: UnsafeRawBufferPointer, _ element: Int, _ c: Int) -> UInt32 {
            let at = element * layout.stride + c * layout.componentSize
            switch layout.componentType {
            case 5121: return UInt32(bytes[at])
            case 5123: return UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            default: return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
            }
        }
        if let bytes = layout.bytes {
            values.withUnsafeMutableBufferPointer { out in
                if layout.componentType == 5125 && layout.stride == 4 * n, let base = out.baseAddress {
                    // Tightly packed 32-bit values: the little-endian bytes are the values on this platform.
                    _ = memcpy(base, bytes.baseAddress!, out.count * 4)
                    return
                }
                for element in 0..<layout.count { for c in 0..<n { out[element * n + c] = load(bytes, element, c) } }
            }
        }
        try applySparse(i, layout: layout) { element, source, sourceElement in
            for c in 0..<n { values[element * n + c] = load(source, sourceElement, c) }
        }
        return (values, n)
    }

    /// Calls `apply(element, valuesBytes, k)` for each sparse substitution of accessor `i` (values tightly packed).
    mutating func applySparse(
        _ i: Int, layout: AccessorLayout,
        _ apply: (Int, UnsafeRawBufferPointer, Int) -> Void
    ) throws {
        guard let sparse = object(item("accessors", i)?["sparse"]) else { return }
        let place = "accessor \(i) sparse"
        guard let count = index(sparse["count"]), count <= layout.count,
            let indices = object(sparse["indices"]), let values = object(sparse["values"]),
            let indexView = index(indices["bufferView"]), let valueView = index(values["bufferView"]),
            let indexType = index(indices["componentType"]), [5121, 5123, 5125].contains(indexType)
        else {
            throw bad("\(place): count, indices and values are missing or invalid")
        }
        let indexSize = componentSizes[indexType]!
        let indexBytes = try viewBytes(indexView).bytes
        let valueBytes = try viewBytes(valueView).bytes
        let indexOffset = index(indices["byteOffset"] ?? 0) ?? Int.max / 2
        let valueOffset = index(values["byteOffset"] ?? 0) ?? Int.max / 2
        let elementSize = layout.componentSize * layout.components
        guard indexOffset + count * indexSize <= indexBytes.count, valueOffset + count * elementSize <= valueBytes.count
        else {
            throw bad("\(place): \(count) substitutions exceed their bufferViews")
        }
        let packed = AccessorLayout(
            componentType: layout.componentType, components: layout.components, count: count,
            normalized: layout.normalized,
            bytes: UnsafeRawBufferPointer(rebasing: valueBytes[valueOffset...]), stride: elementSize,
            componentSize: layout.componentSize)
        for k in 0..<count {
            let at = indexOffset + k * indexSize
            let target: Int =
                switch indexType {
                case 5121: Int(indexBytes[at])
                case 5123: Int(UInt16(littleEndian: indexBytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                default: Int(UInt32(littleEndian: indexBytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                }
            guard target < layout.count else {
                throw bad("\(place): index \(target) is out of range (\(layout.count) elements)")
            }
            apply(target, packed.bytes!, k)
        }
    }
}

/// Calls `store(element, component, value)` for `elements` of `bytes` laid out as `layout` (bounds already checked).
func decodeComponents(
    _ bytes: UnsafeRawBufferPointer, layout: AccessorLayout, elements: Range<Int>,
    _ store: (Int, Int, Float) -> Void
) {
    let n = layout.components
    let size = layout.componentSize
    let stride = layout.stride
    let normalized = layout.normalized
    for element in elements {
        let base = element * stride
        for c in 0..<n {
            let at = base + c * size
            let v: Float
            switch layout.componentType {
            case 5120:
                let x = Float(bytes.load(fromByteOffset: at, as: Int8.self))
                v = normalized ? max(x / 127, -1) : x
            case 5121:
                let x = Float(bytes[at])
                v = normalized ? x / 255 : x
            case 5122:
                let x = Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                v = normalized ? max(x / 32767, -1) : x
            case 5123:
                let x = Float(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                v = normalized ? x / 65535 : x
            case 5125:
                v = Float(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            default:
                v = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            }
            store(element, c, v)
        }
    }
}
