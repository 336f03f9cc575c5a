import Foundation
import Meshopt
import Scene
import Testing

@testable import Stages

@Suite struct WeldTests {
    @Test func pooledRemapIsMeshoptimizersRemap() {
        // 300,000 vertices of 5 words drawn from 40,000 distinct records, some never referenced, indices shuffled.
        var state: UInt64 = 7
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        let vertexCount = 300_000
        let words = (0..<vertexCount).flatMap { _ in
            let record = UInt32(next(40_000))
            return [record, record &* 3, 7, record >> 2, 1]
        }
        let indices = (0..<600_000).map { _ in UInt32(next(vertexCount - 1000)) }
        let expected = MeshoptOptimizer.generateVertexRemap(
            indices, vertexCount: vertexCount, vertices: words, stride: 20)
        for threads in [2, 3] {
            let pooled = remapInPools(
                indices, vertexCount: vertexCount, words: words, wordsPerVertex: 5, threads: threads)
            #expect(pooled.unique == expected.unique)
            #expect(pooled.remap == expected.remap)
        }
    }

    @Test func largePrimitiveWeldsTheSameOnAnyThreadCount() throws {
        let original = SimplifyTests.largeSphere().meshes[0].primitives[0]
        var p = original
        // Every vertex twice: the second copy is used by every other triangle.
        let n = UInt32(p.vertexCount)
        p.vertices.positions += p.vertices.positions
        p.vertices.normals += p.vertices.normals
        p.vertices.texcoords[0] += p.vertices.texcoords[0]
        for t in stride(from: 0, to: p.indices.count, by: 6) { p.indices[t] += n }
        #expect(p.vertexCount >= pooledWeldVertices)
        let one = try #require(weldedCopy(p, threads: 1))
        let two = try #require(weldedCopy(p, threads: 2))
        #expect(one == two)
        #expect(one.vertexCount == (try #require(weldedCopy(original))).vertexCount)
        #expect(one.triangleCount == p.triangleCount)
    }

    @Test func positionOnlyCubeWeldsTo8Vertices() throws {
        let welded = try #require(weldedCopy(Geometry.cube(normals: false)))
        #expect(welded.vertexCount == 8)
        #expect(welded.triangleCount == 12)
        #expect(Check.isValid(welded))
        #expect(Check.openEdges([welded]) == 0)
    }

    @Test func cubeWithNormalsKeeps24Vertices() throws {
        let welded = try #require(weldedCopy(Geometry.cube(normals: true)))
        #expect(welded.vertexCount == 24)
        #expect(welded.triangleCount == 12)
    }

    @Test func dropsDegenerateTrianglesAndUnusedVertices() throws {
        var p = Geometry.cube(normals: false)
        p.vertices.positions.append(SIMD3(5, 5, 5))  // unused
        p.indices += [0, 0, 1]  // repeated index
        p.vertices.positions += [SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(2, 0, 0)]  // collinear: zero area
        p.indices += [25, 26, 27]
        let kept = try #require(weldedCopy(p))
        #expect(kept.triangleCount == 13)
        #expect(kept.vertexCount == 11)
        let cleaned = try #require(weldedCopy(p, options: WeldOptions(removeZeroAreaTriangles: true)))
        #expect(cleaned.triangleCount == 12)
        #expect(cleaned.vertexCount == 8)
    }

    @Test func morphTargetsAndSkinTakePartInTheComparison() throws {
        var p = Geometry.cube(normals: false)
        p.vertices.joints = p.vertices.positions.map { _ in SIMD4(0, 1, 0, 0) }
        p.vertices.weights = p.vertices.positions.map { _ in SIMD4(0.5, 0.5, 0, 0) }
        var target = MorphTarget(name: "bulge")
        target.positions = (0..<24).map { SIMD3(Float($0 / 4), 0, 0) }  // differs per face
        p.targets = [target]
        let welded = try #require(weldedCopy(p))
        #expect(welded.vertexCount == 24)
        #expect(Check.isValid(welded))
        p.targets = []
        #expect(try #require(weldedCopy(p)).vertexCount == 8)
    }
}

