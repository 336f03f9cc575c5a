import Foundation
import TestSupport
import Testing

/// `optimize` on an OBJ cube whose `vn` are its faces' normals: dropped by default (the weld then shares the
/// corners), kept with `--keep-flat-normals`.
@Suite struct FlatNormalsCLITests {
    static let cube = """
        v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0 0 1\nv 1 0 1\nv 1 1 1\nv 0 1 1
        vn 0 0 -1\nvn 0 0 1\nvn 0 -1 0\nvn 0 1 0\nvn -1 0 0\nvn 1 0 0
        f 1//1 4//1 3//1 2//1\nf 5//2 6//2 7//2 8//2\nf 1//3 2//3 6//3 5//3
        f 4//4 8//4 7//4 3//4\nf 1//5 5//5 8//5 4//5\nf 2//6 3//6 7//6 6//6

        """

    /// The POSITION count and attribute names of the output's only primitive.
    func primitive(_ glb: URL) throws -> (vertices: Int, attributes: Set<String>) {
        let data = try Data(contentsOf: glb)
        let length = Int(data[12]) | Int(data[13]) << 8 | Int(data[14]) << 16 | Int(data[15]) << 24
        let json = try #require(try JSONSerialization.jsonObject(with: data[20..<20 + length]) as? [String: Any])
        let meshes = try #require(json["meshes"] as? [[String: Any]])
        let primitive = try #require((meshes.first?["primitives"] as? [[String: Any]])?.first)
        let attributes = try #require(primitive["attributes"] as? [String: Int])
        let accessors = try #require(json["accessors"] as? [[String: Any]])
        let position = try #require(attributes["POSITION"])
        let count = try #require(accessors[position]["count"] as? Int)
        return (count, Set(attributes.keys))
    }

    @Test(arguments: [[], ["--preset", "web"]])
    func droppedByDefaultKeptOnRequest(_ preset: [String]) throws {
        let folder = try makeScratch("flat-normals")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("cube.obj")
        try Self.cube.write(to: input, atomically: true, encoding: .utf8)
        let dropped = folder.appendingPathComponent("dropped.glb")
        let kept = folder.appendingPathComponent("kept.glb")
        let report = folder.appendingPathComponent("report.json")
        let first = try optimize([input.path, "-o", dropped.path, "--report", report.path] + preset)
        #expect(first.status == 0, "\(first)")
        let second = try optimize([input.path, "-o", kept.path, "--keep-flat-normals"] + preset)
        #expect(second.status == 0, "\(second)")
        let (droppedVertices, droppedAttributes) = try primitive(dropped)
        #expect(droppedAttributes == ["POSITION"] && droppedVertices == 8)
        let (keptVertices, keptAttributes) = try primitive(kept)
        #expect(keptAttributes == ["POSITION", "NORMAL"] && keptVertices == 24)
        let notes = try jsonObject(String(contentsOf: report, encoding: .utf8), from: "report")["notes"]
        #expect("\(notes ?? "")".contains("dropped NORMAL (flat: viewers compute it) from 1 primitive(s)"))
    }
}
