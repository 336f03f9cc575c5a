/// The small vector helpers every module uses (the standard library's SIMD types have no dot or cross product).

/// The dot product.
@inlinable public func dot<V: SIMD>(_ a: V, _ b: V) -> V.Scalar where V.Scalar: FloatingPoint { (a * b).sum() }

/// The Euclidean length.
@inlinable public func length<V: SIMD>(_ v: V) -> V.Scalar where V.Scalar: FloatingPoint { dot(v, v).squareRoot() }

/// `v` scaled to unit length (not finite for a zero vector: check the length first where that can happen).
@inlinable public func normalize<V: SIMD>(_ v: V) -> V where V.Scalar: FloatingPoint { v / length(v) }

/// `v` scaled to unit length, or `fallback` when its length is zero or not a number.
@inlinable public func normalize<V: SIMD>(_ v: V, fallback: V) -> V where V.Scalar: FloatingPoint {
    let l = length(v)
    return l > 0 ? v / l : fallback
}

/// The cross product.
@inlinable public func cross<T: SIMDScalar & FloatingPoint>(_ a: SIMD3<T>, _ b: SIMD3<T>) -> SIMD3<T> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// The unit quaternion (x, y, z, w), with w ≥ 0, of the rotation matrix whose columns are `x`, `y` and `z`; nil when
/// they make no rotation (a zero or non-finite result).
@inlinable
public func rotationQuaternion<T: SIMDScalar & BinaryFloatingPoint>(
    columns x: SIMD3<T>, _ y: SIMD3<T>, _ z: SIMD3<T>
) -> SIMD4<T>? {
    let (m00, m10, m20) = (x.x, x.y, x.z)
    let (m01, m11, m21) = (y.x, y.y, y.z)
    let (m02, m12, m22) = (z.x, z.y, z.z)
    let trace = m00 + m11 + m22
    var q: SIMD4<T>
    if trace > 0 {
        let s = (trace + 1).squareRoot() * 2
        q = SIMD4((m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s, s / 4)
    } else if m00 > m11 && m00 > m22 {
        let s = (1 + m00 - m11 - m22).squareRoot() * 2
        q = SIMD4(s / 4, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s)
    } else if m11 > m22 {
        let s = (1 + m11 - m00 - m22).squareRoot() * 2
        q = SIMD4((m01 + m10) / s, s / 4, (m12 + m21) / s, (m02 - m20) / s)
    } else {
        let s = (1 + m22 - m00 - m11).squareRoot() * 2
        q = SIMD4((m02 + m20) / s, (m12 + m21) / s, s / 4, (m10 - m01) / s)
    }
    let norm = length(q)
    guard norm > 0, norm.isFinite else { return nil }
    q /= norm
    return q.w < 0 ? -q : q
}
