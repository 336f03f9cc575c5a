import Scene

/// One property value of an FBX node, as the binary and ASCII formats both carry them.
enum FBXValue: Sendable {
    case integer(Int64)
    case number(Double)
    case string(String)
    case bytes([UInt8])
    case numbers([Double])
    case integers([Int64])

    var int: Int64? {
        switch self {
        case .integer(let v): return v
        case .number(let v): return v.isFinite && abs(v) < 9.2e18 ? Int64(v) : nil
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .number(let v): return v
        default: return nil
        }
    }

    var text: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// One node of the FBX tree: a name, its properties and its children (indices into `FBXDocument.nodes`).
struct FBXNode: Sendable {
    var name: String
    var values: [FBXValue] = []
    var children: [Int] = []
}

/// The whole file as one node tree, whichever encoding it came in.
struct FBXDocument: Sendable {
    var nodes: [FBXNode] = []
    var roots: [Int] = []
    /// The FBX version (7400 = 7.4), from the binary header or `FBXHeaderVersion`/`FBXVersion`.
    var version: Int = 0
    let file: String

    init(file: String) { self.file = file }

    subscript(index: Int) -> FBXNode { nodes[index] }

    /// The first child of `parent` (or the first root when nil) with `name`.
    func child(_ parent: Int?, _ name: String) -> Int? {
        let list = parent.map { nodes[$0].children } ?? roots
        return list.first { nodes[$0].name == name }
    }

    /// All children of `parent` with `name`.
    func children(_ parent: Int, _ name: String) -> [Int] {
        nodes[parent].children.filter { nodes[$0].name == name }
    }

    /// The first value of child `name` of `parent`.
    func value(_ parent: Int, _ name: String) -> FBXValue? {
        child(parent, name).flatMap { nodes[$0].values.first }
    }

    /// The numbers of child `name`: its array value, or (FBX 6 and ASCII) all its numeric values.
    func numbers(_ parent: Int, _ name: String) -> [Double] {
        guard let node = child(parent, name) else { return [] }
        return numbers(of: node)
    }

    func numbers(of node: Int) -> [Double] {
        let values = nodes[node].values
        if values.count == 1 {
            switch values[0] {
            case .numbers(let a): return a
            case .integers(let a): return a.map(Double.init)
            default: break
            }
        }
        return values.compactMap(\.double)
    }

    func integers(_ parent: Int, _ name: String) -> [Int64] {
        guard let node = child(parent, name) else { return [] }
        let values = nodes[node].values
        if values.count == 1 {
            switch values[0] {
            case .integers(let a): return a
            case .numbers(let a): return a.map { $0.isFinite && abs($0) < 9.2e18 ? Int64($0) : 0 }
            default: break
            }
        }
        return values.compactMap(\.int)
    }

    /// `Properties70` (`P: name, type, label, flags, values…`) or `Properties60` (`Property: name, type, flags,
    /// values…`) of an object, by property name.
    func properties(of object: Int) -> [String: [FBXValue]] {
        var result: [String: [FBXValue]] = [:]
        if let block = child(object, "Properties70") {
            for p in nodes[block].children where nodes[p].name == "P" {
                let values = nodes[p].values
                guard values.count >= 4, let name = values[0].text else { continue }
                result[name] = Array(values.dropFirst(4))
            }
        } else if let block = child(object, "Properties60") {
            for p in nodes[block].children where nodes[p].name == "Property" {
                let values = nodes[p].values
                guard values.count >= 3, let name = values[0].text else { continue }
                result[name] = Array(values.dropFirst(3))
            }
        }
        return result
    }

    func badInput(_ message: String) -> ProcessingError {
        ProcessingError(.badInput, file: file, message)
    }
}

/// Typed reads of a `properties(of:)` table.
extension [String: [FBXValue]] {
    func double(_ name: String) -> Double? { self[name]?.first?.double }
    func int(_ name: String) -> Int? { self[name]?.first?.int.map { Int(clamping: $0) } }
    func string(_ name: String) -> String? { self[name]?.first?.text }
    func vector(_ name: String) -> SIMD3<Double>? {
        guard let v = self[name], v.count >= 3, let x = v[0].double, let y = v[1].double, let z = v[2].double,
            x.isFinite, y.isFinite, z.isFinite
        else { return nil }
        return SIMD3(x, y, z)
    }
}
