/// The small vector helpers every module uses (the standard library's SIMD types have no dot or cross product).

/// The dot product.
public func dot<V: SIMD>(_ a: V, _ b: V) -> V.Scalar where V.Scalar: FloatingPoint { (a * b).sum() }

/// The Euclidean length.
public func length<V: SIMD>(_ v: V) -> V.Scalar where V.Scalar: FloatingPoint { dot(v, v).squareRoot() }

/// `v` scaled to unit length (not finite for a zero vector: check the length first where that can happen).
public func normalize<V: SIMD>(_ v: V) -> V where V.Scalar: FloatingPoint { v / length(v) }

/// The cross product.
public func cross<T: SIMDScalar & FloatingPoint>(_ a: SIMD3<T>, _ b: SIMD3<T>) -> SIMD3<T> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
