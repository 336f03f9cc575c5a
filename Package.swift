// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "optimize",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "optimize", targets: ["optimize"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries, each behind one thin bridge used from one module.
        .systemLibrary(name: "CAssimp", path: "Sources/Bridges/CAssimp", pkgConfig: "assimp",
                       providers: [.apt(["libassimp-dev"])]),
        .systemLibrary(name: "CMeshopt", path: "Sources/Bridges/CMeshopt",
                       providers: [.apt(["libmeshoptimizer-dev"])]),
        .target(name: "CDraco", path: "Sources/Bridges/CDraco", linkerSettings: [.linkedLibrary("draco")]),
        .target(name: "Draco", dependencies: ["CDraco"], path: "Sources/Bridges/Draco"),
        .systemLibrary(name: "CPNG", path: "Sources/Bridges/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/Bridges/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CWebP", path: "Sources/Bridges/CWebP", pkgConfig: "libwebp",
                       providers: [.apt(["libwebp-dev"])]),

        // Data flow: import → scene → stages → GLB; Pipeline composes them; the CLI and job sit on top.
        .target(name: "Scene", path: "Sources/Scene"),
        // Starting child processes (plugins, the job's conversion child): posix_spawn in one place.
        .target(name: "CSpawn", path: "Sources/Spawn/CSpawn"),
        .target(name: "Spawn", dependencies: ["CSpawn"], path: "Sources/Spawn", exclude: ["CSpawn"]),
        // Reading helpers every native importer shares: memory-mapped files, bounds-checked binary reading, the
        // model-folder path guard.
        .target(name: "ImportSupport", dependencies: ["Scene"], path: "Sources/Importers/Support"),
        // Format detection and routing (native readers, Assimp in Assimp/, plugins).
        .target(name: "Importers", dependencies: ["Scene", "ImportSupport", "Spawn", "CAssimp", "AlembicImporter"],
                path: "Sources/Importers", exclude: ["Support"]),
        .target(name: "Stages", dependencies: ["Scene", "Meshopt"], path: "Sources/Stages"),
        .target(name: "Meshopt", dependencies: ["CMeshopt"], path: "Sources/Bridges/Meshopt"),
        .target(name: "GLB", dependencies: ["Scene", "Meshopt", "Draco"], path: "Sources/GLB"),
        .target(name: "Textures", dependencies: ["Scene", "CPNG", "CTurboJPEG", "CWebP"], path: "Sources/Textures"),
        .target(name: "Pipeline", dependencies: ["Scene", "Importers", "Stages", "GLB", "Textures"], path: "Sources/Pipeline"),
        .target(name: "AlembicImporter", dependencies: ["Scene"], path: "Sources/Plugins/Alembic"),
        .target(name: "S3", dependencies: [.product(name: "Crypto", package: "swift-crypto")], path: "Sources/S3"),
        .target(name: "Job", dependencies: ["Spawn", "S3", .product(name: "Crypto", package: "swift-crypto")], path: "Sources/Job"),
        .executableTarget(
            name: "optimize",
            dependencies: ["Pipeline", "Importers", "Stages", "Textures", "GLB", "S3", "Job", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/CLI"),

        .testTarget(name: "SceneTests", dependencies: ["Scene"], path: "Tests/SceneTests"),
        .testTarget(name: "ImportersTests", dependencies: ["Importers", "ImportSupport"], path: "Tests/ImportersTests"),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Importers"], path: "Tests/StagesTests"),
        .testTarget(name: "GLBTests", dependencies: ["GLB"], path: "Tests/GLBTests"),
        .testTarget(name: "DracoTests", dependencies: ["Draco", "GLB", "Importers"], path: "Tests/DracoTests",
                    exclude: ["dracopy_decode.py"]),
        .testTarget(name: "TexturesTests", dependencies: ["Textures", "Pipeline", "GLB", "Importers", "optimize"],
                    path: "Tests/TexturesTests"),
        .testTarget(name: "AlembicImporterTests", dependencies: ["AlembicImporter"], path: "Tests/AlembicImporterTests"),
        .testTarget(name: "JobTests", dependencies: ["Job"], path: "Tests/JobTests", exclude: ["Support"]),
        .testTarget(name: "S3Tests", dependencies: ["S3"], path: "Tests/S3Tests", exclude: ["Vectors", "Support"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "optimize"], path: "Tests/PipelineTests"),
    ]
)
