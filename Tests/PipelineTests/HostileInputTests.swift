import Foundation
import TestSupport
import Testing

@testable import Pipeline

/// Regression tests for every crasher class of issue 16 (hostile input): each input is generated here, or read from
/// ../shared/hostile when it is too large to write by hand (skipped when absent). Every run must end in a success or
/// one clean error line (exit 3, or 5 for a memory limit) with nothing left in the output folder; the import child's
/// time and memory limits bound each run, so completion under them is what is asserted (no timing assertions).
@Suite("Hostile input: no crash, hang or exhaustion", .serialized)
struct HostileInputTests {
    static let hostile = Tools.repo.deletingLastPathComponent().appendingPathComponent("shared/hostile")
    /// Limits for the isolated importer, and for the whole CLI (its own address space, like `prlimit --as`).
    static let importLimits = ["--import-memory", "2G", "--import-timeout", "20"]

    /// Runs `optimize IN -o OUT.glb` under a 4 GB address-space limit (through prlimit when present).
    func convert(_ input: URL, _ output: URL, _ extra: [String] = importLimits, timeout: Double = 120) throws
        -> RunResult
    {
        if let prlimit = Tools.which("prlimit") {
            return try run(
                prlimit, ["--as=4000000000", Tools.optimize.path, input.path, "-o", output.path] + extra,
                timeout: timeout)
        }
        return try optimize([input.path, "-o", output.path] + extra, timeout: timeout)
    }

