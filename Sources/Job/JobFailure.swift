import Foundation
import S3

/// Why a job failed; each kind has its own exit code so a `podFailurePolicy` can tell retryable from final.
public struct JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Bad flags or spec (exit 2).
        case usage
        /// The input is unreadable, unsupported, corrupt, missing in S3, crashed or hung the importer (exit 3).
        case badInput
        /// Local I/O: scratch not writable, disk full (exit 4).
        case io
        /// A limit was hit: output too large, killed by SIGKILL (OOM) (exit 5).
        case resourceLimit
        /// A bug (exit 70).
        case `internal`
        /// Access denied, bad credentials, missing output bucket: retrying will not help (exit 77).
        case permission
        /// S3/network trouble that outlasted the retries: retryable (exit 75).
        case transient
        /// SIGTERM/SIGINT (exit 143).
        case interrupted
    }

    public var kind: Kind
    /// One line, no secrets.
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }

    /// The process exit code for this kind.
    public var exitCode: Int32 { JobExit.code(for: kind) }

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
                return JobFailure(.badInput, "\(error.location ?? "the input"): the input object does not exist (\(error.code ?? "HTTP 404"))")
            }
            return JobFailure(.permission, text)
        }
    }
}

/// The job's documented exit codes.
public enum JobExit {
    public static func code(for kind: JobFailure.Kind) -> Int32 {
        switch kind {
        case .usage: 2
        case .badInput: 3
        case .io: 4
        case .resourceLimit: 5
        case .internal: 70
        case .transient: 75
        case .permission: 77
        case .interrupted: 143
        }
    }

    /// The table for `optimize job --help` and README.
    public static let table = """
        EXIT CODES (job):
          0    success: the output is completely uploaded (or already up to date)
          2    usage: bad flags, job spec or convert options (not retryable)
          3    bad input: corrupt/unsupported file, importer crash or timeout,
               input object missing (not retryable)
          4    local I/O: scratch folder not writable, disk full
          5    resource limit: output too large, child SIGKILLed (out of memory)
          70   internal error (a bug)
          75   transient: S3/network errors outlasted the retries (retryable)
          77   permission: access denied, bad credentials, missing output bucket
               (not retryable)
          143  interrupted by SIGTERM/SIGINT; nothing left at the output (retryable)
        """
}
