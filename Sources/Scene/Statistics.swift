/// Counts that describe a scene, as `inspect` prints them and the report compares them.
public struct SceneStatistics: Sendable, Equatable, Codable {
    public var nodes = 0
    public var meshes = 0
    public var primitives = 0
    public var vertices = 0
    public var triangles = 0
    /// Triangles as drawn: each mesh counted once per node that draws it, times the node's instance count.
    public var instancedTriangles = 0
    public var materials = 0
    public var textures = 0
    public var images = 0
    public var imageBytes = 0
    public var skins = 0
    public var animations = 0
    public var cameras = 0
    public var lights = 0

    public init() {}
}

extension Scene {
    public var statistics: SceneStatistics {
        var s = SceneStatistics()
        s.nodes = nodes.count
        s.meshes = meshes.count
        for mesh in meshes {
            s.primitives += mesh.primitives.count
            for p in mesh.primitives {
                s.vertices += p.vertexCount
                s.triangles += p.triangleCount
            }
        }
        s.instancedTriangles = instancedTriangleCount
        s.materials = materials.count
        s.textures = textures.count
        s.images = images.count
        s.imageBytes = images.reduce(0) { $0 + $1.data.count }
        s.skins = skins.count
        s.animations = animations.count
        s.cameras = cameras.count
        s.lights = lights.count
        return s
    }

    /// Triangles as drawn: each mesh counted once per node that draws it, times the node's instance count.
    public var instancedTriangleCount: Int {
        nodes.reduce(0) { total, node in
            guard let m = node.mesh else { return total }
            return total + max(node.instances.count, 1) * meshes[m].primitives.reduce(0) { $0 + $1.triangleCount }
        }
    }

    /// World-space transforms of every node, following the hierarchy from `roots`.
    public func worldTransforms() -> [Matrix4] {
        var world = [Matrix4](repeating: .identity, count: nodes.count)
        var stack = roots.map { ($0, Matrix4.identity) }
        var visited = Set<Int>()
        while let (index, parent) = stack.popLast() {
            guard visited.insert(index).inserted else { continue }
            let w = parent * nodes[index].transform.matrix
            world[index] = w
            for child in nodes[index].children { stack.append((child, w)) }
        }
        return world
    }

    /// Every mesh a node draws, once per world transform it is drawn at (the node's, or each of its instances').
    public func meshPlacements() -> [(mesh: Int, transform: Matrix4)] {
        let world = worldTransforms()
        var placements: [(mesh: Int, transform: Matrix4)] = []
        for (i, node) in nodes.enumerated() {
            guard let m = node.mesh, meshes.indices.contains(m) else { continue }
            if node.instances.isEmpty {
                placements.append((m, world[i]))
            } else {
                placements += node.instances.map { (m, world[i] * $0.matrix) }
            }
        }
        return placements
    }

    /// The axis-aligned bounds of all mesh vertices in world space (rest pose, every instance), or nil for no geometry.
    public func worldBounds() -> (min: SIMD3<Float>, max: SIMD3<Float>)? {
        var lo = SIMD3<Float>(repeating: .infinity)
        var hi = SIMD3<Float>(repeating: -.infinity)
        for (m, placement) in meshPlacements() {
            for p in meshes[m].primitives {
                for v in p.vertices.positions {
                    let w = placement.transformPoint(v)
                    lo = pointwiseMin(lo, w)
                    hi = pointwiseMax(hi, w)
                }
            }
        }
        return lo.x <= hi.x ? (lo, hi) : nil
    }
}
