/// Every option of a conversion, in one value. The CLI and the job build it; stages read their part.
public struct Settings: Sendable, Equatable {
    /// Worker threads for the parallel stages; 0 means "from the container's CPU limit".
    public var threads = 0
    /// `asset.generator` in the output.
    public var generator = "optimize \(version)"

    public init() {}
}

/// The program's version, as `--version` prints it and the GLB records it.
public let version = "0.1.0"
