import FBXImporter
import Foundation
import Scene
import TestSupport
import Testing

/// Deterministic mutations of generated binary and ASCII FBX through the native reader: each run either reads a
/// scene or throws `ProcessingError` / `FBXUnsupported`; a crash or trap would end the test process.
@Suite struct FBXFuzzTests {
    private struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    private static func seeds() -> [(String, [UInt8])] {
        let layered = cubeDocument(
            modelProperties: [prop("RotationPivot", "Vector3D", [0.5, 0.5, 0.5])],
            globals: [prop("UpAxis", "int", [2])])
        return [
            ("binary-7400", [UInt8](binaryFBX(cubeDocument()))),
            ("binary-7500-zlib", [UInt8](binaryFBX(cubeDocument(version: 7500), version: 7500, compress: true))),
            ("binary-6100", [UInt8](binaryFBX(layered, version: 6100, compress: true))),
            ("ascii", Array(asciiFBX(cubeDocument()).utf8)),
            ("ascii-layered", Array(asciiFBX(layered).utf8))
        ]
    }

    private static func mutate(_ seed: [UInt8], _ rng: inout SplitMix, ascii: Bool) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + rng.below(4)) {
            guard !bytes.isEmpty else { break }
            let at = rng.below(bytes.count)
            switch rng.below(6) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: bytes[at] ^= UInt8(1 << rng.below(8))
            case 2:  // a 32-bit count or offset turned huge, negative or zero
                let values: [UInt32] = [
                    0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, UInt32(truncatingIfNeeded: rng.next())
                ]
                let v = values[rng.below(values.count)]
                for k in 0..<4 where at + k < bytes.count {
                    bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))
                }
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(16)))
            case 4:
                let tokens: [String] =
                    ascii ? ["{", "}", ",", "\"", "*99999999", "-", ":", "a:", "1e999", ";"] : ["\u{0}", "\u{FF}"]
                bytes.insert(contentsOf: Array(tokens[rng.below(tokens.count)].utf8), at: at)
            default: bytes.removeLast(rng.below(min(bytes.count, 64)) + 1)
            }
        }
        return bytes
    }

    @Test func mutatedFilesNeverCrash() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var rng = SplitMix(state: 17)
        var outcomes: [String: Int] = ["read": 0, "badInput": 0, "unsupported": 0]
        let runsPerSeed = 640
        for (name, seed) in Self.seeds() {
            for run in 0..<runsPerSeed {
                let data = Self.mutate(seed, &rng, ascii: name.hasPrefix("ascii"))
                let url = try folder.write("\(name)-\(run % 8).fbx", Data(data))
                do {
                    let scene = try importFBX(from: url, threads: 2)
                    // Whatever is read is a consistent scene.
                    for primitive in scene.meshes.flatMap(\.primitives) {
                        #expect(primitive.indices.allSatisfy { Int($0) < primitive.vertexCount })
                    }
                    outcomes["read", default: 0] += 1
                } catch let error as ProcessingError {
                    #expect(!error.description.contains("\n"))
                    outcomes[error.kind == .badInput ? "badInput" : "\(error.kind)", default: 0] += 1
                } catch is FBXUnsupported {
                    outcomes["unsupported", default: 0] += 1
                }
            }
        }
        let total = outcomes.values.reduce(0, +)
        #expect(total == runsPerSeed * 5)
        #expect(outcomes["badInput", default: 0] > 0 && outcomes["read", default: 0] > 0)
        // Bounded memory: the whole run stays far below what a lying count would allocate.
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #expect(usage.ru_maxrss < 1_000_000, "peak RSS \(usage.ru_maxrss) KiB")
        print("FBX fuzz: \(total) runs: \(outcomes.sorted { $0.key < $1.key }), peak RSS \(usage.ru_maxrss / 1024) MiB")
    }
}