@Suite struct SimplifyTests {
    static let looseError: Float = 1

    @Test func ratioHalfOnDenseSphere() throws {
        var scene = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 64, segments: 128)])])
        let before = scene.statistics.triangles
        let report = try simplify(
            &scene, options: SimplifyOptions(ratio: 0.5, targetError: Self.looseError), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.requestedTriangles == before / 2)
        #expect(abs(Double(scene.statistics.triangles) / Double(before / 2) - 1) <= 0.02)
        #expect(result.achievedTriangles == scene.statistics.triangles)
        #expect(result.reason == nil)
        #expect(result.method == .collapse)
    }

    @Test func inPlaceSimplificationLeavesSharedBuffersAloneAndMatchesACopy() throws {
        let original = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 64, segments: 128)])])
        let options = SimplifyOptions(ratio: 0.3, targetError: Self.looseError)
        var shared = original  // `original` still holds the buffers: the stage must copy before it writes
        _ = try simplify(&shared, options: options, threads: 2)
        #expect(original == Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 64, segments: 128)])]))
        var alone = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 64, segments: 128)])])
        _ = try simplify(&alone, options: options, threads: 2)  // the only owner: meshoptimizer works in place
        #expect(alone == shared)
        #expect(alone.statistics.triangles < original.statistics.triangles / 2)
    }

    @Test func ratioHalfOnCorpusScan() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = repo.appendingPathComponent("../shared/corpus/files/obj/c3d__stanford-bunny.obj").standardized.path
        guard FileManager.default.fileExists(atPath: path) else { return }  // corpus not present: nothing to test
        var scene = Geometry.scene([Geometry.mesh("bunny", [try Geometry.loadOBJ(path)])])
        let before = scene.statistics.triangles
        #expect(before > 60_000)
        _ = try simplify(&scene, options: SimplifyOptions(ratio: 0.5, targetError: Self.looseError), threads: 2)
        #expect(abs(Double(scene.statistics.triangles) / (Double(before) / 2) - 1) <= 0.02)
        #expect(Check.isValid(scene.meshes[0].primitives[0]))
    }

    /// A sphere of 588,288 triangles, stretched along x (so its halves are half as long as the whole): above the
    /// size at which a mesh is simplified in two parts.
    static func largeSphere() -> Scene {
        var sphere = Geometry.uvSphere(rings: 384, segments: 768)
        sphere.vertices.positions = sphere.vertices.positions.map { $0 * SIMD3(4, 1, 1) }
        return Geometry.scene([Geometry.mesh("large", [sphere])])
    }

    @Test func largeMeshIsSimplifiedInPartsThatStayJoined() throws {
        let input = Self.largeSphere()
        let triangles = input.statistics.triangles
        #expect(partCount(triangles: triangles) == 2)
        #expect(partCount(triangles: 2 * partTriangles - 1) == 1)
        #expect(partCount(triangles: 100 * partTriangles) == 16)
        var results: [Scene] = []
        for threads in [1, 2] {
            var scene = input
            let report = try simplify(
                &scene, options: SimplifyOptions(ratio: 0.5, targetError: Self.looseError), threads: threads)
            let result = try #require(report.simplify?.first)
            #expect(result.reason == nil)
            #expect(abs(Double(result.achievedTriangles) / Double(triangles / 2) - 1) <= 0.02)
            results.append(scene)
        }
        #expect(results[0] == results[1])
        let out = results[0].meshes[0].primitives[0]
        #expect(Check.isValid(out))
        // The cut between the parts did not open: the surface is as closed as the input.
        #expect(Check.openEdges([out]) == 0)
        #expect(Set(out.vertices.positions).isSubset(of: Set(input.meshes[0].primitives[0].vertices.positions)))
    }

    @Test func partsKeepTheWholeMeshErrorBound() throws {
        // Error-only simplification: each half is half as long as the whole, so it must be given twice the relative
        // bound to allow the same absolute deviation; then the halves together come close to meshoptimizer's result
        // on the whole buffer (a little above: the cut between them stays), and far below what half the deviation
        // would leave (about 1.5 times as many triangles).
        let input = Self.largeSphere()
        let whole = input.meshes[0].primitives[0]
        var reference = whole.indices
        let wholeError = MeshoptOptimizer.simplify(
            &reference, positions: whole.vertices.positions, targetIndexCount: 0, targetError: 0.0003,
            lockBorder: false)
        var scene = input
        let report = try simplify(&scene, options: SimplifyOptions(targetError: 0.0003), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.error <= 0.0003)
        #expect(wholeError <= 0.0003)
        let ratio = Double(result.achievedTriangles) / Double(reference.count / 3)
        #expect(ratio > 0.95 && ratio < 1.15, "parts \(result.achievedTriangles), whole \(reference.count / 3)")
    }

    @Test func partsThatStallAreFinishedWhole() throws {
        // A flat open grid of 627,200 triangles: its parts keep their borders (the cut and the grid's edge), which
        // alone hold more than the target; the whole-mesh pass after them reaches it.
        let side = 560
        var grid = Primitive()
        for y in 0...side {
            for x in 0...side { grid.vertices.positions.append(SIMD3(Float(x), Float(y), 0)) }
        }
        let row = UInt32(side + 1)
        for y in 0..<UInt32(side) {
            for x in 0..<UInt32(side) {
                let a = y * row + x
                grid.indices += [a, a + 1, a + row + 1, a, a + row + 1, a + row]
            }
        }
        var scene = Geometry.scene([Geometry.mesh("grid", [grid])])
        #expect(partCount(triangles: grid.triangleCount) == 2)
        let report = try simplify(&scene, options: SimplifyOptions(ratio: 0.002, targetError: 0.01), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.reason == nil)
        #expect(result.achievedTriangles <= Int(Double(grid.triangleCount) * 0.002 * 1.02))
        #expect(Check.isValid(scene.meshes[0].primitives[0]))
    }

    @Test func regionsHalveAtTheMedian() {
        // Several chunks of vertices, so the counts and bounds of chunks are merged.
        let positions = Geometry.uvSphere(rings: 400, segments: 800).vertices.positions.map { $0 * SIMD3(4, 1, 1) }
        #expect(positions.count > 4 * chunkSize)
        let region = regions(positions, parts: 4, threads: 2)
        let (serial, three) = (regions(positions, parts: 4, threads: 1), regions(positions, parts: 4, threads: 3))
        #expect(region == serial && region == three)
        var counts = [Int](repeating: 0, count: 4)
        for r in region { counts[Int(r)] += 1 }
        for c in counts { #expect(abs(Double(c) / Double(positions.count) - 0.25) < 0.02, "\(counts)") }
        // The first cut is across the long axis (x): regions 0 and 2 lie on the low side, 1 and 3 on the high side.
        for (v, p) in positions.enumerated() where abs(p.x) > 0.5 {
            #expect((region[v] % 2 == 0) == (p.x < 0))
        }
    }

    @Test func budgetIsMetAndSplitByAreaCountingInstances() throws {
        let big = Geometry.mesh("big", [Geometry.uvSphere(rings: 48, segments: 96, radius: 10)])
        let small = Geometry.mesh("small", [Geometry.uvSphere(rings: 48, segments: 96, radius: 1)])
        var scene = Geometry.scene([big, small], instances: [1, 3])
        let budget = 6000
        let options = SimplifyOptions(triangleBudget: budget, targetError: Self.looseError)
        // The split follows the drawn areas: 100 (radius²) : 3 instances × 1.
        let targets = simplifyTargets(scene, options: options).map { Double($0!) }
        #expect(abs(targets[0] / (3 * targets[1]) - 100.0 / 3.0) / (100.0 / 3.0) < 0.01)
        #expect(abs(targets[0] + 3 * targets[1] - Double(budget)) <= 3)

        let report = try simplify(&scene, options: options, threads: 2)
        #expect(abs(Double(scene.instancedTriangleCount) / Double(budget) - 1) <= 0.02)
        let results = try #require(report.simplify)
        #expect(results.count == 2)
        // The small sphere's 58 triangles are out of reach (poles and seam lock it); the big one takes the excess.
        #expect(results[1].reason == .stalled)
        #expect(try #require(results[0].requestedTriangles) < Int(targets[0]))
        #expect(results[0].reason == nil)
    }

    @Test func budgetGivesSurplusOfSmallMeshesToOthers() throws {
        let big = Geometry.mesh("big", [Geometry.uvSphere(rings: 48, segments: 96, radius: 1)])
        let coarse = Geometry.mesh("coarse", [Geometry.cube(normals: true)])
        var huge = coarse
        huge.name = "huge"
        var scene = Geometry.scene([big, huge])
        scene.nodes[1].transform = .trs(translation: .zero, rotation: SIMD4(0, 0, 0, 1), scale: SIMD3(repeating: 100))
        let targets = simplifyTargets(scene, options: SimplifyOptions(triangleBudget: 3000))
        #expect(targets == [2988, 12])
    }

    @Test func seamsStayClosedAndVerticesComeFromTheInput() throws {
        let sphere = Geometry.uvSphere(rings: 32, segments: 64)
        #expect(Check.openEdges([sphere]) == 0)
        var scene = Geometry.scene([Geometry.mesh("sphere", [sphere])])
        _ = try simplify(&scene, options: SimplifyOptions(ratio: 0.25, targetError: Self.looseError), threads: 2)
        let out = scene.meshes[0].primitives[0]
        #expect(out.triangleCount < sphere.triangleCount / 3)
        #expect(Check.isValid(out))
        #expect(Set(Check.vertexKeys(out)).isSubset(of: Set(Check.vertexKeys(sphere))))
        // No tear: every directed position edge still has its opposite, so the UV seam is closed.
        #expect(Check.openEdges([out]) == 0)
        // The seam is still an attribute seam: no triangle takes its UVs from the far side of the texture.
        let uv = out.vertices.texcoords[0]
        for t in stride(from: 0, to: out.indices.count, by: 3) {
            let us = (0..<3).map { uv[Int(out.indices[t + $0])].x }
            #expect(us.max()! - us.min()! < 0.5)
        }
        // Both sides of the seam survive.
        #expect(uv.contains { $0.x == 0 } && uv.contains { $0.x == 1 })
    }

    @Test func materialSeamBetweenPrimitivesStaysClosed() throws {
        // Split the sphere's triangles into two primitives (two materials) by hemisphere.
        let sphere = Geometry.uvSphere(rings: 32, segments: 64)
        var top = sphere
        var bottom = sphere
        top.indices = []
        bottom.indices = []
        for t in stride(from: 0, to: sphere.indices.count, by: 3) {
            let tri = Array(sphere.indices[t..<t + 3])
            if sphere.vertices.positions[Int(tri[0])].y + sphere.vertices.positions[Int(tri[1])].y > 0 {
                top.indices += tri
            } else {
                bottom.indices += tri
            }
        }
        top.material = 0
        bottom.material = 1
        var scene = Geometry.scene([Geometry.mesh("two materials", [top, bottom])])
        scene.materials = [Material(name: "a"), Material(name: "b")]
        _ = try simplify(&scene, options: SimplifyOptions(ratio: 0.25, targetError: Self.looseError), threads: 2)
        let out = scene.meshes[0].primitives
        #expect(out.count == 2)
        #expect(out.map(\.material) == [0, 1])
        #expect(Check.openEdges(out) == 0)
        #expect(scene.statistics.triangles < sphere.triangleCount / 3)
    }

    @Test func skinnedAndMorphedMeshStaysValid() throws {
        var p = Geometry.uvSphere(rings: 24, segments: 48)
        p.vertices.joints = p.vertices.positions.map { _ in SIMD4(0, 1, 0, 0) }
        p.vertices.weights = p.vertices.positions.map { v in
            let w = (v.y + 1) / 2
            return SIMD4(w, 1 - w, 0, 0)
        }
        var target = MorphTarget(name: "squash")
        target.positions = p.vertices.positions.map { SIMD3(0, -$0.y * 0.5, 0) }
        p.targets = [target]
        var scene = Geometry.scene([Geometry.mesh("skinned", [p])])
        _ = try simplify(&scene, options: SimplifyOptions(ratio: 0.3, targetError: Self.looseError), threads: 2)
        _ = try optimizeOrder(&scene, threads: 2)
        let out = scene.meshes[0].primitives[0]
        #expect(out.triangleCount < p.triangleCount / 2)
        #expect(Check.isValid(out))
        #expect(out.vertices.joints.count == out.vertexCount && out.vertices.weights.count == out.vertexCount)
        #expect(out.targets[0].positions.count == out.vertexCount)
        #expect(out.vertices.weights.allSatisfy { abs($0.sum() - 1) < 1e-5 })
        #expect(Set(Check.vertexKeys(out)).isSubset(of: Set(Check.vertexKeys(p))))
    }

    @Test func errorLimitIsReportedAsTheReason() throws {
        var scene = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 32, segments: 64)])])
        let report = try simplify(&scene, options: SimplifyOptions(ratio: 0.01, targetError: 0.001), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.achievedTriangles > (result.requestedTriangles ?? 0) * 2)
        #expect(result.error <= 0.001)
        #expect(result.reason == .errorLimit)
    }

    @Test func lockedBordersAreReportedAndSloppyFallbackReachesTarget() throws {
        // A flat grid: every collapse that would reach 2 % must move the border.
        var grid = Primitive()
        let n = 40
        for y in 0...n { for x in 0...n { grid.vertices.positions.append(SIMD3(Float(x), Float(y), 0)) } }
        for y in 0..<UInt32(n) {
            for x in 0..<UInt32(n) {
                let a = y * UInt32(n + 1) + x
                let b = a + 1
                let c = a + UInt32(n + 1) + 1
                let d = a + UInt32(n + 1)
                grid.indices += [a, b, c, a, c, d]
            }
        }
        var scene = Geometry.scene([Geometry.mesh("grid", [grid])])
        var locked = scene
        let lockedReport = try simplify(
            &locked,
            options: SimplifyOptions(
                ratio: 0.02, targetError: Self.looseError,
                lockBorders: true), threads: 2)
        #expect(lockedReport.simplify?.first?.reason == .borderLocked)
        let report = try simplify(
            &scene,
            options: SimplifyOptions(
                ratio: 0.02, targetError: Self.looseError,
                lockBorders: true, aggressive: true), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.method == .sloppy)
        #expect(result.achievedTriangles < lockedReport.simplify!.first!.achievedTriangles)
        #expect(Check.isValid(scene.meshes[0].primitives[0]))
    }

    @Test func errorOnlyModeHasNoTargetAndNoReason() throws {
        var scene = Geometry.scene([Geometry.mesh("sphere", [Geometry.uvSphere(rings: 64, segments: 128)])])
        let report = try simplify(&scene, options: SimplifyOptions(targetError: 0.01), threads: 2)
        let result = try #require(report.simplify?.first)
        #expect(result.requestedTriangles == nil)
        #expect(result.reason == nil)
        #expect(result.error <= 0.01)
        #expect(result.achievedTriangles < result.originalTriangles / 4)
    }

    @Test func pointsAndLinesAreLeftAlone() throws {
        var lines = Primitive(mode: .lines)
        lines.vertices.positions = (0..<10).map { SIMD3(Float($0), 0, 0) }
        lines.indices = (0..<9).flatMap { [UInt32($0), UInt32($0 + 1)] }
        var scene = Geometry.scene([Geometry.mesh("lines", [lines])])
        let report = try simplify(&scene, options: SimplifyOptions(ratio: 0.1), threads: 2)
        #expect(scene.meshes[0].primitives[0] == lines)
        #expect(report.simplify == [])
    }
}

