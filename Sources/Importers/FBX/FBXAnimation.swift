import FoundationEssentials
import Scene

/// FBX 7.x animation: each `AnimationStack` becomes one glTF animation, from its first `AnimationLayer` (layers
/// blend in ways glTF has no counterpart for; the others are dropped with a warning). Its `AnimationCurveNode`s drive
/// a Model's `Lcl Translation`, `Lcl Rotation` or `Lcl Scaling`, or a blend shape channel's `DeformPercent`, one
/// `AnimationCurve` per component (`d|X`, …; a missing one holds the curve node's value).
///
/// A node's curves are evaluated at the union of their key times (linearly between keys, held outside them; more
/// samples where a rotation turns more than 90° between keys), its whole FBX transform chain (pivots, pre/post
/// rotation, rotation order) recomposed at each key and decomposed into translation, rotation and scale channels; a
/// mesh's animated channels become one weights channel on each node drawing it. Times start at the stack's
/// `LocalStart` (or its first key, if earlier). A file asking for more than `maxAnimationSamples` samples in all is
/// refused as bad input (a small file can hold many keys: arrays inflate up to 1,000 times).
extension FBXSceneBuilder {
    static let maxAnimationSamples = 20_000_000

    mutating func readAnimations(
        modelNodes: [(FBXKey, Int)], nodeOfModel: [FBXKey: Int], morphChannels: [FBXKey: [(mesh: Int, target: Int)]]
    ) throws {
        let modelOfNode = Dictionary(modelNodes.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var nodesOfMesh: [Int: [Int]] = [:]
        for (node, n) in scene.nodes.enumerated() {
            if let mesh = n.mesh { nodesOfMesh[mesh, default: []].append(node) }
        }
        var animated = Set<Int>()
        var samples = 0
        for stackKey in objectOrder where objects[stackKey]?.kind == "AnimationStack" {
            let stack = objects[stackKey]!
            let layers = children(of: stackKey, kind: "AnimationLayer")
            guard let layer = layers.first else { continue }
            if layers.count > 1 {
                warn("animation '\(stack.name)': only the first of its \(layers.count) layers was converted")
            }
            // Per node its animated transform properties; per mesh its animated morph targets.
            var nodeCurves: [Int: [String: FBXCurveSet]] = [:]
            var meshCurves: [Int: [Int: FBXCurve]] = [:]
            for (curveNodeKey, curveNode, _) in children(of: layer.0, kind: "AnimationCurveNode") {
                let set = try curveSet(curveNodeKey, curveNode)
                guard !set.curves.allSatisfy({ $0 == nil }) else { continue }
                for connection in parentsOf[curveNodeKey] ?? [] {
                    guard let property = connection.property else { continue }
                    if let node = nodeOfModel[connection.parent],
                        ["Lcl Translation", "Lcl Rotation", "Lcl Scaling"].contains(property)
                    {
                        nodeCurves[node, default: [:]][property] = set
                    } else if property == "DeformPercent", let targets = morphChannels[connection.parent],
                        let curve = set.curves.compactMap({ $0 }).first
                    {
                        for (mesh, target) in targets { meshCurves[mesh, default: [:]][target] = curve }
                    } else {
                        warn("animation of '\(property)' is not converted; dropped")
                    }
                }
            }
            let allCurves =
                nodeCurves.values.flatMap { $0.values.flatMap { $0.curves.compactMap { $0 } } }
                + meshCurves.values.flatMap(\.values)
            guard let firstKey = allCurves.compactMap(\.times.first).min() else { continue }
            let origin = min(properties(stack).int("LocalStart").map(Int64.init) ?? firstKey, firstKey)

            var animation = Animation(name: stack.name)
            func count(_ channels: [Animation.Channel]) throws {
                samples += channels.reduce(0) { $0 + $1.times.count }
                guard samples <= Self.maxAnimationSamples else {
                    throw doc.badInput("animation has more than \(Self.maxAnimationSamples) samples")
                }
            }
            for (node, curves) in nodeCurves.sorted(by: { $0.key < $1.key }) {
                guard let model = modelOfNode[node].flatMap({ objects[$0] }) else { continue }
                let channels = transformChannels(node, properties(model), curves, origin: origin)
                try count(channels)
                animation.channels += channels
                animated.insert(node)
                // glTF animates decomposed transforms only: a rest matrix becomes TRS, its first sample's if it
                // does not decompose.
                if case .matrix(let m) = scene.nodes[node].transform, channels.count == 3 {
                    let v = channels.map(\.values)
                    scene.nodes[node].transform =
                        DMatrix(m).decomposed.map { .trs(translation: $0, rotation: $1, scale: $2) }
                        ?? .trs(
                            translation: SIMD3(v[0][0..<3]), rotation: SIMD4(v[1][0..<4]), scale: SIMD3(v[2][0..<3]))
                }
            }
            for (mesh, curves) in meshCurves.sorted(by: { $0.key < $1.key }) {
                let channel = weightsChannel(scene.meshes[mesh].weights, curves, origin: origin)
                for node in nodesOfMesh[mesh] ?? [] {
                    var c = channel
                    c.node = node
                    try count([c])
                    animation.channels.append(c)
                }
            }
            if !animation.channels.isEmpty { scene.animations.append(animation) }
        }
    }

    /// The curves of one curve node, per component, and the node's own values for components without one.
    private func curveSet(_ key: FBXKey, _ curveNode: FBXObject) throws -> FBXCurveSet {
        let props = properties(curveNode)
        var set = FBXCurveSet()
        for (_, curve, property) in children(of: key, kind: "AnimationCurve") {
            let component: Int
            switch property {
            case "d|X", "d|DeformPercent": component = 0
            case "d|Y": component = 1
            case "d|Z": component = 2
            default: continue
            }
            set.curves[component] = try self.curve(curve)
        }
        for (i, name) in ["d|X", "d|Y", "d|Z"].enumerated() { set.values[i] = props.double(name) }
        return set
    }

    /// A curve's keys sorted by time (ties keep the last); nil without keys.
    private func curve(_ object: FBXObject) throws -> FBXCurve? {
        guard let timeNode = doc.child(object.node, "KeyTime"), let valueNode = doc.child(object.node, "KeyValueFloat")
        else { return nil }
        let times: [Int64] = try doc.array(timeNode)
        let values: [Float] = try doc.array(valueNode)
        var keys = zip(times, values).enumerated().filter { $0.element.1.isFinite }.map {
            (time: $0.element.0, order: $0.offset, value: $0.element.1)
        }
        keys.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        var curve = FBXCurve()
        for key in keys {
            if curve.times.last == key.time {
                curve.values[curve.values.count - 1] = key.value
            } else {
                curve.times.append(key.time)
                curve.values.append(key.value)
            }
        }
        return curve.times.isEmpty ? nil : curve
    }

    /// Translation, rotation and scale channels of `node` sampled at the union of its curves' keys.
    private func transformChannels(
        _ node: Int, _ props: [String: [FBXValue]], _ curves: [String: FBXCurveSet], origin: Int64
    ) -> [Animation.Channel] {
        func sample(_ name: String, _ fallback: SIMD3<Double>, _ tick: Int64) -> SIMD3<Double>? {
            guard let set = curves[name] else { return nil }
            let rest = props.vector(name) ?? fallback
            return SIMD3((0..<3).map { set.value($0, at: tick) ?? rest[$0] })
        }
        // Between keys whose Euler angles differ by more than 90°, extra samples (one per 90°): a quaternion
        // interpolates the short way round, the Euler curve maybe not.
        var ticks: [Int64] = []
        var lastRotation: SIMD3<Double>?
        for tick in keyTimes(curves.values.flatMap { $0.curves.compactMap { $0 } }) {
            let rotation = sample("Lcl Rotation", .zero, tick)
            defer { lastRotation = rotation }
            if let last = ticks.last, let a = lastRotation, let b = rotation {
                let d: SIMD3<Double> = b - a
                let turn = max(d.max(), -d.min()) / 90
                let steps = turn.isFinite ? Int(min(turn, 16).rounded(.up)) : 1
                let (from, span) = (Double(last), Double(tick) - Double(last))
                for k in stride(from: 1, to: steps, by: 1) {
                    let t = from + span * Double(k) / Double(steps)
                    let clamped = min(max(t, from), Double(tick))
                    if abs(clamped) < 9.2e18 { ticks.append(Int64(clamped)) }
                }
            }
            ticks.append(tick)
        }
        var channels = [Animation.Path.translation, .rotation, .scale].map { Animation.Channel(node: node, path: $0) }
        var previousTime = -Float.infinity
        var previousRotation = SIMD4<Float>(0, 0, 0, 1)
        for tick in ticks {
            let time = seconds(tick, origin)
            guard time > previousTime else { continue }
            let (matrix, _) = localTransform(
                props, translation: sample("Lcl Translation", .zero, tick),
                rotation: sample("Lcl Rotation", .zero, tick), scaling: sample("Lcl Scaling", .one, tick),
                undoingParentScale: parentScaleUndo[node])
            guard let (t, rotation, s) = matrix.decomposed else { continue }
            var r = rotation
            if dot(r, previousRotation) < 0 { r = -r }  // the short way round between keys
            previousRotation = r
            previousTime = time
            for i in channels.indices { channels[i].times.append(time) }
            channels[0].values += [t.x, t.y, t.z]
            channels[1].values += [r.x, r.y, r.z, r.w]
            channels[2].values += [s.x, s.y, s.z]
        }
        return channels.first?.times.isEmpty == false ? channels : []
    }

    /// A weights channel (node set by the caller): every target's weight at the union of the animated ones' keys.
    private func weightsChannel(_ defaults: [Float], _ curves: [Int: FBXCurve], origin: Int64) -> Animation.Channel {
        var channel = Animation.Channel(node: 0, path: .weights)
        var previousTime = -Float.infinity
        for tick in keyTimes(Array(curves.values)) {
            let time = seconds(tick, origin)
            guard time > previousTime else { continue }
            previousTime = time
            channel.times.append(time)
            for (target, weight) in defaults.enumerated() {
                let percent = curves[target]?.value(at: tick).map { min(max($0, -1e4), 1e4) / 100 }
                channel.values.append(percent ?? weight)
            }
        }
        return channel
    }

    private func keyTimes(_ curves: [FBXCurve]) -> [Int64] {
        Array(Set(curves.flatMap(\.times))).sorted()
    }

    /// FBX time (46,186,158,000 ticks per second) after `origin`, in seconds.
    private func seconds(_ tick: Int64, _ origin: Int64) -> Float {
        Float((Double(tick) - Double(origin)) / 46_186_158_000)
    }
}

/// One animation curve: key times (FBX ticks, increasing) and values.
struct FBXCurve {
    var times: [Int64] = []
    var values: [Float] = []

    /// The value at `tick`: linear between keys, the first or last key's outside them.
    func value(at tick: Int64) -> Float? {
        guard let first = times.first, let last = times.last else { return nil }
        if tick <= first { return values[0] }
        if tick >= last { return values[values.count - 1] }
        var (lo, hi) = (0, times.count - 1)  // times[lo] < tick < times[hi]
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if times[mid] <= tick { lo = mid } else { hi = mid }
        }
        let span = Double(times[hi]) - Double(times[lo])
        guard span > 0 else { return values[lo] }
        let f = (Double(tick) - Double(times[lo])) / span
        let value = Float(Double(values[lo]) + f * (Double(values[hi]) - Double(values[lo])))
        return value.isFinite ? value : values[lo]
    }
}

/// The curves of one curve node (x, y, z) and its own values where a component has no curve.
struct FBXCurveSet {
    var curves: [FBXCurve?] = [nil, nil, nil]
    var values: [Double?] = [nil, nil, nil]

    func value(_ component: Int, at tick: Int64) -> Double? {
        curves[component]?.value(at: tick).map(Double.init) ?? values[component]
    }
}
