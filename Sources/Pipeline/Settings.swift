import ExitStatus
import GLB
import Importers
import Preview
import Stages
import Textures

/// Every option of a conversion, in one value. The CLI and the job build it; stages read their part.
public struct Settings: Sendable, Equatable {
    /// Worker threads for the parallel stages; 0 means "from the container's CPU limit".
    public var threads = 0
    /// Native readers (the default) or Assimp for the formats that have both (`--importer`).
    public var importer: ImporterChoice = .native
    /// Run Assimp and converter plugins in a child process with time and memory limits; nil = in this process.
    public var isolation: ImportIsolation?
    /// Merge vertices identical in every stream; drop unused vertices and degenerate triangles (lossless).
    public var weld = true
    /// Share identical meshes, materials, textures, samplers and images (lossless).
    public var deduplicate = true
    /// Fold sibling nodes drawing the same mesh into one `EXT_mesh_gpu_instancing` node (`--instancing`).
    public var instancing = false
    /// Bake the meshes of static nodes into one mesh on one node (`--flatten`, on in `--preset web`).
    public var flatten = false
    /// Drop normals that equal the flat normals viewers compute where none are given (`dropFlatNormals`;
    /// `--keep-flat-normals` turns it off).
    public var dropFlatNormals = true
    /// Reduce triangles; nil keeps every triangle.
    public var simplify: SimplifyOptions?
    /// Reorder triangles and vertices for the GPU's vertex cache, overdraw and vertex fetch (lossless).
    public var reorder = true
    /// Texture decoding, resizing and re-encoding; `.keep` format still turns BMP/TGA into PNG.
    public var textures = TextureOptions()
    /// Integer vertex storage, `KHR_mesh_quantization` (`--quantize`, `--position-bits`, …); nil keeps floats.
    public var quantization: Quantization?
    /// Geometry compression in the GLB (`--compress`).
    public var compression: Compression = .none
    /// Output-size budget in bytes (`--max-bytes`): search compression, texture size and triangle share for the
    /// most faithful output that fits (see `searchBudget`); nil = no budget.
    public var maxBytes: Int?
    /// Levels of detail (`--lods`): shares of the full triangle count, each coarser than the last; empty = none.
    public var lods: [Float] = []
    /// Write each level to its own file (`NAME.lod1.glb`, …) instead of one file with `MSFT_lod` (`--lod-files`).
    public var lodFiles = false
    /// Render a PNG preview of the optimized scene after writing the GLB (`--preview`); nil renders none.
    public var preview: PreviewRequest?
    /// `asset.generator` in the output.
    public var generator = "optimize \(optimizeVersion)"

    public init() {}

    /// The thread count to use: `threads`, or the container's CPU limit when it is 0.
    var effectiveThreads: Int { threads > 0 ? threads : defaultThreadCount() }

    /// The fewest bits positions may be stored with on a grid: by quantization, by Draco, or by what the `--max-bytes`
    /// search may try; nil when they stay floats.
    var coarsestPositionBits: Int? {
        var bits: [Int] = []
        if let quantization { bits.append(quantization.positionBits) }
        if case .draco(let draco) = compression { bits.append(draco.positionBits) }
        if maxBytes != nil { bits += [(quantization ?? Quantization()).positionBits, DracoSettings().positionBits] }
        return bits.min()
    }
}

/// Where and how to render the preview image.
public struct PreviewRequest: Sendable, Equatable {
    /// The PNG file to write.
    public var path: String
    public var options: PreviewOptions

    public init(path: String, options: PreviewOptions = PreviewOptions()) {
        self.path = path
        self.options = options
    }
}
