import Scene

/// What a bufferView holds, for `ByteBreakdown`.
enum ByteCategory {
    case geometry, animation, skin, images
}

/// The BIN chunk, planned before it is written: every bufferView's offset and length, and how to fill it.
///
/// Planning first lets the encoder compute the exact output size (and refuse it) before allocating anything.
struct BinaryLayout {
    /// Writes exactly `length` bytes at the given address.
    typealias Fill = (UnsafeMutableRawPointer) -> Void

    struct View {
        var offset: Int
        var length: Int
        var category: ByteCategory
        var fill: Fill
    }

    private(set) var views: [View] = []
    /// Bytes written between two `returnFreedMemory` calls in `write`.
    static let trimInterval = 32 << 20
    /// Length of the BIN chunk data so far, always a multiple of 4.
    private(set) var length = 0

    /// Reserves a 4-byte aligned range of `length` bytes and returns its offset.
    mutating func append(length: Int, category: ByteCategory, fill: @escaping Fill) -> Int {
        let offset = self.length
        views.append(View(offset: offset, length: length, category: category, fill: fill))
        self.length = alignedTo4(offset + length)
        return offset
    }

    /// Bytes per category, each view counted with its padding.
    func bytes(of category: ByteCategory) -> Int {
        views.reduce(0) { $1.category == category ? $0 + alignedTo4($1.length) : $0 }
    }

    /// Fills `destination` (exactly `length` bytes) with every view and zero padding.
    ///
    /// Each fill is let go of once it has run, so the data it copies can go while the rest is written; every
    /// `trimInterval` bytes the freed heap goes back to the kernel, so the file and the data it was copied from are
    /// not both resident.
    mutating func write(into destination: UnsafeMutableRawPointer) {
        var untrimmed = 0
        for i in views.indices {
            let (offset, length) = (views[i].offset, views[i].length)
            views[i].fill(destination + offset)
            views[i].fill = { _ in }
            let end = offset + length
            let padded = alignedTo4(end)
            if padded > end { (destination + end).initializeMemory(as: UInt8.self, repeating: 0, count: padded - end) }
            untrimmed += length
            if untrimmed >= BinaryLayout.trimInterval {
                returnFreedMemory()
                untrimmed = 0
            }
        }
        if untrimmed > 0 { returnFreedMemory() }
    }
}

@inline(__always) func alignedTo4(_ n: Int) -> Int { (n + 3) & ~3 }

// MARK: - Fills

/// Copies the raw bytes of a contiguous array of trivial elements.
func rawCopy<T: BitwiseCopyable>(_ array: [T]) -> BinaryLayout.Fill {
    { destination in
        array.withUnsafeBytes { source in
            if let base = source.baseAddress { destination.copyMemory(from: base, byteCount: source.count) }
        }
    }
}

/// Writes each element as `components` tightly packed floats produced by `transform`.
func floatFill<T>(_ array: [T], components: Int, _ transform: @escaping (T) -> SIMD4<Float>) -> BinaryLayout.Fill {
    { destination in
        var offset = 0
        for element in array {
            let v = transform(element)
            for c in 0..<components {
                destination.storeBytes(of: v[c], toByteOffset: offset, as: Float.self)
                offset += 4
            }
        }
    }
}

/// The value, or 0 when it is NaN or infinite.
@inline(__always) func finite(_ x: Float) -> Float { x.isFinite ? x : 0 }
@inline(__always) func finite<V: SIMD>(_ v: V) -> V where V.Scalar == Float {
    var r = v
    for i in r.indices where !r[i].isFinite { r[i] = 0 }
    return r
}