    /// The run ended cleanly: exit 0 with a valid output, or exit 3/5 with one error line naming the file and no output.
    func expectClean(
        _ result: RunResult, _ input: URL, _ output: URL, allowed: Set<Int32> = [0, 3, 5],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let name = input.lastPathComponent
        #expect(!result.crashed, "\(name): \(result.summary)", sourceLocation: sourceLocation)
        #expect(allowed.contains(result.status), "\(name): \(result.summary)", sourceLocation: sourceLocation)
        let errors = result.stderrLines.filter {
            !$0.hasPrefix("stage=") && !$0.hasPrefix("warning") && !$0.hasPrefix("done ")
        }
        if result.status == 0 {
            let check = try optimize(["validate", output.path])
            #expect(
                check.status == 0, "\(name): output does not validate: \(check.summary)", sourceLocation: sourceLocation
            )
        } else {
            #expect(
                errors.count == 1, "\(name): expected one error line, got \(errors)", sourceLocation: sourceLocation)
            #expect(
                errors.first?.hasPrefix("optimize: \(input.path): ") == true, "\(name): \(errors)",
                sourceLocation: sourceLocation)
            let folder = output.deletingLastPathComponent()
            #expect(
                leftovers(in: folder).filter { $0 != name }.isEmpty, "\(name): left \(leftovers(in: folder))",
                sourceLocation: sourceLocation)
        }
    }

    func withInput(_ name: String, _ bytes: Data, _ body: (URL, URL) throws -> Void) throws {
        let folder = try makeScratch("hostile")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent(name)
        try bytes.write(to: input)
        try body(input, folder.appendingPathComponent("out.glb"))
    }

    // MARK: Small reproducers, generated

    static let generated: [(String, String, Set<Int32>)] = [
        // 28 bytes: unused vertices and a point face in a "triangle" mesh trapped the weld stage (SIGILL).
        // The native reader reads it as one point (a valid output); through Assimp it is "no geometry" (exit 3).
        ("point_face.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 3\n", [0, 3]),
        // A quad with an out-of-range index: SIGSEGV in Assimp's PLY reader.
        (
            "quad_oob.ply",
            "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                + "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2 1000000\n",
            [3]
        ),
        // A node scale of 1e39 (beyond Float) was silently written as 0: now refused.
        (
            "scale_1e39.gltf",
            #"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0,"scale":[1e39,1,1]}],"#
                + #""meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],"accessors":[{"bufferView":0,"componentType":5126,"#
                + #""count":3,"type":"VEC3","min":[0,0,0],"max":[1,1,0]}],"bufferViews":[{"buffer":0,"byteLength":36}],"#
                + #""buffers":[{"byteLength":36,"uri":"data:application/octet-stream;base64,AAAAAAAAAAAAAAAAAACAPwAAAAAAAAAAAAAAAAAAgD8AAAAA"}]}"#,
            [3]
        ),
        // A sparse accessor declaring 3e8 elements: memory grew past 6 GB.
        (
            "sparse_3e8.gltf",
            #"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],"accessors":[{"componentType":5126,"count":300000000,"type":"VEC3","min":[0,0,0],"max":[1,2,3],"sparse":{"count":1,"indices":{"bufferView":0,"componentType":5125},"values":{"bufferView":1}}}],"bufferViews":[{"buffer":0,"byteLength":4},{"buffer":0,"byteOffset":4,"byteLength":12}],"buffers":[{"uri":"data:application/octet-stream;base64,AAAAAAAAgD8AAABAAABAQA==","byteLength":16}]}"#,
            [3, 5]
        )
    ]

    @Test("small hostile files end cleanly", arguments: generated.indices)
    func generatedReproducer(_ index: Int) throws {
        let (name, text, allowed) = Self.generated[index]
        try withInput(name, Data(text.utf8)) { input, output in
            try expectClean(try convert(input, output), input, output, allowed: allowed)
        }
    }

    @Test(
        "a GLB whose length fields claim 2 or 4 GB is refused without allocating them",
        arguments: [0x7FFF_FFF0, 0xFFFF_FFFC])
    func glbLengthClaims(_ claimed: Int) throws {
        var bytes = Data("glTF".utf8)
        for value in [2, claimed == 0xFFFF_FFFC ? 0xFFFF_FFFF : 52, claimed] {
            bytes.append(contentsOf: withUnsafeBytes(of: UInt32(value).littleEndian, Array.init))
        }
        bytes.append(Data(#"JSON{"asset":{"version":"2.0"}}     "#.utf8))
        try withInput("claims.glb", bytes) { input, output in
            try expectClean(try convert(input, output), input, output, allowed: [3, 5])
        }
    }

    @Test("a hanging importer is stopped at the import time limit: exit 3, one line")
    func truncatedPLYHeaderHang() throws {
        try withInput("truncated.ply", Data("ply\nformat binary_little_endian 1.0\ncommen".utf8)) { input, output in
            let result = try convert(input, output, ["--import-timeout", "3", "--import-memory", "2G"])
            try expectClean(result, input, output, allowed: [3])
        }
    }

    // MARK: Larger reproducers from ../shared/hostile

    @Test(
        "crashing and exhausting Assimp inputs become one line (exit 3 or 5)",
        .enabled(if: FileManager.default.fileExists(atPath: hostile.path), "../shared/hostile is absent"),
        arguments: ["E_fbx_ascii_2byte_mutation_heap_corruption_SIGABRT.fbx", "E_dae_index_1e308_hang_17GB_OOM.dae"])
    func sharedReproducer(_ name: String) throws {
        let source = Self.hostile.appendingPathComponent(name)
        try withInput(name, try Data(contentsOf: source)) { input, output in
            // Through Assimp (isolated): the native FBX reader reads this file without crashing.
            let result = try convert(input, output, Self.importLimits + ["--importer", "assimp"])
            try expectClean(result, input, output, allowed: [3, 5])
            if name.hasSuffix(".fbx") {
                // Heap corruption: glibc aborts (SIGABRT) or the next access faults (SIGSEGV), run to run.
                #expect(
                    result.stderr.contains("the FBX importer crashed (SIG")
                        && result.stderr.contains("); the file is probably corrupt"),
                    "\(result.summary)")
            } else {
                // It grows without end: the memory limit stops it (exit 5), or on a loaded machine the time limit first.
                #expect(result.status == 5 || result.stderr.contains("did not finish within"), "\(result.summary)")
            }
        }
    }

    // MARK: Size and depth

    /// `depth` nested glTF nodes, the innermost drawing one triangle.
    static func deepGLTF(depth: Int) -> Data {
        var nodes: [String] = []
        nodes.reserveCapacity(depth)
        for i in 0..<depth { nodes.append(i + 1 < depth ? #"{"children":[\#(i + 1)]}"# : #"{"mesh":0}"#) }
        return Data(
            (#"{"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],"nodes":["# + nodes.joined(separator: ",")
                + #"],"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],"accessors":[{"bufferView":0,"componentType":5126,"#
                + #""count":3,"type":"VEC3","min":[0,0,0],"max":[1,1,0]}],"bufferViews":[{"buffer":0,"byteLength":36}],"#
                + #""buffers":[{"byteLength":36,"uri":"data:application/octet-stream;base64,AAAAAAAAAAAAAAAAAACAPwAAAAAAAAAAAAAAAAAAgD8AAAAA"}]}"#)
                .utf8)
    }

    /// `depth` nested COLLADA nodes, the innermost instancing one triangle.
    static func deepDAE(depth: Int) -> Data {
        var text = """
            <?xml version="1.0" encoding="utf-8"?>
            <COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
            <asset><unit name="meter" meter="1"/><up_axis>Y_UP</up_axis></asset>
            <library_geometries><geometry id="tri"><mesh>
            <source id="p"><float_array id="pa" count="9">0 0 0 1 0 0 0 1 0</float_array>
            <technique_common><accessor source="#pa" count="3" stride="3"><param name="X" type="float"/>
            <param name="Y" type="float"/><param name="Z" type="float"/></accessor></technique_common></source>
            <vertices id="v"><input semantic="POSITION" source="#p"/></vertices>
            <triangles count="1"><input semantic="VERTEX" source="#v" offset="0"/><p>0 1 2</p></triangles>
            </mesh></geometry></library_geometries>
            <library_visual_scenes><visual_scene id="s">

            """
        for i in 0..<depth { text += "<node id=\"n\(i)\">" }
        text += "<instance_geometry url=\"#tri\"/>"
        text += String(repeating: "</node>", count: depth)
        text +=
            "\n</visual_scene></library_visual_scenes><scene><instance_visual_scene url=\"#s\"/></scene></COLLADA>\n"
        return Data(text.utf8)
    }

    @Test(
        "100,000-level glTF and 20,000-level DAE hierarchies: a valid output or a clean error",
        arguments: [
            ("deep.gltf", 100_000), ("deep.dae", 20_000)
        ])
    func deepHierarchy(_ name: String, _ depth: Int) throws {
        let bytes = name.hasSuffix(".gltf") ? Self.deepGLTF(depth: depth) : Self.deepDAE(depth: depth)
        try withInput(name, bytes) { input, output in
            try expectClean(
                try convert(input, output, ["--import-memory", "3G", "--import-timeout", "100"], timeout: 300),
                input, output)
        }
    }

    @Test(
        "an OBJ polygon with 200,000 vertices and an OBJ with 100,000 objects complete under the import limits",
        arguments: ["polygon", "objects"])
    func largeOBJ(_ kind: String) throws {
        var text = ""
        if kind == "polygon" {
            let n = 200_000
            for i in 0..<n {
                let angle = Double(i) / Double(n) * 2 * .pi
                text += "v \(cos(angle)) \(sin(angle)) 0\n"
            }
            text += "f " + (1...n).map(String.init).joined(separator: " ") + "\n"
        } else {
            for i in 0..<100_000 {
                text += "o object\(i)\nv \(i) 0 0\nv \(i) 1 0\nv \(i) 0 1\nf -3 -2 -1\n"
            }
        }
        try withInput("\(kind).obj", Data(text.utf8)) { input, output in
            try expectClean(
                try convert(input, output, ["--import-memory", "3G", "--import-timeout", "30"], timeout: 300),
                input, output)
        }
    }

    // MARK: Outputs

    @Test("-o naming the input, or a texture the input references, is a usage error and changes nothing")
    func outputWouldClobberInput() throws {
        let folder = try makeScratch("clobber")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model.obj")
        let library = folder.appendingPathComponent("model.mtl")
        let texture = folder.appendingPathComponent("wood.png")
        try Data("mtllib model.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nusemtl m\nf 1/1 2/1 3/1\n".utf8).write(to: model)
        try Data("newmtl m\nmap_Kd wood.png\n".utf8).write(to: library)
        try Data("not really a png".utf8).write(to: texture)
        let link = folder.appendingPathComponent("link.obj")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: model)
        for target in [model, library, texture, link] {
            let before = try Data(contentsOf: target)
            let result = try optimize([model.path, "-o", target.path])
            #expect(result.status == 2 && !result.crashed, "-o \(target.lastPathComponent): \(result.summary)")
            #expect(result.stderr.contains("would destroy input data"), "\(result.stderr)")
            #expect(try Data(contentsOf: target) == before, "\(target.lastPathComponent) was changed")
        }
        #expect(leftovers(in: folder) == ["link.obj", "model.mtl", "model.obj", "wood.png"])
    }

    @Test("a run killed at any moment leaves no temporary file")
    func killedRunsLeaveNothing() throws {
        let folder = try makeScratch("killed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = Tools.fixtures.appendingPathComponent("fbx/huesitos.fbx")
        let output = folder.appendingPathComponent("out.glb")
        for delay in stride(from: 0.0, through: 1.2, by: 0.1) {
            let process = Process()
            process.executableURL = Tools.optimize
            process.arguments = [input.path, "-o", output.path]
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32(delay * 1_000_000))
            kill(process.processIdentifier, delay.truncatingRemainder(dividingBy: 0.2) < 0.05 ? SIGKILL : SIGTERM)
            process.waitUntilExit()
            let names = leftovers(in: folder).filter { $0 != "out.glb" }
            #expect(names.isEmpty, "after \(delay) s: \(names)")
            if FileManager.default.fileExists(atPath: output.path) {
                #expect(try optimize(["validate", output.path]).status == 0, "after \(delay) s: a partial out.glb")
            }
        }
        let done = try optimize([input.path, "-o", output.path])
        #expect(done.status == 0, "\(done.summary)")
        #expect(leftovers(in: folder) == ["out.glb"], "\(leftovers(in: folder))")
    }

    @Test("without O_TMPFILE, the named temporaries of dead processes are removed and the output replaced whole")
    func namedTemporariesOfDeadProcessesAreRemoved() throws {
        let folder = try makeScratch("stale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out.glb")
        try Data("old".utf8).write(to: output)
        // A temporary of a process that no longer runs (the pid of a finished child), and one of a running process.
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = ".out.glb.\(finished.processIdentifier).tmp"
        let live = ".out.glb.1.tmp"
        for name in [stale, live] { try Data("partial".utf8).write(to: folder.appendingPathComponent(name)) }
        try writeAtomically(Array("new".utf8), to: output, unnamedFirst: false)
        #expect(try Data(contentsOf: output) == Data("new".utf8))
        #expect(leftovers(in: folder) == [live, "out.glb"], "\(leftovers(in: folder))")
    }

    // MARK: Isolation

    @Test(
        "the isolated import gives the same bytes as the in-process one",
        arguments: ["fbx/huesitos.fbx", "dae/lights.dae", "ply/cube_binary.ply"])
    func isolationIsTransparent(_ fixture: String) throws {
        let folder = try makeScratch("isolation")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = Tools.fixtures.appendingPathComponent(fixture)
        let isolated = folder.appendingPathComponent("isolated.glb")
        let inProcess = folder.appendingPathComponent("inprocess.glb")
        let a = try optimize([input.path, "-o", isolated.path, "--importer", "assimp"])
        let b = try optimize([input.path, "-o", inProcess.path, "--importer", "assimp", "--no-isolation"])
        #expect(a.status == 0 && b.status == 0, "\(a.summary) / \(b.summary)")
        #expect(try Data(contentsOf: isolated) == Data(contentsOf: inProcess))
    }

    @Test("a memory limit too small for the import ends the import child with one line, exit 5")
    func memoryLimit() throws {
        try withInput(
            "big.obj", Data((0..<200_000).map { "v \($0) 0 0\nv \($0) 1 0\nv \($0) 0 1\nf -3 -2 -1\n" }.joined().utf8)
        ) { input, output in
            let result = try convert(input, output, ["--importer", "assimp", "--import-memory", "150M"])
            // Whichever allocation fails first (Assimp's C++ or the Swift runtime's, which aborts), it is the limit:
            // one line, nothing written, the CLI itself survives.
            try expectClean(result, input, output, allowed: [5])
            #expect(result.stderr.contains("memory limit"), "\(result.summary)")
        }
    }

    @Test("killing the CLI also ends its import child (no orphan)")
    func importChildDiesWithParent() throws {
        try withInput("hang.ply", Data("ply\nformat binary_little_endian 1.0\ncommen".utf8)) { input, output in
            let process = Process()
            process.executableURL = Tools.optimize
            process.arguments = [input.path, "-o", output.path, "--import-timeout", "120", "--importer", "assimp"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            var child: pid_t?
            for _ in 0..<200 where child == nil {
                usleep(50_000)
                child = childProcesses(of: process.processIdentifier).first
            }
            let importChild = try #require(child, "no import child appeared")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            var gone = false
            for _ in 0..<100 where !gone {
                usleep(50_000)
                gone = !isRunning(importChild)
            }
            #expect(gone, "import child \(importChild) outlived its parent")
        }
    }
}

extension HostileInputTests {
    @Test("killing `optimize job` (SIGKILL) also ends its conversion child and that child's import child")
    func jobChildrenDieWithTheJob() throws {
        try withInput("hang.ply", Data("ply\nformat binary_little_endian 1.0\ncommen".utf8)) { input, output in
            let folder = input.deletingLastPathComponent()
            let process = Process()
            process.executableURL = Tools.optimize
            process.arguments = [
                "job", "--input", input.path, "--output", folder.appendingPathComponent("out").path + "/",
                "--timeout", "300", "--termination-log", folder.appendingPathComponent("term.log").path,
                "--scratch", folder.path, "--", "--importer", "assimp"
            ]
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            var descendants: [pid_t] = []
            for _ in 0..<400 where descendants.count < 2 {
                usleep(50_000)
                let children = childProcesses(of: process.processIdentifier)
                descendants = children + children.flatMap(childProcesses(of:))
            }
            #expect(descendants.count >= 2, "expected the conversion child and its import child, found \(descendants)")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            var running = descendants
            for _ in 0..<100 where !running.isEmpty {
                usleep(50_000)
                running = running.filter(isRunning)
            }
            #expect(running.isEmpty, "outlived the job: \(running)")
        }
    }
}

/// Pids whose parent is `pid` (from /proc).
func childProcesses(of pid: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(pid_t.init).filter { candidate in
        guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && pid_t(fields[1]) == pid
    }
}

/// Whether `pid` exists and is not a zombie.
func isRunning(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}
