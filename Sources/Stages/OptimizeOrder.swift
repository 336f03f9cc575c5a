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
        _ = transformPrimitives(&scene, threads: threads) {
            optimizeOrder(&$0, options: options, threads: threads)
            return true
        }
        return (nil, [])
    }
}

/// Reorders one primitive in place (see `optimizeOrder(_:options:threads:)`); unused vertices are dropped. The
/// triangles of a large primitive are ordered for the vertex cache in regions (`inRegions`), side by side on `threads`
/// workers.
public func optimizeOrder(_ primitive: inout Primitive, options: OrderOptions = OrderOptions(), threads: Int = 1) {
    let vertexCount = primitive.vertexCount
    guard vertexCount > 0 else { return }
    var indices = primitive.effectiveIndices
    primitive.indices = []
    if primitive.mode == .triangles && !indices.isEmpty {
        let cache: @Sendable ([UInt32], Int) -> [UInt32] = { indices, vertexCount in
            options.forCompression
                ? MeshoptOptimizer.optimizeVertexCacheStrip(indices, vertexCount: vertexCount)
                : MeshoptOptimizer.optimizeVertexCache(indices, vertexCount: vertexCount)
        }
        let parts = partCount(triangles: indices.count / 3)
        if parts > 1 {
            _ = inRegions(&indices, positions: primitive.vertices.positions, parts: parts, threads: threads) {
                piece, own in piece = cache(piece, own.count)
            }
        } else {
            indices = cache(indices, vertexCount)
        }
        if !options.forCompression {
            indices = MeshoptOptimizer.optimizeOverdraw(
                indices, positions: primitive.vertices.positions, threshold: options.overdrawThreshold)
        }
    }
    let (remap, unique) = MeshoptOptimizer.optimizeVertexFetchRemap(indices, vertexCount: vertexCount)
    var sources = [UInt32](repeating: 0, count: unique)
    for v in 0..<vertexCount where remap[v] != UInt32.max { sources[Int(remap[v])] = UInt32(v) }
    primitive.indices = indices
    indices = []
    primitive.remapIndices(remap)
    primitive.selectVertices(sources)
}
