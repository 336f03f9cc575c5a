import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// A column-major 4×4 matrix in double precision, for composing FBX transform chains before they become `Float`.
struct DMatrix: Equatable {
    var c: (SIMD4<Double>, SIMD4<Double>, SIMD4<Double>, SIMD4<Double>)

    static func == (a: DMatrix, b: DMatrix) -> Bool {
        a.c.0 == b.c.0 && a.c.1 == b.c.1 && a.c.2 == b.c.2 && a.c.3 == b.c.3
    }

    static let identity = DMatrix(c: (SIMD4(1, 0, 0, 0), SIMD4(0, 1, 0, 0), SIMD4(0, 0, 1, 0), SIMD4(0, 0, 0, 1)))

    static func translation(_ t: SIMD3<Double>) -> DMatrix {
        var m = identity
        m.c.3 = SIMD4(t, 1)
        return m
    }

    static func scale(_ s: SIMD3<Double>) -> DMatrix {
        DMatrix(c: (SIMD4(s.x, 0, 0, 0), SIMD4(0, s.y, 0, 0), SIMD4(0, 0, s.z, 0), SIMD4(0, 0, 0, 1)))
    }

    /// Euler angles in degrees applied in FBX `EulerOrder` (0 XYZ: X first, … 5 ZYX).
    static func rotation(degrees e: SIMD3<Double>, order: Int = 0) -> DMatrix {
        let r = e * (Double.pi / 180)
        let x = DMatrix(
            c: (SIMD4(1, 0, 0, 0), SIMD4(0, cos(r.x), sin(r.x), 0), SIMD4(0, -sin(r.x), cos(r.x), 0), SIMD4(0, 0, 0, 1))
        )
        let y = DMatrix(
            c: (SIMD4(cos(r.y), 0, -sin(r.y), 0), SIMD4(0, 1, 0, 0), SIMD4(sin(r.y), 0, cos(r.y), 0), SIMD4(0, 0, 0, 1))
        )
        let z = DMatrix(
            c: (SIMD4(cos(r.z), sin(r.z), 0, 0), SIMD4(-sin(r.z), cos(r.z), 0, 0), SIMD4(0, 0, 1, 0), SIMD4(0, 0, 0, 1))
        )
        switch order {
        case 1: return y * z * x  // XZY
        case 2: return x * z * y  // YZX
        case 3: return z * x * y  // YXZ
        case 4: return y * x * z  // ZXY
        case 5: return x * y * z  // ZYX
        default: return z * y * x  // XYZ (and spheric XYZ)
        }
    }

    subscript(column: Int) -> SIMD4<Double> {
        switch column {
        case 0: return c.0
        case 1: return c.1
        case 2: return c.2
        default: return c.3
        }
    }

    static func * (a: DMatrix, v: SIMD4<Double>) -> SIMD4<Double> {
        a.c.0 * v.x + a.c.1 * v.y + a.c.2 * v.z + a.c.3 * v.w
    }

    static func * (a: DMatrix, b: DMatrix) -> DMatrix { DMatrix(c: (a * b.c.0, a * b.c.1, a * b.c.2, a * b.c.3)) }

    func point(_ p: SIMD3<Double>) -> SIMD3<Double> {
        let r = self * SIMD4(p, 1)
        return SIMD3(r.x, r.y, r.z)
    }

    func direction(_ d: SIMD3<Double>) -> SIMD3<Double> {
        let r = self * SIMD4(d, 0)
        return SIMD3(r.x, r.y, r.z)
    }

    var upper3x3Determinant: Double {
        let (a, b, d) = (c.0, c.1, c.2)
        return a.x * (b.y * d.z - b.z * d.y) - b.x * (a.y * d.z - a.z * d.y) + d.x * (a.y * b.z - a.z * b.y)
    }

