import CAssimp
import FoundationEssentials
import Scene

// Small readers that turn Assimp's C structures into Swift values.

extension aiString {
    var string: String {
        let count = Int(length)
        return withUnsafeBytes(of: data) { String(decoding: $0.prefix(count), as: UTF8.self) }
    }
}

extension aiMatrix4x4 {
    /// Assimp matrices are row-major (a1…a4 is the first row); glTF's are column-major.
    var matrix4: Matrix4 {
        Matrix4([a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3, a4, b4, c4, d4])
    }
}

extension aiVector3D {
    var simd: SIMD3<Float> { SIMD3(x, y, z) }
}

/// A C array (pointer + count) as a Swift buffer; empty when the pointer is nil.
func buffer<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: UInt32) -> UnsafeBufferPointer<T> {
    UnsafeBufferPointer(start: count > 0 ? pointer : nil, count: pointer == nil ? 0 : Int(count))
}

/// The pointers of a C array of pointers, skipping none (nil entries stay nil).
func pointers<T>(_ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: UInt32)
    -> UnsafeBufferPointer<UnsafeMutablePointer<T>?>
{
    UnsafeBufferPointer(start: count > 0 ? pointer : nil, count: pointer == nil ? 0 : Int(count))
}

/// Copies `count` elements into a new array, converting each (fast bulk path for large meshes).
func convertArray<T, U>(_ source: UnsafePointer<T>, count: Int, _ transform: (T) -> U) -> [U] {
    [U](unsafeUninitializedCapacity: count) { out, initialized in
        for i in 0..<count { out.initializeElement(at: i, to: transform(source[i])) }
        initialized = count
    }
}

/// Scene metadata (`aiScene.mMetaData`) entries that hold a number, by key.
func numericMetadata(_ metadata: UnsafeMutablePointer<aiMetadata>?) -> [String: Double] {
    guard let metadata else { return [:] }
    var result: [String: Double] = [:]
    let keys = buffer(metadata.pointee.mKeys, metadata.pointee.mNumProperties)
    let values = buffer(metadata.pointee.mValues, metadata.pointee.mNumProperties)
    for (key, entry) in zip(keys, values) {
        guard let data = entry.mData else { continue }
        let value: Double?
        switch entry.mType {
        case AI_BOOL: value = data.load(as: Bool.self) ? 1 : 0
        case AI_INT32: value = Double(data.load(as: Int32.self))
        case AI_UINT64: value = Double(data.load(as: UInt64.self))
        case AI_FLOAT: value = Double(data.load(as: Float.self))
        case AI_DOUBLE: value = data.load(as: Double.self)
        default: value = nil
        }
        if let value { result[key.string] = value }
    }
    return result
}
