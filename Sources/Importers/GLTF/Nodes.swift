import FoundationEssentials
import Scene

extension GLTFReader {
    mutating func readCameras() throws {
        for (c, value) in items("cameras").enumerated() {
            guard let json = object(value) else { throw bad("camera \(c) is not an object") }
            let name = string(json["name"]) ?? ""
            if string(json["type"]) == "orthographic" {
                let o = object(json["orthographic"]) ?? [:]
                scene.cameras.append(
                    .orthographic(
                        name: name, xmag: float(o["xmag"]) ?? 1, ymag: float(o["ymag"]) ?? 1,
                        znear: float(o["znear"]) ?? 0, zfar: float(o["zfar"]) ?? 100))
            } else {
                let p = object(json["perspective"]) ?? [:]
                scene.cameras.append(
                    .perspective(
                        name: name, yfov: float(p["yfov"]) ?? 0.8, aspectRatio: float(p["aspectRatio"]),
                        znear: float(p["znear"]) ?? 0.01, zfar: float(p["zfar"])))
            }
        }
    }

    mutating func readLights() throws {
        let lights = array(object(object(root["extensions"])?["KHR_lights_punctual"])?["lights"]) ?? []
        for (l, value) in lights.enumerated() {
            guard let json = object(value), let kind = Light.Kind(rawValue: string(json["type"]) ?? "") else {
                throw bad("light \(l): type must be directional, point or spot")
            }
            var light = Light(name: string(json["name"]) ?? "", kind: kind)
            if let c = floats(json["color"], count: 3) { light.color = SIMD3(c[0], c[1], c[2]) }
            light.intensity = float(json["intensity"]) ?? 1
            light.range = float(json["range"])
            if let spot = object(json["spot"]) {
                light.innerConeAngle = float(spot["innerConeAngle"]) ?? 0
                light.outerConeAngle = float(spot["outerConeAngle"]) ?? .pi / 4
            }
            scene.lights.append(light)
        }
    }

    /// Nodes and the default scene's roots. Each node may have one parent and the graph must be a forest: checked
    /// without recursion (Kahn's algorithm), so a 100,000-level hierarchy is fine and a cycle is an error.
    mutating func readNodes() throws {
        let all = items("nodes")
        var parents = [Int](repeating: -1, count: all.count)
        for (i, value) in all.enumerated() {
            guard let json = object(value) else { throw bad("node \(i) is not an object") }
            var node = Node(name: string(json["name"]) ?? "")
            for childValue in array(json["children"]) ?? [] {
                guard let child = index(childValue), child < all.count else {
                    throw bad("node \(i): child does not exist")
                }
                guard parents[child] == -1 else {
                    throw bad(
                        "node \(child) has two parents (nodes \(parents[child]) and \(i)); a node graph must be a tree")
                }
                parents[child] = i
                node.children.append(child)
            }
            if let m = floats(json["matrix"], count: 16) {
                node.transform = .matrix(Matrix4(m))
            } else {
                let t = floats(json["translation"], count: 3) ?? [0, 0, 0]
                let r = floats(json["rotation"], count: 4) ?? [0, 0, 0, 1]
                let s = floats(json["scale"], count: 3) ?? [1, 1, 1]
                node.transform = .trs(
                    translation: SIMD3(t[0], t[1], t[2]), rotation: SIMD4(r[0], r[1], r[2], r[3]),
                    scale: SIMD3(s[0], s[1], s[2]))
            }
            func reference(_ key: String, _ count: Int) throws -> Int? {
                guard let value = json[key] else { return nil }
                guard let r = index(value), r < count else { throw bad("node \(i): \(key) does not exist") }
                return r
            }
            node.mesh = try reference("mesh", scene.meshes.count)
            node.skin = try reference("skin", items("skins").count)
            node.camera = try reference("camera", scene.cameras.count)
            let extensions = object(json["extensions"]) ?? [:]
            if let light = object(extensions["KHR_lights_punctual"])?["light"] {
                guard let l = index(light), l < scene.lights.count else { throw bad("node \(i): light does not exist") }
                node.light = l
            }
            if let instancing = object(object(extensions["EXT_mesh_gpu_instancing"])?["attributes"]), node.mesh != nil {
                node.instances = try readInstances(instancing, place: "node \(i)")
            }
            node.extras = json["extras"].map { extensionValue($0) }
            scene.nodes.append(node)
        }
        // With one parent at most, the graph is a forest exactly when every node is reached from the parentless ones.
        var stack = parents.indices.filter { parents[$0] == -1 }
        var reached = 0
        while let n = stack.popLast() {
            reached += 1
            stack += scene.nodes[n].children
        }
        guard reached == all.count else { throw bad("the node hierarchy contains a cycle") }

        let scenes = items("scenes")
        if scenes.isEmpty {
            scene.roots = parents.indices.filter { parents[$0] == -1 }
        } else {
            let chosen = root["scene"].map { index($0) ?? -1 } ?? 0
            guard let json = item("scenes", chosen) else { throw bad("scene \(chosen) does not exist") }
            var listedChildren = 0
            for value in array(json["nodes"]) ?? [] {
                guard let n = index(value), n < all.count else { throw bad("scene \(chosen): node does not exist") }
                guard !scene.roots.contains(n) else { throw bad("scene \(chosen) lists node \(n) twice") }
                if parents[n] != -1 {
                    // Invalid, but written by some exporters: like three.js, the node becomes a root of its own.
                    scene.nodes[parents[n]].children.removeAll { $0 == n }
                    parents[n] = -1
                    listedChildren += 1
                }
                scene.roots.append(n)
            }
            if listedChildren > 0 {
                warnings.append(
                    "scene \(chosen) lists \(listedChildren) node(s) that are children of other nodes; "
                        + "they were detached from their parents and drawn as roots")
            }
        }
    }

