/// Editing a primitive's vertices: appending, selecting, dropping and renumbering them, and packing them for
/// comparison.
extension Primitive {
    /// Appends `other`'s vertices and elements (same layout), its indices shifted past this primitive's vertices.
    public mutating func append(_ other: Primitive) {
        let base = UInt32(vertexCount)
        indices += other.indices.map { $0 + base }
        vertices.append(other.vertices)
        for t in targets.indices {
            targets[t].positions += other.targets[t].positions
            targets[t].normals += other.targets[t].normals
            targets[t].tangents += other.targets[t].tangents
        }
    }

    /// Keeps only the vertices `sources` (old vertex numbers, in their new order) in every stream and morph target,
    /// one stream at a time; the caller renumbers `indices`.
    public mutating func selectVertices(_ sources: [UInt32]) {
        func pick<T>(_ stream: inout [T]) {
            guard !stream.isEmpty else { return }
            let picked = stream.withUnsafeBufferPointer { from in
                sources.withUnsafeBufferPointer { sources in
                    [T](unsafeUninitializedCapacity: sources.count) { to, count in
                        for (k, v) in sources.enumerated() { (to.baseAddress! + k).initialize(to: from[Int(v)]) }
                        count = sources.count
                    }
                }
            }
            stream = picked
        }
        pick(&vertices.positions)
        pick(&vertices.normals)
        pick(&vertices.tangents)
        for k in vertices.texcoords.indices { pick(&vertices.texcoords[k]) }
        pick(&vertices.colors)
        pick(&vertices.joints)
        pick(&vertices.weights)
        for k in targets.indices {
            pick(&targets[k].positions)
            pick(&targets[k].normals)
            pick(&targets[k].tangents)
        }
    }

    /// Drops the vertices `indices` do not use, keeping the others in their order (so the result is a subset of the
    /// input), and renumbers `indices`.
    public mutating func dropUnusedVertices() {
        let vertexCount = vertexCount
        var newIndex = [UInt32](repeating: .max, count: vertexCount)
        var usedCount = 0
        newIndex.withUnsafeMutableBufferPointer { newIndex in
            for i in indices where newIndex[Int(i)] == .max { newIndex[Int(i)] = 0 }
            for v in 0..<vertexCount where newIndex[v] == 0 {
                newIndex[v] = UInt32(usedCount)
                usedCount += 1
            }
        }
        guard usedCount < vertexCount else { return }  // every vertex stays where it is: no copy of the streams
        var sources = [UInt32](repeating: 0, count: usedCount)
        for v in 0..<vertexCount where newIndex[v] != .max { sources[Int(newIndex[v])] = UInt32(v) }
        remapIndices(newIndex)
        newIndex = []
        selectVertices(sources)
    }

    /// Replaces every index i by `table[i]`, in place.
    public mutating func remapIndices(_ table: [UInt32]) {
        table.withUnsafeBufferPointer { table in
            indices.withUnsafeMutableBufferPointer { indices in
                for k in indices.indices { indices[k] = table[Int(indices[k])] }
            }
        }
    }

    /// Every stream of every vertex as 32-bit words, one fixed-size record per vertex (SIMD padding excluded), packed
    /// in chunks of vertices on `threads` workers.
    public func packedVertexWords(threads: Int) -> (words: [UInt32], stride: Int) {
        let v = vertices
        let count = vertexCount
        // Each column writes its words for a range of vertices at (vertex × stride + offset).
        typealias Writer = (Range<Int>, UnsafeMutablePointer<UInt32>, Int, Int) -> Void
        var columns: [(width: Int, write: Writer)] = []
        func add<S: SIMD>(_ s: [S]) where S.Scalar == Float {
            guard !s.isEmpty else { return }
            columns.append(
                (
                    S.scalarCount,
                    { range, out, stride, offset in
                        for i in range {
                            for k in 0..<S.scalarCount { out[i * stride + offset + k] = s[i][k].bitPattern }
                        }
                    }
                ))
        }
        add(v.positions)
        add(v.normals)
        add(v.tangents)
        for uv in v.texcoords { add(uv) }
        add(v.colors)
        if !v.joints.isEmpty {
            let j = v.joints
            columns.append(
                (
                    2,
                    { range, out, stride, offset in
                        for i in range {
                            for k in 0..<2 {
                                out[i * stride + offset + k] = UInt32(j[i][2 * k]) | UInt32(j[i][2 * k + 1]) << 16
                            }
                        }
                    }
                ))
        }
        add(v.weights)
        for t in targets {
            add(t.positions)
            add(t.normals)
            add(t.tangents)
        }
        let stride = columns.reduce(0) { $0 + $1.width }
        guard stride * count > 0 else { return ([], stride) }
        let words = [UInt32](unsafeUninitializedCapacity: stride * count) { buffer, initialized in
            nonisolated(unsafe) let out = buffer.baseAddress!
            let layout = columns
            forChunks(of: count, threads: threads) { range in
                var offset = 0
                for column in layout {
                    column.write(range, out, stride, offset)
                    offset += column.width
                }
            }
            initialized = stride * count
        }
        return (words, stride)
    }
}

/// The first old vertex of each of `unique` new numbers a vertex remap gives (old vertex → new number; `UInt32.max`
/// for a vertex left out): what `selectVertices` keeps when the remap merges vertices.
public func firstOfEach(_ remap: [UInt32], unique: Int) -> [UInt32] {
    var first = [UInt32](repeating: .max, count: unique)
    for v in remap.indices where remap[v] != .max && first[Int(remap[v])] == .max {
        first[Int(remap[v])] = UInt32(v)
    }
    return first
}
