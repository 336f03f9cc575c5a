import FoundationEssentials
import GLB
import Preview
import Scene
import Stages
import Textures

#if canImport(Glibc)
    import Glibc
#endif

/// What a conversion did, as `--report FILE.json` writes it.
public struct Report: Sendable, Codable, Equatable {
    public struct StageTiming: Sendable, Codable, Equatable {
        public var stage: String
        public var seconds: Double
        /// The process's peak resident memory when the stage ended (VmHWM): where the peak rises, a stage made it.
        public var peakRSSBytes: Int
        /// The resident memory when the stage ended (VmRSS): what the stage left for the next ones.
        public var rssBytes: Int
    }

    public var input: String
    public var output: String
    /// The format detected from the input's content.
    public var format: String
    public var before: SceneStatistics
    public var after: SceneStatistics
    public var inputBytes: Int
    public var outputBytes: Int
    /// The output's bytes by category.
    public var outputBreakdown: ByteBreakdown
    public var stages: [StageTiming]
    /// What the stages did or skipped beyond their counts (e.g. "instance: folded 8 nodes into 1 instanced node").
    public var notes: [String]
    /// Per mesh: requested and achieved triangles, achieved error, and why a target was missed; nil when not simplified.
    public var simplification: [MeshSimplification]?
    /// Per source image: use, bytes and size before and after, and what the texture stage did with it.
    public var textures: [ImageReport] = []
    /// The output-size search (`--max-bytes`): budget, bytes reached, settings chosen and their error.
    public var budget: BudgetReport?
    /// Levels of detail (`--lods`), level 0 first: requested and achieved triangles, error, screen coverage, file.
    public var levels: [LevelReport]?
    /// The preview image, when one was asked for and rendered.
    public var preview: PreviewReport?
    /// The process's peak resident set size at the end of the conversion.
    public var peakRSSBytes: Int
    public var warnings: [String]

    /// The report as pretty, key-sorted JSON.
    public func json() throws -> [UInt8] { try encodeJSON(self) }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`), or 0 where unknown.
public func peakResidentBytes() -> Int { residentMemory().peak }

/// The process's resident memory now (`VmRSS`) and its peak so far (`VmHWM`), in bytes, from one read of
/// /proc/self/status; zeros where it is not available. (getrusage's peak would not do: after a vfork-style spawn it
/// includes the parent's peak.) Reads raw bytes, since it runs after every stage.
func residentMemory() -> (current: Int, peak: Int) {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return (0, 0) }
    defer { close(fd) }
    var status = [UInt8](repeating: 0, count: 8192)
    var count = 0
    while count < status.count {
        let n = status.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
        if n <= 0 { break }
        count += n
    }
    /// The number of kilobytes on the line that starts with `key`, in bytes.
    func field(_ key: String) -> Int {
        for line in status[..<count].split(separator: UInt8(ascii: "\n")) where line.starts(with: key.utf8) {
            let digits = line.drop { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
                .prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            return (Int(String(decoding: digits, as: UTF8.self)) ?? 0) * 1024
        }
        return 0
    }
    return (field("VmRSS:"), field("VmHWM:"))
}

/// The preview image: where it went, its size and the camera (to reproduce the view elsewhere).
public struct PreviewReport: Sendable, Codable, Equatable {
    public var file: String
    public var width: Int
    public var height: Int
    public var bytes: Int
    public var trianglesDrawn: Int
    public var seconds: Double
    public var camera: PreviewCamera
}
