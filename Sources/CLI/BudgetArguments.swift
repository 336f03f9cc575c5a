import ArgumentParser
import Pipeline

/// The output-size budget option of `convert`.
struct BudgetArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Output-size budget: 5MB, 800KiB or plain bytes. Tries quantization with meshopt, then Draco; then smaller textures (down to 64 px); then fewer triangles (down to 5 %), keeping the most faithful output that fits. If even that floor is too big, writes the smallest output found with a warning (exit 0, budgetMet false in the report).",
            valueName: "size"))
    var maxBytes: String?

    /// The budget in bytes, or nil.
    var bytes: Int? { maxBytes.flatMap(parseByteCount) }

    func validate() throws {
        if let maxBytes, parseByteCount(maxBytes) == nil {
            throw ValidationError("--max-bytes takes a size such as 5MB, 800KiB or 250000")
        }
    }
}