    /// The general inverse (cofactors); nil when singular.
    var inverse: DMatrix? {
        var m = [Double](repeating: 0, count: 16)
        for col in 0..<4 { for row in 0..<4 { m[col * 4 + row] = self[col][row] } }
        var inv = [Double](repeating: 0, count: 16)
        inv[0] =
            m[5] * m[10] * m[15] - m[5] * m[11] * m[14] - m[9] * m[6] * m[15] + m[9] * m[7] * m[14] + m[13] * m[6]
            * m[11] - m[13] * m[7] * m[10]
        inv[4] =
            -m[4] * m[10] * m[15] + m[4] * m[11] * m[14] + m[8] * m[6] * m[15] - m[8] * m[7] * m[14] - m[12] * m[6]
            * m[11] + m[12] * m[7] * m[10]
        inv[8] =
            m[4] * m[9] * m[15] - m[4] * m[11] * m[13] - m[8] * m[5] * m[15] + m[8] * m[7] * m[13] + m[12] * m[5]
            * m[11] - m[12] * m[7] * m[9]
        inv[12] =
            -m[4] * m[9] * m[14] + m[4] * m[10] * m[13] + m[8] * m[5] * m[14] - m[8] * m[6] * m[13] - m[12] * m[5]
            * m[10] + m[12] * m[6] * m[9]
        inv[1] =
            -m[1] * m[10] * m[15] + m[1] * m[11] * m[14] + m[9] * m[2] * m[15] - m[9] * m[3] * m[14] - m[13] * m[2]
            * m[11] + m[13] * m[3] * m[10]
        inv[5] =
            m[0] * m[10] * m[15] - m[0] * m[11] * m[14] - m[8] * m[2] * m[15] + m[8] * m[3] * m[14] + m[12] * m[2]
            * m[11] - m[12] * m[3] * m[10]
        inv[9] =
            -m[0] * m[9] * m[15] + m[0] * m[11] * m[13] + m[8] * m[1] * m[15] - m[8] * m[3] * m[13] - m[12] * m[1]
            * m[11] + m[12] * m[3] * m[9]
        inv[13] =
            m[0] * m[9] * m[14] - m[0] * m[10] * m[13] - m[8] * m[1] * m[14] + m[8] * m[2] * m[13] + m[12] * m[1]
            * m[10] - m[12] * m[2] * m[9]
        inv[2] =
            m[1] * m[6] * m[15] - m[1] * m[7] * m[14] - m[5] * m[2] * m[15] + m[5] * m[3] * m[14] + m[13] * m[2] * m[7]
            - m[13] * m[3] * m[6]
        inv[6] =
            -m[0] * m[6] * m[15] + m[0] * m[7] * m[14] + m[4] * m[2] * m[15] - m[4] * m[3] * m[14] - m[12] * m[2] * m[7]
            + m[12] * m[3] * m[6]
        inv[10] =
            m[0] * m[5] * m[15] - m[0] * m[7] * m[13] - m[4] * m[1] * m[15] + m[4] * m[3] * m[13] + m[12] * m[1] * m[7]
            - m[12] * m[3] * m[5]
        inv[14] =
            -m[0] * m[5] * m[14] + m[0] * m[6] * m[13] + m[4] * m[1] * m[14] - m[4] * m[2] * m[13] - m[12] * m[1] * m[6]
            + m[12] * m[2] * m[5]
        inv[3] =
            -m[1] * m[6] * m[11] + m[1] * m[7] * m[10] + m[5] * m[2] * m[11] - m[5] * m[3] * m[10] - m[9] * m[2] * m[7]
            + m[9] * m[3] * m[6]
        inv[7] =
            m[0] * m[6] * m[11] - m[0] * m[7] * m[10] - m[4] * m[2] * m[11] + m[4] * m[3] * m[10] + m[8] * m[2] * m[7]
            - m[8] * m[3] * m[6]
        inv[11] =
            -m[0] * m[5] * m[11] + m[0] * m[7] * m[9] + m[4] * m[1] * m[11] - m[4] * m[3] * m[9] - m[8] * m[1] * m[7]
            + m[8] * m[3] * m[5]
        inv[15] =
            m[0] * m[5] * m[10] - m[0] * m[6] * m[9] - m[4] * m[1] * m[10] + m[4] * m[2] * m[9] + m[8] * m[1] * m[6]
            - m[8] * m[2] * m[5]
        let det = m[0] * inv[0] + m[1] * inv[4] + m[2] * inv[8] + m[3] * inv[12]
        guard det != 0, det.isFinite else { return nil }
        let s = 1 / det
        return DMatrix(
            c: (
                SIMD4(inv[0], inv[1], inv[2], inv[3]) * s, SIMD4(inv[4], inv[5], inv[6], inv[7]) * s,
                SIMD4(inv[8], inv[9], inv[10], inv[11]) * s, SIMD4(inv[12], inv[13], inv[14], inv[15]) * s
            ))
    }

