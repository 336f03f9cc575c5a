import ArgumentParser
import Pipeline
import Preview

/// The preview-image options of `convert`.
struct PreviewArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Also render a PNG preview of the optimized model (CPU rasterizer, three-quarter view); a failure to render is a warning.",
            valueName: "OUT.png"))
    var preview: String?

    @Option(help: "Width and height of the preview in pixels, 16-4096.")
    var previewSize = 512

    @Option(help: ArgumentHelp("Preview background: #RRGGBB (default #F0F0F0) or transparent.", valueName: "color"))
    var previewBackground: String?

    func validate() throws {
        if !(16...4096).contains(previewSize) { throw ValidationError("--preview-size must be in 16...4096") }
        if let previewBackground, PreviewBackground(argument: previewBackground) == nil {
            throw ValidationError("--preview-background must be #RRGGBB or transparent")
        }
    }

    /// The preview request, or nil without `--preview`.
    var request: PreviewRequest? {
        guard let preview else { return nil }
        var options = PreviewOptions()
        options.size = previewSize
        if let previewBackground, let background = PreviewBackground(argument: previewBackground) {
            options.background = background
        }
        return PreviewRequest(path: preview, options: options)
    }
}