@Suite struct OrderTests {
    @Test func keepsTrianglesAndImprovesCacheUse() throws {
        var p = Geometry.uvSphere(rings: 32, segments: 64)
        // Shuffle triangles deterministically so the input order is poor.
        var triangles = stride(from: 0, to: p.indices.count, by: 3).map { Array(p.indices[$0..<$0 + 3]) }
        var state: UInt64 = 12345
        for i in stride(from: triangles.count - 1, to: 0, by: -1) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            triangles.swapAt(i, Int(state >> 33) % (i + 1))
        }
        p.indices = triangles.flatMap { $0 }
        let out = orderedCopy(p)
        #expect(Check.isValid(out))
        func triangleSet(_ q: Primitive) -> [String] {
            let keys = Check.vertexKeys(q)
            return stride(from: 0, to: q.indices.count, by: 3).map { t in
                let c = (0..<3).map { keys[Int(q.indices[t + $0])] }
                let r = c.firstIndex(of: c.min()!)!  // rotation-invariant, winding kept
                return (0..<3).map { c[(r + $0) % 3] }.joined(separator: "/")
            }.sorted()
        }
        #expect(triangleSet(out) == triangleSet(p))
        #expect(fifoMisses(out) < fifoMisses(p) / 2)
        // Vertex fetch order: vertices appear in first-use order.
        var next: UInt32 = 0
        for i in out.indices where i >= next {
            #expect(i == next)
            next += 1
        }
    }

    @Test func largePrimitiveIsOrderedInRegions() throws {
        let p = SimplifyTests.largeSphere().meshes[0].primitives[0]
        #expect(partCount(triangles: p.triangleCount) == 2)
        let outs = [1, 2].map { orderedCopy(p, options: OrderOptions(), threads: $0) }
        #expect(outs[0] == outs[1])
        let out = outs[0]
        #expect(Check.isValid(out))
        // The same triangles (by corner positions, rotation-invariant, winding kept).
        struct Triangle: Hashable { var a, b, c: SIMD3<Float> }
        func triangles(_ q: Primitive) -> [Triangle: Int] {
            var counts: [Triangle: Int] = [:]
            let v = q.vertices.positions
            for t in stride(from: 0, to: q.indices.count, by: 3) {
                var c = (0..<3).map { v[Int(q.indices[t + $0])] }
                let r = c.indices.min { (c[$0].x, c[$0].y, c[$0].z) < (c[$1].x, c[$1].y, c[$1].z) }!
                c = (0..<3).map { c[(r + $0) % 3] }
                counts[Triangle(a: c[0], b: c[1], c: c[2]), default: 0] += 1
            }
            return counts
        }
        #expect(triangles(out) == triangles(p))
        // The vertex cache does about as well as with the whole buffer ordered at once (then for overdraw).
        var whole = p
        whole.indices = MeshoptOptimizer.optimizeOverdraw(
            MeshoptOptimizer.optimizeVertexCache(p.indices, vertexCount: p.vertexCount),
            positions: p.vertices.positions, threshold: OrderOptions().overdrawThreshold)
        #expect(Double(fifoMisses(out)) <= Double(fifoMisses(whole)) * 1.02, "\(fifoMisses(out)) \(fifoMisses(whole))")
    }

    /// Vertex transforms with a 16-entry FIFO cache.
    func fifoMisses(_ p: Primitive) -> Int {
        var cache: [UInt32] = []
        var misses = 0
        for i in p.indices where !cache.contains(i) {
            misses += 1
            cache.append(i)
            if cache.count > 16 { cache.removeFirst() }
        }
        return misses
    }
}

