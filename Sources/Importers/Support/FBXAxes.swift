import Scene

/// What an FBX file's GlobalSettings say about its axes and unit, as one glTF root transform. Both FBX routes use it:
/// the native reader, and the Assimp route (Assimp 5.2.5 passes the settings through as metadata without applying
/// them). The transform maps the file's right (CoordAxis), up (UpAxis) and front (FrontAxis) vectors, each with its
/// sign, to glTF's +X, +Y and +Z, scaled by UnitScaleFactor (centimeters per unit) ÷ 100; axes that are not
/// distinct count as the default Y-up system.
public struct FBXAxisConversion {
    /// The name of the root node that carries `transform`.
    public static let nodeName = "FBX axis and unit conversion"

    /// TRS when the axes make a rotation, else (a mirrored system) the matrix.
    public var transform: Transform
    /// Meters per file unit (also the factor for distances that node scale does not reach, such as clip planes).
    public var unit: Float

    /// nil when the conversion is the identity. `setting` reads one numeric GlobalSettings property.
    public init?(_ setting: (String) -> Double?) {
        func axis(_ key: String, _ signKey: String, default value: Int) -> SIMD3<Double> {
            let index = setting(key).flatMap { $0.isFinite && abs($0) < 1e9 ? Int($0) : nil } ?? value
            var v = SIMD3<Double>.zero
            v[(0...2).contains(index) ? index : value] = (setting(signKey) ?? 1) < 0 ? -1 : 1
            return v
        }
        var r = axis("CoordAxis", "CoordAxisSign", default: 0)
        var u = axis("UpAxis", "UpAxisSign", default: 1)
        var f = axis("FrontAxis", "FrontAxisSign", default: 2)
        if dot(r, u) != 0 || dot(u, f) != 0 || dot(r, f) != 0 {
            (r, u, f) = (SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1))
        }
        var scale = (setting("UnitScaleFactor") ?? 1) / 100
        if !(scale.isFinite && scale > 0) { scale = 0.01 }
        // Rows are the file's right, up and front axes: M·right = +X, M·up = +Y, M·front = +Z.
        let (c0, c1, c2) = (SIMD3(r.x, u.x, f.x), SIMD3(r.y, u.y, f.y), SIMD3(r.z, u.z, f.z))
        let identity = SIMD3<Double>(1, 0, 0) == c0 && SIMD3<Double>(0, 1, 0) == c1 && SIMD3<Double>(0, 0, 1) == c2
        guard !(identity && Float(scale) == 1) else { return nil }
        unit = Float(scale)
        if dot(r, cross(u, f)) > 0, let q = rotationQuaternion(columns: c0, c1, c2) {
            transform = .trs(translation: .zero, rotation: SIMD4<Float>(q), scale: SIMD3(repeating: unit))
        } else {
            let (a, b, c) = (SIMD3<Float>(c0 * scale), SIMD3<Float>(c1 * scale), SIMD3<Float>(c2 * scale))
            transform = .matrix(Matrix4(columns: SIMD4(a, 0), SIMD4(b, 0), SIMD4(c, 0), SIMD4(0, 0, 0, 1)))
        }
    }
}
