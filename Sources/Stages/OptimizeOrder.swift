import Meshopt
import Scene

/// Options of `optimizeOrder`.
public struct OrderOptions: Sendable, Equatable {
    /// How much worse the vertex-cache efficiency may get to reduce overdraw (1.05 = 5 %).
    public var overdrawThreshold: Float
    /// Order for compression instead (as gltfpack -cc does for the meshopt codecs): triangle strips, no overdraw
    /// pass, which makes the compressed index data smaller at a small vertex-cache cost.
    public var forCompression: Bool

    public init(overdrawThreshold: Float = 1.05, forCompression: Bool = false) {
        self.overdrawThreshold = overdrawThreshold
        self.forCompression = forCompression
    }
}

/// Reorders triangles for the vertex cache and then for overdraw, and vertices (all streams and morph targets)
/// for fetch locality, one primitive per work item. Points and lines only get the vertex-fetch order.
public func optimizeOrder(
    _ scene: inout Scene, options: OrderOptions = OrderOptions(),
    threads: Int
) throws -> StageReport {
    try validateGeometry(scene)
    return runStage("optimizeOrder", &scene) { scene in
        _ = transformPrimitives(&scene, threads: threads) { optimizeOrder($0, options: options) }
        return (nil, [])
    }
}

/// Reorders one primitive (see `optimizeOrder(_:options:threads:)`); unused vertices are dropped.
public func optimizeOrder(_ primitive: Primitive, options: OrderOptions = OrderOptions()) -> Primitive {
    let vertexCount = primitive.vertexCount
    guard vertexCount > 0 else { return primitive }
    var indices = primitive.effectiveIndices
    if primitive.mode == .triangles && !indices.isEmpty && options.forCompression {
        indices = MeshoptOptimizer.optimizeVertexCacheStrip(indices, vertexCount: vertexCount)
    } else if primitive.mode == .triangles && !indices.isEmpty {
        let cached = MeshoptOptimizer.optimizeVertexCache(indices, vertexCount: vertexCount)
        indices = MeshoptOptimizer.optimizeOverdraw(
            cached, positions: primitive.vertices.positions,
            threshold: options.overdrawThreshold)
    }
    let (remap, unique) = MeshoptOptimizer.optimizeVertexFetchRemap(indices, vertexCount: vertexCount)
    var sources = [Int](repeating: 0, count: unique)
    for v in 0..<vertexCount where remap[v] != UInt32.max { sources[Int(remap[v])] = v }
    return primitive.selectingVertices(sources, newIndices: indices.map { remap[Int($0)] })
}
