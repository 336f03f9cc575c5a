import Scene

/// What one stage run did, for the JSON report.
public struct StageReport: Sendable, Equatable, Codable {
    public var name: String
    /// Wall-clock seconds.
    public var seconds: Double
    public var before: SceneStatistics
    public var after: SceneStatistics
    /// Per-mesh results of `simplify`; nil for other stages.
    public var simplify: [MeshSimplification]?
    /// Things the stage skipped or could not do, one line each.
    public var notes: [String] = []

    public init(
        name: String, seconds: Double, before: SceneStatistics, after: SceneStatistics,
        simplify: [MeshSimplification]? = nil, notes: [String] = []
    ) {
        self.name = name
        self.seconds = seconds
        self.before = before
        self.after = after
        self.simplify = simplify
        self.notes = notes
    }
}

/// Runs `body` on `scene` and reports its wall time and the scene's statistics before and after.
public func runStage(
    _ name: String, _ scene: inout Scene,
    _ body: (inout Scene) throws -> (simplify: [MeshSimplification]?, notes: [String])
) rethrows -> StageReport {
    let before = scene.statistics
    let clock = ContinuousClock()
    let start = clock.now
    let details = try body(&scene)
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return StageReport(
        name: name, seconds: seconds, before: before, after: scene.statistics,
        simplify: details.simplify, notes: details.notes)
}
