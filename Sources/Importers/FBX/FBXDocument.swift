import ImportSupport
import Scene

/// One property value of an FBX node, as the binary and ASCII formats both carry them.
enum FBXValue: Sendable {
    case integer(Int64)
    case number(Double)
    case string(String)
    case bytes([UInt8])
    /// An array read from ASCII (or FBX 6 value lists).
    case numbers([Double])
    case integers([Int64])
    /// A binary array still in the file: decoded on request, into the type the reader asks for.
    case stored(FBXStoredArray)

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

/// A type FBX arrays decode into (the readers ask for the narrowest that holds what they need).
protocol FBXArrayElement: Sendable {
    init(fbxNumber: Double)
    init(fbxInteger: Int64)
}

extension Double: FBXArrayElement {
    init(fbxNumber: Double) { self = fbxNumber }
    init(fbxInteger: Int64) { self = Double(fbxInteger) }
}

extension Float: FBXArrayElement {
    init(fbxNumber: Double) { self = Float(fbxNumber) }
    init(fbxInteger: Int64) { self = Float(fbxInteger) }
}

extension Int64: FBXArrayElement {
    init(fbxNumber: Double) { self = fbxNumber.isFinite && abs(fbxNumber) < 9.2e18 ? Int64(fbxNumber) : 0 }
    init(fbxInteger: Int64) { self = fbxInteger }
}

extension Int32: FBXArrayElement {
    /// Out-of-range values clamp, so they stay out of range for every index check.
    init(fbxNumber: Double) { self = Int32(clamping: Int64(fbxNumber: fbxNumber)) }
    init(fbxInteger: Int64) { self = Int32(clamping: fbxInteger) }
}

/// The whole file as one node tree, whichever encoding it came in.
struct FBXDocument: Sendable {
    var nodes: [FBXNode] = []
    var roots: [Int] = []
    /// The FBX version (7400 = 7.4), from the binary header or `FBXHeaderVersion`/`FBXVersion`.
    var version: Int = 0
    let file: String
    /// The mapped binary file that `.stored` arrays point into (nil for ASCII).
    var storage: MappedFile?

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

    /// Fills `out`, which has room for exactly `arrayCount(of: node)` elements, with `node`'s array value (or all its
    /// numeric values) as `T`; a stored array is decoded straight into it and one that does not inflate throws.
    func fill<T: FBXArrayElement>(_ node: Int, into out: UnsafeMutableBufferPointer<T>) throws {
        let values = nodes[node].values
        if values.count == 1 {
            switch values[0] {
            case .stored(let a):
                guard let storage, a.decode(storage, into: out) else { throw corruptArray(node) }
                return
            case .numbers(let a):
                _ = out.initialize(from: a.lazy.map(T.init(fbxNumber:)))
                return
            case .integers(let a):
                _ = out.initialize(from: a.lazy.map(T.init(fbxInteger:)))
                return
            default: break
            }
        }
        _ = out.initialize(
            from: values.lazy.compactMap { value -> T? in
                switch value {
                case .integer(let v): return T(fbxInteger: v)
                case .number(let v): return T(fbxNumber: v)
                default: return nil
                }
            })
    }

    /// `node`'s array as `[T]`: for the small arrays read one at a time (deformers, animation curves).
    func array<T: FBXArrayElement>(_ node: Int, as _: T.Type = T.self) throws -> [T] {
        var result = [T](repeating: T(fbxInteger: 0), count: arrayCount(of: node))
        try result.withUnsafeMutableBufferPointer { try fill(node, into: $0) }
        return result
    }

    /// How many elements `node`'s array value (or numeric value list) has, without decoding it.
    func arrayCount(of node: Int) -> Int {
        let values = nodes[node].values
        if values.count == 1 {
            switch values[0] {
            case .numbers(let a): return a.count
            case .integers(let a): return a.count
            case .stored(let a): return a.count
            default: break
            }
        }
        return values.count { $0.double != nil }
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

    /// A reader of `node`'s array when it is a binary array still in the file (nil otherwise).
    func arrayReader(_ node: Int) throws -> FBXArrayReader? {
        guard let storage, nodes[node].values.count == 1, case .stored(let a) = nodes[node].values[0] else {
            return nil
        }
        guard let reader = FBXArrayReader(a, storage) else { throw corruptArray(node) }
        return reader
    }

    func corruptArray(_ node: Int) -> ProcessingError {
        badInput("corrupt binary FBX: compressed array of '\(nodes[node].name)' does not inflate")
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
