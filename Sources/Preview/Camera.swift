import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// A perspective camera looking at `target`, with +Y up.
public struct PreviewCamera: Sendable, Equatable, Codable {
    public var position: [Float]
    public var target: [Float]
    /// Vertical field of view in degrees.
    public var yfovDegrees: Float
    public var near: Float
    public var far: Float

    /// The three-quarter view every preview uses: from the direction (1, 0.8, 1.2), at the distance where the bounds'
    /// enclosing sphere fits a 45° vertical field of view with 10 % margin (the framing of Tests/Scripts/render.py).
    /// The camera is always outside that sphere, so no geometry reaches the near plane.
    public static func framing(min lo: SIMD3<Float>, max hi: SIMD3<Float>) -> PreviewCamera {
        let center = (lo + hi) / 2
        let radius = Swift.max(length(hi - lo) / 2, 1e-6)
        let yfov: Float = 45
        let distance = radius / sin(yfov * .pi / 360) * 1.1
        let direction = normalize(SIMD3<Float>(1, 0.8, 1.2), fallback: .zero)
        let eye = center + direction * distance
        return PreviewCamera(
            position: [eye.x, eye.y, eye.z], target: [center.x, center.y, center.z],
            yfovDegrees: yfov, near: radius / 100, far: radius * 100)
    }

    var eye: SIMD3<Float> { SIMD3(position[0], position[1], position[2]) }
    var center: SIMD3<Float> { SIMD3(target[0], target[1], target[2]) }

    /// Projection × view, mapping world points to clip space (OpenGL conventions: w = distance along the view axis).
    func viewProjection(aspect: Float) -> Matrix4 {
        let forward = normalize(center - eye, fallback: .zero)
        var side = cross(forward, SIMD3(0, 1, 0))
        if length(side) < 1e-6 { side = SIMD3(1, 0, 0) }
        side = normalize(side, fallback: .zero)
        let up = cross(side, forward)
        let view = Matrix4(
            columns: SIMD4(side.x, up.x, -forward.x, 0), SIMD4(side.y, up.y, -forward.y, 0),
            SIMD4(side.z, up.z, -forward.z, 0),
            SIMD4(-dot(side, eye), -dot(up, eye), dot(forward, eye), 1))
        let f = 1 / tan(yfovDegrees * .pi / 360)
        let (n, fa) = (near, far)
        let projection = Matrix4(
            columns: SIMD4(f / aspect, 0, 0, 0), SIMD4(0, f, 0, 0),
            SIMD4(0, 0, (fa + n) / (n - fa), -1), SIMD4(0, 0, 2 * fa * n / (n - fa), 0))
        return projection * view
    }
}
