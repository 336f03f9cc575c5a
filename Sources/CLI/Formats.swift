import ArgumentParser
import CommandSupport
import Importers

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats",
        abstract: "List the input formats, the importer that reads each one and whether it is available here.",
        discussion: "Converter plugins are looked up in OPTIMIZE_PLUGIN_PATH (colon-separated folders) when set, "
            + "else in <binary dir>/../share/optimize/plugins and the source tree's Sources/Plugins.")

    func run() throws {
        let registry = PluginRegistry.discover()
        let rows = supportedFormats(registry: registry)
        let width = rows.map(\.importer.count).max() ?? 0
        print("FORMAT   " + "IMPORTER".padded(to: width + 2) + "AVAILABLE")
        for row in rows {
            let note = row.detail.isEmpty ? "" : " (\(row.detail))"
            print(
                row.format.padded(to: 9)
                    + row.importer.padded(to: width + 2)
                    + (row.available ? "yes" : "no") + note)
        }
        for problem in registry.problems { printError("ignored plugin: \(problem)") }
    }
}
