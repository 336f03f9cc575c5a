import FoundationEssentials
import Scene

#if canImport(Glibc)
    import Glibc
#endif

/// FBX cameras and lights: a `NodeAttribute` (7.x) of class Camera or Light under a Model, or (6.x and older) a
/// Model of that class carrying the properties itself. Each becomes a glTF camera or `KHR_lights_punctual` light on
/// a child node of its Model that turns glTF's −Z view axis onto FBX's: +X (up +Y) for cameras, −Y for lights
/// (point lights sit on the Model's node itself). The same values as the Assimp route: FBX `FieldOfView` (else
/// `FocalLength` and `FilmWidth`) and `AspectWidth`/`AspectHeight`; light `Color` × `Intensity` / 100, full cone
/// angles halved; area and volume lights are dropped with a warning.
extension FBXSceneBuilder {
    mutating func readCamerasAndLights(modelNodes: [(FBXKey, Int)]) {
        for (modelKey, nodeIndex) in modelNodes {
            guard let model = objects[modelKey] else { continue }
            let attribute =
                children(of: modelKey, kind: "NodeAttribute").first { ["Camera", "Light"].contains($0.1.subclass) }?.1
                ?? (["Camera", "Light"].contains(model.subclass) ? model : nil)
            guard let attribute else { continue }
            let props = properties(attribute)
            if attribute.subclass == "Camera" {
                scene.cameras.append(camera(props, name: model.name))
                let holder = attach(
                    to: nodeIndex, suffix: "camera",
                    rotation: SIMD4(0, -Float(0.5).squareRoot(), 0, Float(0.5).squareRoot()))
                scene.nodes[holder].camera = scene.cameras.count - 1
            } else if let light = light(props, name: model.name) {
                scene.lights.append(light)
                // A point light shines every way: it sits on its Model's node (the Assimp route's layout too).
                let holder =
                    light.kind == .point
                    ? nodeIndex
                    : attach(
                        to: nodeIndex, suffix: "light",
                        rotation: SIMD4(-Float(0.5).squareRoot(), 0, 0, Float(0.5).squareRoot()))
                scene.nodes[holder].light = scene.lights.count - 1
            }
        }
    }

    /// Every value is kept where glTF allows it (hostile files included): aspect in [1e-4, 1e4], 0 < znear < zfar,
    /// finite magnifications, 0 < yfov < π.
    private func camera(_ p: [String: [FBXValue]], name: String) -> Camera {
        func positive(_ key: String, _ range: ClosedRange<Double> = 1e-6...1e30) -> Double? {
            p.double(key).flatMap { $0 > 0 && $0.isFinite ? min(max($0, range.lowerBound), range.upperBound) : nil }
        }
        let ratio =
            positive("AspectWidth").flatMap { w in positive("AspectHeight").map { w / $0 } }
            ?? positive("FilmWidth").flatMap { w in positive("FilmHeight").map { w / $0 } }
        let aspect = ratio.map { min(max($0, 1e-4), 1e4) }
        let znear = Float(positive("NearPlane") ?? 0.01)
        let zfar = positive("FarPlane").map { Float($0) }.flatMap { $0 > znear ? $0 : nil }
        if p.int("CameraProjectionType") == 1 {
            let xmag = positive("OrthoZoom") ?? 1
            return .orthographic(
                name: name, xmag: Float(xmag), ymag: Float(xmag / (aspect ?? 1)), znear: znear,
                zfar: zfar ?? max(znear * 2, znear + 1000))
        }
        // Half the horizontal field of view: `FieldOfView` in degrees, else from the film and the focal length.
        let halfX: Double
        if let fov = positive("FieldOfView") {
            halfX = fov * .pi / 360
        } else {
            halfX = atan2((positive("FilmWidth") ?? 1.417) * 25.4 * 0.5, positive("FocalLength") ?? 35)
        }
        let clamped = min(max(halfX, 0.001), .pi / 2 - 0.001)
        let yfov = min(max(2 * atan(tan(clamped) / (aspect ?? 1)), 0.001), .pi - 0.001)
        return .perspective(
            name: name, yfov: Float(yfov), aspectRatio: aspect.map { Float($0) }, znear: znear, zfar: zfar)
    }

    private mutating func light(_ p: [String: [FBXValue]], name: String) -> Light? {
        let kind: Light.Kind
        switch p.int("LightType") ?? 0 {
        case 0: kind = .point
        case 1: kind = .directional
        case 2: kind = .spot
        default:
            warn("light '\(name)' is an area or volume light, which glTF cannot express; it was dropped")
            return nil
        }
        var light = Light(name: name, kind: kind)
        let scale = (p.double("Intensity") ?? 100) / 100
        let rgb = (p.vector("Color") ?? .one) * (scale.isFinite ? scale : 1)
        func channel(_ x: Double) -> Float { x.isFinite ? Float(min(max(x, 0), 1e30)) : 0 }
        let color = SIMD3<Float>(channel(rgb.x), channel(rgb.y), channel(rgb.z))
        let intensity = max(color.x, color.y, color.z)
        light.intensity = intensity
        light.color = intensity > 0 ? color / intensity : .one
        if kind == .spot {
            let outer = Float((p.double("OuterAngle") ?? 45) * .pi / 360)
            light.outerConeAngle = outer.isFinite ? min(max(outer, 0.001), .pi / 2) : .pi / 4
            let inner = Float((p.double("InnerAngle") ?? 0) * .pi / 360)
            light.innerConeAngle = inner.isFinite ? min(max(inner, 0), light.outerConeAngle * 0.999) : 0
        }
        return light
    }

    /// A new child of `node` turned by `rotation`, named after it (as the Assimp route names its holders).
    private mutating func attach(to node: Int, suffix: String, rotation: SIMD4<Float>) -> Int {
        var child = Node(name: scene.nodes[node].name + "." + suffix)
        child.transform = .trs(translation: .zero, rotation: rotation, scale: .one)
        scene.nodes.append(child)
        scene.nodes[node].children.append(scene.nodes.count - 1)
        return scene.nodes.count - 1
    }
}
