// swift-tools-version:6.1
import PackageDescription

/// Executables link with lld and packed relative relocations (DT_RELR, glibc ≥ 2.36): a static-stdlib binary
/// otherwise reads 1.9 MB of relocation records at every start (RSS of a 12-triangle conversion 24.3 → 22.4 MB).
let leanStartup: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))
]

/// `optimize` places the functions a small conversion runs first and together (benchmarks/link-order.sh writes the
/// list): a 12-triangle conversion then maps about 3.5 MB less of the binary's code.
let startupOrder: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/CLI/link-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering"
        ], .when(platforms: [.linux]))
]

let package = Package(
    name: "optimize",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "optimize", targets: ["optimize"]),
        .executable(name: "optimize-job", targets: ["optimize-job"]),
        .library(name: "Pipeline", targets: ["Pipeline"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3")
    ],
    targets: [
        // C libraries, each behind one thin bridge used from one module.
        // Assimp is loaded on first use (dlopen), not linked: most conversions never need it.
        .target(name: "CAssimp", path: "Sources/Bridges/CAssimp"),
        .systemLibrary(
            name: "CMeshopt", path: "Sources/Bridges/CMeshopt",
            providers: [.apt(["libmeshoptimizer-dev"])]),
        .target(name: "CDraco", path: "Sources/Bridges/CDraco", linkerSettings: [.linkedLibrary("draco")]),
        .target(name: "Draco", dependencies: ["CDraco"], path: "Sources/Bridges/Draco"),
        .systemLibrary(
            name: "CPNG", path: "Sources/Bridges/CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CTurboJPEG", path: "Sources/Bridges/CTurboJPEG", pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/Bridges/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CWebP", path: "Sources/Bridges/CWebP", pkgConfig: "libwebp",
            providers: [.apt(["libwebp-dev"])]),

        // Data flow: import → scene → stages → GLB; Pipeline composes them; the CLI and job sit on top.
        // The documented exit codes, defined once for the CLI and the job.
        .target(name: "ExitStatus", path: "Sources/ExitStatus"),
        .target(name: "Scene", dependencies: ["ExitStatus"], path: "Sources/Scene"),
        // Starting child processes (plugins, the job's conversion child): posix_spawn in one place.
        .target(name: "CSpawn", path: "Sources/Spawn/CSpawn"),
        .target(name: "Spawn", dependencies: ["CSpawn"], path: "Sources/Spawn", exclude: ["CSpawn"]),
        // Reading helpers every native importer shares: memory-mapped files, bounds-checked binary reading, the
        // model-folder path guard.
        .target(name: "ImportSupport", dependencies: ["Scene"], path: "Sources/Importers/Support"),
        // Format detection and routing (native readers, Assimp in Assimp/, plugins).
        .target(
            name: "Importers",
            dependencies: [
                "Scene", "ImportSupport", "Spawn", "CAssimp", "AlembicImporter",
                "OBJImporter", "STLImporter", "PLYImporter", "FBXImporter", "GLTFImporter", "Textures"
            ],
            path: "Sources/Importers", exclude: ["Support", "OBJ", "STL", "PLY", "FBX", "GLTF"]),
        // Native streaming readers for OBJ (+MTL), STL and PLY.
        .target(name: "OBJImporter", dependencies: ["Scene", "ImportSupport"], path: "Sources/Importers/OBJ"),
        .target(name: "STLImporter", dependencies: ["Scene", "ImportSupport"], path: "Sources/Importers/STL"),
        .target(name: "PLYImporter", dependencies: ["Scene", "ImportSupport"], path: "Sources/Importers/PLY"),
        // Native FBX reader (binary and ASCII); Assimp reads what it reports it cannot.
        .target(name: "FBXImporter", dependencies: ["Scene", "ImportSupport", "CZlib"], path: "Sources/Importers/FBX"),
        // The native glTF 2.0 / GLB reader (Draco and meshopt decoding through their bridges).
        .target(
            name: "GLTFImporter", dependencies: ["Scene", "ImportSupport", "Meshopt", "Draco"],
            path: "Sources/Importers/GLTF"),
        .target(name: "Stages", dependencies: ["Scene", "Meshopt"], path: "Sources/Stages"),
        .target(name: "Meshopt", dependencies: ["CMeshopt"], path: "Sources/Bridges/Meshopt"),
        .target(name: "GLB", dependencies: ["Scene", "Meshopt", "Draco"], path: "Sources/GLB"),
        .target(
            name: "Textures", dependencies: ["Scene", "Stages", "CPNG", "CTurboJPEG", "CWebP"], path: "Sources/Textures"
        ),
        // The CPU preview renderer (`--preview`): decodes and encodes images through Textures.
        .target(name: "Preview", dependencies: ["Scene", "Textures"], path: "Sources/Preview"),
        .target(
            name: "Pipeline",
            dependencies: ["Scene", "ImportSupport", "Importers", "Stages", "GLB", "Textures", "Preview"],
            path: "Sources/Pipeline"),
        .target(name: "AlembicImporter", dependencies: ["Scene"], path: "Sources/Plugins/Alembic"),
        .target(name: "S3", dependencies: [.product(name: "Crypto", package: "swift-crypto")], path: "Sources/S3"),
        .target(
            name: "Job", dependencies: ["ExitStatus", "Spawn", "S3", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Job"),
        // What both executables share: running a command line and mapping failures to exit codes.
        .target(
            name: "CommandSupport",
            dependencies: ["ExitStatus", "Scene", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CommandSupport"),
        // `optimize`: convert, inspect, validate, …; hands `job` and `s3` to `optimize-job`, so it never links the
        // network code.
        .executableTarget(
            name: "optimize",
            dependencies: [
                "CommandSupport", "ExitStatus", "Pipeline", "ImportSupport", "Importers", "Stages", "Textures", "GLB",
                "Scene", "Preview",
                "Spawn", .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Sources/CLI", exclude: ["link-order.txt"], linkerSettings: leanStartup + startupOrder),
        // `optimize-job`: the Kubernetes Job worker and `s3 cp` (S3, Step Functions, webhooks); converts through
        // `optimize` in a child process.
        .executableTarget(
            name: "optimize-job",
            dependencies: [
                "CommandSupport", "ExitStatus", "Job", "S3", "Scene", "Spawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Sources/JobCLI", linkerSettings: leanStartup),

        .testTarget(name: "SceneTests", dependencies: ["Scene"], path: "Tests/SceneTests"),
        .testTarget(
            name: "ImportersTests", dependencies: ["TestSupport", "Importers", "ImportSupport", "Textures"],
            path: "Tests/ImportersTests"),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Importers"], path: "Tests/StagesTests"),
        .testTarget(name: "GLBTests", dependencies: ["GLB"], path: "Tests/GLBTests"),
        .testTarget(
            name: "DracoTests", dependencies: ["TestSupport", "Draco", "GLB", "Importers"], path: "Tests/DracoTests",
            exclude: ["dracopy_decode.py"]),
        .testTarget(
            name: "TexturesTests",
            dependencies: ["TestSupport", "Textures", "Pipeline", "GLB", "Importers", "optimize"],
            path: "Tests/TexturesTests"),
        .testTarget(
            name: "MeshImportersTests",
            dependencies: [
                "TestSupport", "OBJImporter", "STLImporter", "PLYImporter", "Importers", "optimize",
                "ImportSupport", "Scene"
            ], path: "Tests/MeshImportersTests"),
        .testTarget(
            name: "FBXImporterTests", dependencies: ["TestSupport", "FBXImporter", "Importers", "ImportSupport"],
            path: "Tests/FBXImporterTests"),
        .testTarget(
            name: "GLTFImporterTests", dependencies: ["TestSupport", "GLTFImporter", "GLB"],
            path: "Tests/GLTFImporterTests"),
        .testTarget(
            name: "AlembicImporterTests", dependencies: ["AlembicImporter"], path: "Tests/AlembicImporterTests"),
        // Shared by the test targets: the repository's paths and the Python helper servers (moto S3, proxies).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "JobTests", dependencies: ["Job", "TestSupport", "optimize", "optimize-job"], path: "Tests/JobTests",
            exclude: ["Support"]),
        .testTarget(
            name: "S3Tests", dependencies: ["S3", "TestSupport"], path: "Tests/S3Tests", exclude: ["Vectors", "Support"]
        ),
        .testTarget(
            name: "PreviewTests", dependencies: ["TestSupport", "Preview", "Importers"], path: "Tests/PreviewTests"),
        .testTarget(
            name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "optimize"], path: "Tests/PipelineTests")
    ]
)
