import ArgumentParser
import Scene

/// The documented exit codes. Keep README.md and `optimize --help` in sync with this table.
enum Exit {
    static let ok: Int32 = 0
    static let usage: Int32 = 2
    static let badInput: Int32 = 3
    static let io: Int32 = 4
    static let resourceLimit: Int32 = 5
    static let `internal`: Int32 = 70

    static let table = """
        EXIT CODES:
          0   success
          2   usage error (unknown option, missing argument)
          3   unsupported, corrupt or invalid input (also: `validate` found problems)
          4   I/O error (cannot read the input or write the output)
          5   resource limit exceeded (e.g. output over 4 GiB)
          70  internal error (our output failed validation: a bug; nothing was written)
        """

    static func code(for error: ProcessingError) -> Int32 {
        switch error.kind {
        case .badInput: badInput
        case .io: io
        case .resourceLimit: resourceLimit
        case .internal: `internal`
        }
    }
}
