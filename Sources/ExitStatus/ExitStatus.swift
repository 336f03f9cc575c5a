/// Every exit code `optimize` and `optimize job` document, defined once: the CLI, the job and their `--help`
/// tables read it from here (README's table mirrors it).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case success = 0
    /// Bad flags, arguments, job spec or convert options; not retryable.
    case usage = 2
    /// Unsupported, corrupt or invalid input; not retryable.
    case badInput = 3
    /// A local file could not be read or written.
    case io = 4
    /// A limit was exceeded (output size, memory).
    case resourceLimit = 5
    /// Our bug: the output failed validation or an invariant broke; nothing was written.
    case `internal` = 70
    /// `optimize job`: S3/network errors outlasted the retries; retryable.
    case transient = 75
    /// `optimize job`: access denied, bad credentials, missing output bucket; not retryable.
    case permission = 77
    /// `optimize job`: SIGTERM/SIGINT; nothing left at the output; retryable.
    case interrupted = 143

    /// What the code means for a conversion (`optimize IN -o OUT`); nil for the job-only codes.
    public var convertMeaning: String? {
        switch self {
        case .success: "success"
        case .usage: "usage error (unknown option, missing argument)"
        case .badInput: "unsupported, corrupt or invalid input (also: `validate` found problems)"
        case .io: "I/O error (cannot read the input or write the output)"
        case .resourceLimit: "resource limit exceeded (e.g. output over 4 GiB)"
        case .internal: "internal error (our output failed validation: a bug; nothing was written)"
        case .transient, .permission, .interrupted: nil
        }
    }

    /// What the code means for `optimize job`.
    public var jobMeaning: String {
        switch self {
        case .success: "success: the output is completely uploaded (or already up to date)"
        case .usage: "usage: bad flags, job spec or convert options (not retryable)"
        case .badInput:
            "bad input: corrupt/unsupported file, importer crash or timeout, input object missing (not retryable)"
        case .io: "local I/O: scratch folder not writable, disk full"
        case .resourceLimit: "resource limit: output too large, child SIGKILLed (out of memory)"
        case .internal: "internal error (a bug)"
        case .transient: "transient: S3/network errors outlasted the retries (retryable)"
        case .permission: "permission: access denied, bad credentials, missing output bucket (not retryable)"
        case .interrupted: "interrupted by SIGTERM/SIGINT; nothing left at the output (retryable)"
        }
    }

    /// The conversion's table, for `optimize --help`.
    public static var convertTable: String {
        table("EXIT CODES:", allCases.compactMap { status in status.convertMeaning.map { (status, $0) } })
    }

    /// The job's table, for `optimize job --help`.
    public static var jobTable: String { table("EXIT CODES (job):", allCases.map { ($0, $0.jobMeaning) }) }

    private static func table(_ title: String, _ rows: [(ExitStatus, String)]) -> String {
        ([title]
            + rows.map { status, meaning in
                let code = String(status.rawValue)
                return "  " + code + String(repeating: " ", count: 5 - code.count) + meaning
            }).joined(separator: "\n")
    }
}
