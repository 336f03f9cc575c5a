import ExitStatus
import Foundation
import S3

/// Why a job failed; each kind has its own exit code so a `podFailurePolicy` can tell retryable from final.
public struct JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failure's category is the exit code it ends the job with.
    public typealias Kind = ExitStatus

    public var kind: Kind
    /// One line, no secrets.
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }

    /// The process exit code for this kind.
    public var exitCode: Int32 { kind.rawValue }

    /// A name for Step Functions' `error` field and the termination message.
    public var errorName: String {
        switch kind {
        case .usage: "Optimize.Usage"
        case .badInput: "Optimize.BadInput"
        case .io: "Optimize.IO"
        case .resourceLimit: "Optimize.ResourceLimit"
        case .internal: "Optimize.Internal"
        case .permission: "Optimize.Permission"
        case .transient: "Optimize.Transient"
        case .interrupted: "Optimize.Interrupted"
        case .success: "Optimize.Success"
        }
    }

    /// Classifies an S3 error. A missing input (NoSuchKey/NoSuchBucket/404 on the input) is bad input;
    /// access, signature and credential problems, and other permanent errors on outputs, are `.permission`.
    static func from(_ error: S3Error, isInput: Bool) -> JobFailure {
        let text = error.description
        switch error.kind {
        case .transient: return JobFailure(.transient, text)
        case .tooLarge: return JobFailure(.resourceLimit, text)
        case .credentials: return JobFailure(.permission, text)
        case .permanent:
            if error.status == nil { return JobFailure(.io, text) }
            let missing = error.status == 404 || error.code == "NoSuchKey" || error.code == "NoSuchBucket"
            if isInput && missing {
                return JobFailure(
                    .badInput,
                    "\(error.location ?? "the input"): the input object does not exist (\(error.code ?? "HTTP 404"))")
            }
            return JobFailure(.permission, text)
        }
    }
}
