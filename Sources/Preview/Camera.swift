import Foundation
import Scene

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
        let radius = Swift.max(simdLength(hi - lo) / 2, 1e-6)
        let yfov: Float = 45
        let distance = radius / sin(yfov * .pi / 360) * 1.1
        let direction = simdNormalize(SIMD3<Float>(1, 0.8, 1.2))
        let eye = center + direction * distance
        return PreviewCamera(position: [eye.x, eye.y, eye.z], target: [center.x, center.y, center.z],
                             yfovDegrees: yfov, near: radius / 100, far: radius * 100)
    }

    var eye: SIMD3<Float> { SIMD3(position[0], position[1], position[2]) }
    var center: SIMD3<Float> { SIMD3(target[0], target[1], target[2]) }

    /// Projection × view, mapping world points to clip space (OpenGL conventions: w = distance along the view axis).
    func viewProjection(aspect: Float) -> Matrix4 {
        let forward = simdNormalize(center - eye)
        var side = simdCross(forward, SIMD3(0, 1, 0))
        if simdLength(side) < 1e-6 { side = SIMD3(1, 0, 0) }
        side = simdNormalize(side)
        let up = simdCross(side, forward)
        let view = Matrix4(columns: SIMD4(side.x, up.x, -forward.x, 0), SIMD4(side.y, up.y, -forward.y, 0),
                           SIMD4(side.z, up.z, -forward.z, 0),
                           SIMD4(-simdDot(side, eye), -simdDot(up, eye), simdDot(forward, eye), 1))
        let f = 1 / tan(yfovDegrees * .pi / 360)
        let (n, fa) = (near, far)
        let projection = Matrix4(columns: SIMD4(f / aspect, 0, 0, 0), SIMD4(0, f, 0, 0),
                                 SIMD4(0, 0, (fa + n) / (n - fa), -1), SIMD4(0, 0, 2 * fa * n / (n - fa), 0))
        return projection * view
    }
}

@inline(__always) func simdDot(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (a * b).sum() }
@inline(__always) func simdLength(_ a: SIMD3<Float>) -> Float { simdDot(a, a).squareRoot() }
@inline(__always) func simdNormalize(_ a: SIMD3<Float>) -> SIMD3<Float> {
    let l = simdLength(a)
    return l > 0 ? a / l : a
}
@inline(__always) func simdCross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
