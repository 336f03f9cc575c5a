/// Small geometry streams of one kind share a bufferView, as gltfpack lays them out: every view costs JSON (about
/// 60 bytes, 110 more with `EXT_meshopt_compression`), which on a model of many small parts outweighs the data, and
/// a longer stream compresses a little better. A stream over `pooledStreamLimit` bytes keeps a view of its own, so
/// the bytes of large meshes are never held back for a pool.
let pooledStreamLimit = 65_536

/// Where an accessor's data lies: a bufferView of its own, or a place in a pool that becomes one view later.
enum ViewRef {
    case view(Int)
    case pooled(pool: Int, offset: Int)
}

/// Streams waiting to be written as one bufferView: same category, target, stride and codec.
struct ViewPool {
    struct Key: Hashable {
        var category: ByteCategory
        var target: Int?
        var stride: Int?
        var codec: ViewCodec?
    }

    var key: Key
    var length = 0
    var parts: [(offset: Int, fill: BinaryLayout.Fill)] = []
}

extension SceneEncoder {
    /// A geometry stream's place: in the pool of its kind when it is small, else a view of its own (`addView`).
    mutating func addStreamView(
        length: Int, category: ByteCategory, target: Int? = nil, stride: Int? = nil,
        codec: ViewCodec? = nil, fill: @escaping BinaryLayout.Fill
    ) -> ViewRef {
        guard length > 0, length <= pooledStreamLimit else {
            return .view(
                addView(length: length, category: category, target: target, stride: stride, codec: codec, fill: fill))
        }
        let key = ViewPool.Key(category: category, target: target, stride: stride, codec: codec)
        let pool: Int
        if let existing = poolIndex[key] {
            pool = existing
        } else {
            pool = pools.count
            poolIndex[key] = pool
            pools.append(ViewPool(key: key))
        }
        let offset = pools[pool].length
        pools[pool].parts.append((offset, fill))
        pools[pool].length += length
        return .pooled(pool: pool, offset: offset)
    }

    /// An accessor on `view`; a pooled one gets its `bufferView` and `byteOffset` when the pools are written.
    mutating func addAccessor(
        view: ViewRef, componentType: Int, count: Int, type: String, min: [Float]? = nil, max: [Float]? = nil
    ) -> Int {
        switch view {
        case .view(let index):
            return addAccessor(
                view: index, componentType: componentType, count: count, type: type, min: min, max: max)
        case let .pooled(pool, offset):
            let accessor = addAccessor(
                view: nil as Int?, componentType: componentType, count: count, type: type, min: min, max: max)
            pooledAccessors.append((accessor, pool, offset))
            return accessor
        }
    }

    /// Writes every pool as one bufferView (compressed as its key says) and points its accessors into it.
    mutating func writePools() {
        let pools = self.pools
        let views = pools.map { pool in
            let parts = pool.parts
            return addView(
                length: pool.length, category: pool.key.category, target: pool.key.target, stride: pool.key.stride,
                codec: pool.key.codec
            ) { destination in
                for part in parts { part.fill(destination + part.offset) }
            }
        }
        for (accessor, pool, offset) in pooledAccessors {
            guard case .object(var members) = accessors[accessor] else { continue }
            members.insert(("bufferView", .int(views[pool])), at: 0)
            if offset > 0 { members.insert(("byteOffset", .int(offset)), at: 1) }
            accessors[accessor] = .object(members)
        }
        self.pools = []
        poolIndex = [:]
        pooledAccessors = []
    }
}
