import ExitStatus

/// Why a conversion failed, in the categories the exit codes distinguish.
///
/// Every stage throws this; the CLI maps `kind` to an exit code and prints `description` as one line.
public struct ProcessingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The input is unsupported, corrupt or malformed.
        case badInput
        /// Reading or writing a file failed.
        case io
        /// A configured or format limit was exceeded (output over 4 GiB, an image too large, …).
        case resourceLimit
        /// Our own bug: the result failed validation or an invariant broke.
        case `internal`
    }

    public var kind: Kind
    /// The file the problem is about, when there is one.
    public var file: String?
    public var message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// One line: `FILE: message`.
    public var description: String {
        let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let file else { return oneLine }
        return "\(file): \(oneLine)"
    }
}

extension ProcessingError.Kind {
    /// The exit code a failure of this kind ends the process with.
    public var exitStatus: ExitStatus {
        switch self {
        case .badInput: .badInput
        case .io: .io
        case .resourceLimit: .resourceLimit
        case .internal: .internal
        }
    }
}