    var matrix4: Matrix4 {
        Matrix4(columns: SIMD4<Float>(c.0), SIMD4<Float>(c.1), SIMD4<Float>(c.2), SIMD4<Float>(c.3))
    }

    /// Translation, rotation and scale (a negative determinant flips x); shear is dropped. Nil when not finite or
    /// when an axis has no length.
    var decomposed: (translation: SIMD3<Float>, rotation: SIMD4<Float>, scale: SIMD3<Float>)? {
        guard [c.0, c.1, c.2, c.3].allSatisfy({ ($0 * 0).sum() == 0 }) else { return nil }  // NaN unless all finite
        var x = SIMD3(c.0.x, c.0.y, c.0.z)
        var y = SIMD3(c.1.x, c.1.y, c.1.z)
        var z = SIMD3(c.2.x, c.2.y, c.2.z)
        var s = SIMD3(length(x), length(y), length(z))
        if upper3x3Determinant < 0 { s.x = -s.x }
        guard s.x != 0, s.y != 0, s.z != 0 else { return nil }
        x /= s.x
        y /= s.y
        z /= s.z
        let q = SIMD4<Float>(rotationQuaternion(columns: x, y, z) ?? SIMD4(0, 0, 0, 1))
        let (translation, scale) = (SIMD3<Float>(SIMD3(c.3.x, c.3.y, c.3.z)), SIMD3<Float>(s))
        // Finite doubles beyond Float's range become infinite.
        guard (translation * 0).sum() == 0, (scale * 0).sum() == 0, (q * 0).sum() == 0 else { return nil }
        return (translation, q, scale)
    }

    /// TRS when the matrix decomposes without shear (checked by recomposing), else the raw matrix.
    var transform: Transform {
        if self == .identity { return .identity }
        let all = values
        guard all.allSatisfy(\.isFinite) else { return .identity }
        guard let (t, q, s) = decomposed else { return .matrix(matrix4) }
        let recomposed = Matrix4(translation: t, rotation: q, scale: s)
        let magnitude = all.reduce(1) { max($0, abs($1)) }
        let matches = zip(matrix4.columnMajor, recomposed.columnMajor).allSatisfy {
            abs(Double($0 - $1)) <= 1e-4 * magnitude
        }
        return matches ? .trs(translation: t, rotation: q, scale: s) : .matrix(matrix4)
    }
}

extension DMatrix {
    /// From 16 values as FBX stores a matrix (translation in the 13th to 15th: glTF's column-major order).
    init?(fbx values: [Double]) {
        guard values.count == 16, values.allSatisfy(\.isFinite) else { return nil }
        c = (SIMD4(values[0..<4]), SIMD4(values[4..<8]), SIMD4(values[8..<12]), SIMD4(values[12..<16]))
    }

    /// The 16 values in column-major order.
    var values: [Double] { [c.0, c.1, c.2, c.3].flatMap { [$0.x, $0.y, $0.z, $0.w] } }

    init(_ m: Matrix4) {
        c = (SIMD4(m.c0), SIMD4(m.c1), SIMD4(m.c2), SIMD4(m.c3))
    }
}