@Suite struct DeduplicateTests {
    @Test func mergesIdenticalMeshesMaterialsTexturesAndImages() throws {
        var scene = Scene()
        scene.images = [
            Image(name: "a", mimeType: "image/png", data: [1, 2, 3]),
            Image(name: "b", mimeType: "image/png", data: [1, 2, 3]),
            Image(name: "c", mimeType: "image/png", data: [9])
        ]
        scene.samplers = [Sampler(), Sampler(), Sampler(wrapS: Sampler.clampToEdge)]
        scene.textures = [Texture(image: 0, sampler: 0), Texture(image: 1, sampler: 1), Texture(image: 2, sampler: 2)]
        var m0 = Material(name: "red")
        m0.baseColorTexture = TextureRef(texture: 0)
        var m1 = m0
        m1.name = "red.001"
        m1.baseColorTexture = TextureRef(texture: 1)
        var m2 = m0
        m2.baseColorTexture = TextureRef(texture: 2)
        scene.materials = [m0, m1, m2]
        var p0 = Geometry.cube(normals: true)
        p0.material = 0
        var p1 = p0
        p1.material = 1
        var p2 = p0
        p2.material = 2
        scene = {
            var s = Geometry.scene([
                Geometry.mesh("box", [p0]), Geometry.mesh("box.001", [p1]),
                Geometry.mesh("other", [p2])
            ])
            (s.images, s.samplers, s.textures, s.materials) = (
                scene.images, scene.samplers, scene.textures, scene.materials
            )
            return s
        }()
        let report = try deduplicate(&scene)
        #expect(scene.images.map(\.name) == ["a", "c"])
        #expect(scene.samplers.count == 2)
        #expect(scene.textures == [Texture(image: 0, sampler: 0), Texture(image: 1, sampler: 1)])
        #expect(scene.materials.map(\.name) == ["red", "red"])
        #expect(scene.materials.map { $0.baseColorTexture?.texture } == [0, 1])
        #expect(scene.meshes.map(\.name) == ["box", "other"])
        #expect(scene.meshes.map { $0.primitives[0].material } == [0, 1])
        #expect(scene.nodes.map(\.mesh) == [0, 0, 1])
        #expect(report.before.meshes == 3 && report.after.meshes == 2)
    }
}

