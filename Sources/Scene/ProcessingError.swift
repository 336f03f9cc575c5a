import ExitStatus
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

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

/// A short human description of a file-system, decoding or other error, for one-line messages: the system's own
/// text for file errors ("No such file or directory"), the decoder's for JSON.
public func describe(_ error: any Error) -> String {
    switch error {
    case let error as ProcessingError:
        return error.message
    case let error as POSIXError:
        return String(cString: strerror(error.code.rawValue))
    case let error as CocoaError:
        if let underlying = error.underlying { return describe(underlying) }
        return "error \(error.code.rawValue)"
    case let error as DecodingError:
        func at(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : " at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        switch error {
        case .dataCorrupted(let context): return context.debugDescription + at(context)
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)'" + at(context)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return context.debugDescription + at(context)
        @unknown default: return String(describing: error)
        }
    default:
        return String(describing: error)
    }
}