    /// `EXT_mesh_gpu_instancing` TRANSLATION/ROTATION/SCALE accessors, one transform per instance.
    mutating func readInstances(_ attributes: JSONObject, place: String) throws -> [InstanceTransform] {
        func read(_ name: String, _ components: Int) throws -> [Float]? {
            guard let value = attributes[name] else { return nil }
            guard let a = index(value) else { throw bad("\(place): instancing \(name) is not an accessor index") }
            return try readFloats(a, allowed: [components], what: "instance \(name)").values
        }
        let t = try read("TRANSLATION", 3)
        let r = try read("ROTATION", 4)
        let s = try read("SCALE", 3)
        let counts = [t.map { $0.count / 3 }, r.map { $0.count / 4 }, s.map { $0.count / 3 }].compactMap { $0 }
        guard let count = counts.first, counts.allSatisfy({ $0 == count }) else {
            throw bad("\(place): EXT_mesh_gpu_instancing attributes are missing or differ in count")
        }
        return (0..<count).map { i in
            InstanceTransform(
                translation: t.map { SIMD3($0[i * 3], $0[i * 3 + 1], $0[i * 3 + 2]) } ?? .zero,
                rotation: r.map { SIMD4($0[i * 4], $0[i * 4 + 1], $0[i * 4 + 2], $0[i * 4 + 3]) } ?? SIMD4(0, 0, 0, 1),
                scale: s.map { SIMD3($0[i * 3], $0[i * 3 + 1], $0[i * 3 + 2]) } ?? .one)
        }
    }

    mutating func readSkins() throws {
        for (s, value) in items("skins").enumerated() {
            guard let json = object(value) else { throw bad("skin \(s) is not an object") }
            var skin = Skin(name: string(json["name"]) ?? "")
            for jointValue in array(json["joints"]) ?? [] {
                guard let joint = index(jointValue), joint < scene.nodes.count else {
                    throw bad("skin \(s): joint does not exist")
                }
                skin.joints.append(joint)
            }
            guard !skin.joints.isEmpty else { throw bad("skin \(s) has no joints") }
            if let skeleton = json["skeleton"] {
                guard let node = index(skeleton), node < scene.nodes.count else {
                    throw bad("skin \(s): skeleton does not exist")
                }
                skin.skeleton = node
            }
            if let accessor = json["inverseBindMatrices"] {
                guard let a = index(accessor) else {
                    throw bad("skin \(s): inverseBindMatrices is not an accessor index")
                }
                let values = try readFloats(a, allowed: [16], what: "inverseBindMatrices", allowMatrix: true).values
                guard values.count >= skin.joints.count * 16 else {
                    throw bad("skin \(s): \(values.count / 16) inverse bind matrices for \(skin.joints.count) joints")
                }
                skin.inverseBindMatrices = (0..<skin.joints.count).map {
                    Matrix4(Array(values[$0 * 16..<$0 * 16 + 16]))
                }
            }
            scene.skins.append(skin)
        }
    }

    /// Channels with their keyframes; a channel the Scene cannot carry (another path, times not increasing) is
    /// dropped with a warning.
    mutating func readAnimations() throws {
        var dropped = 0
        for (a, value) in items("animations").enumerated() {
            guard let json = object(value) else { throw bad("animation \(a) is not an object") }
            var animation = Animation(name: string(json["name"]) ?? "")
            let samplers = array(json["samplers"]) ?? []
            for (c, channelValue) in (array(json["channels"]) ?? []).enumerated() {
                let place = "animation \(a) channel \(c)"
                guard let channelJSON = object(channelValue), let target = object(channelJSON["target"]),
                    let s = index(channelJSON["sampler"]), s < samplers.count, let sampler = object(samplers[s])
                else {
                    throw bad("\(place): sampler or target is missing")
                }
                guard let nodeValue = target["node"], let path = Animation.Path(rawValue: string(target["path"]) ?? "")
                else {
                    dropped += 1
                    continue
                }
                guard let node = index(nodeValue), node < scene.nodes.count else {
                    throw bad("\(place): node does not exist")
                }
                guard let input = index(sampler["input"]), let output = index(sampler["output"]) else {
                    throw bad("\(place): sampler input or output is missing")
                }
                var channel = Animation.Channel(node: node, path: path)
                channel.interpolation =
                    Animation.Interpolation(rawValue: string(sampler["interpolation"]) ?? "LINEAR") ?? .linear
                channel.times = try readFloats(input, allowed: [1], what: "animation input").values
                let components: Int
                switch path {
                case .translation, .scale: components = 3
                case .rotation: components = 4
                case .weights:
                    components =
                        scene.nodes[node].mesh.flatMap { scene.meshes[$0].primitives.first?.targets.count } ?? 0
                }
                channel.values = try readFloats(output, allowed: [1, 3, 4], what: "animation output").values
                let perTime = channel.interpolation == .cubicSpline ? 3 : 1
                let times = channel.times
                guard components > 0, !times.isEmpty, channel.values.count == times.count * perTime * components,
                    times.allSatisfy(\.isFinite), zip(times, times.dropFirst()).allSatisfy({ $0 < $1 })
                else {
                    dropped += 1
                    continue
                }
                animation.channels.append(channel)
            }
            scene.animations.append(animation)
        }
        if dropped > 0 {
            warnings.append(
                "\(dropped) animation channel(s) dropped: no target node, an unsupported path, times not "
                    + "strictly increasing or an output of the wrong size")
        }
    }
}