@Suite struct ParallelTests {
    @Test func outputIsIdenticalForAnyThreadCount() throws {
        let meshes = (0..<6).map { k in
            Geometry.mesh(
                "m\(k)",
                [
                    Geometry.uvSphere(rings: 12 + 4 * k, segments: 24 + 4 * k, radius: Float(k + 1)),
                    Geometry.cube(normals: k % 2 == 0)
                ])
        }
        var results: [Scene] = []
        for threads in [1, 2, 8] {
            var scene = Geometry.scene(meshes, instances: [1, 2, 1, 3, 1, 1])
            _ = try weld(&scene, threads: threads)
            _ = try simplify(
                &scene, options: SimplifyOptions(ratio: 0.6, triangleBudget: 3000, targetError: 0.05),
                threads: threads)
            _ = try optimizeOrder(&scene, threads: threads)
            results.append(scene)
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
        #expect(results[0].statistics.triangles < Geometry.scene(meshes).statistics.triangles)
    }

    @Test func parallelMapKeepsIndexOrder() {
        #expect(parallelMap(100, threads: 7) { $0 * $0 } == (0..<100).map { $0 * $0 })
    }

    @Test func badIndicesAreRejected() {
        var p = Geometry.cube(normals: false)
        p.indices[5] = 99
        var scene = Geometry.scene([Geometry.mesh("broken", [p])])
        #expect(throws: ProcessingError.self) { try weld(&scene, threads: 2) }
    }
}
