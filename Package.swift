// swift-tools-version:6.0
import Foundation
import PackageDescription

/// On x86-64 speed needs AVX2+FMA code generation: without `-target-cpu haswell` every SIMD8 fused multiply-add
/// becomes eight scalar `fmaf` calls (see the README's "Performance" section); `vitkit` checks the CPU for both
/// before it runs any of that code (CCPUCheck). Elsewhere (arm64: Apple silicon, Graviton) the compiler's default
/// target already has NEON, which SIMD8 maps onto. The manifest is compiled for the machine that builds, so this
/// follows the host's architecture (a cross-compile to another one passes its own -target-cpu).
#if arch(x86_64)
let codegen = ["-target-cpu", "haswell"]
#else
let codegen: [String] = []
#endif
/// `VITKIT_FUZZ=1` (scripts/fuzz.sh, with `--sanitize=fuzzer` for the dependencies' coverage) builds ViTKit's code
/// with coverage and AddressSanitizer together (swiftc keeps only its last `-sanitize=`, so SwiftPM's separate
/// `--sanitize` flags cannot combine them), links `vitkit-fuzz` to libFuzzer, and keeps Swift's overflow and bounds
/// checks (`-O`, not `-Ounchecked`), so a parser's bad index or size traps where the fuzzer sees it.
let fuzzing = ProcessInfo.processInfo.environment["VITKIT_FUZZ"] == "1"
let sanitizers = fuzzing ? ["-sanitize=fuzzer,address"] : []
let fast: [SwiftSetting] = [.unsafeFlags([fuzzing ? "-O" : "-Ounchecked"] + codegen + sanitizers)]

/// BLAS and LAPACK (`cblas_sgemm`, `dgesvd`): Accelerate on Apple platforms, OpenBLAS elsewhere.
let apple: [Platform] = [.macOS, .iOS, .tvOS, .visionOS]
let blas: [Target.Dependency] = [.target(name: "CBLAS", condition: .when(platforms: [.linux, .android, .windows, .openbsd, .wasi]))]
let accelerate: [LinkerSetting] = [.linkedFramework("Accelerate", .when(platforms: apple))]

let package = Package(
    name: "ViTKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ViTKit", targets: ["ViTKit"]),
        .executable(name: "vitkit", targets: ["vitkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // `swift package generate-documentation --target ViTKit` builds the DocC catalog
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS off Apple platforms; there BLAS and LAPACK come from Accelerate (see blas below)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(name: "CSystemZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        // libpng's full API reports errors by longjmp, which only C code may catch
        .target(name: "CImageCodecs", dependencies: ["CPNG"], cSettings: [.unsafeFlags(fuzzing ? ["-fsanitize=fuzzer-no-link,address"] : [])]),
        // Open MPI loaded at run time (dlopen): builds without MPI, joins an mpirun job when started by one
        .target(name: "CMPILoader", linkerSettings: [.linkedLibrary("dl")]),
        // one module per concern; their imports form a graph without cycles (README: "Modules")
        .target(name: "ViTKitCore", dependencies: blas, swiftSettings: fast, linkerSettings: accelerate),
        .target(name: "ViTKitNN", dependencies: ["ViTKitCore"], swiftSettings: fast),
        .target(name: "ViTKitDistributed", dependencies: ["ViTKitCore", "CMPILoader"], swiftSettings: fast),
        .target(name: "ViTKitIO", dependencies: ["ViTKitCore", "CSystemZlib", "COpenSSL", "ZIPFoundation"], swiftSettings: fast),
        .target(name: "ViTKitImaging", dependencies: ["ViTKitCore", "ViTKitIO", "CPNG", "CImageCodecs", "CTurboJPEG"], swiftSettings: fast),
        .target(name: "ViTKitData", dependencies: ["ViTKitCore", "ViTKitIO", "ViTKitImaging"], swiftSettings: fast),
        .target(name: "ViTKitModels", dependencies: ["ViTKitCore", "ViTKitNN", "ViTKitIO", "ViTKitImaging"], swiftSettings: fast),
        .target(name: "ViTKitPictures", dependencies: ["ViTKitCore", "ViTKitNN", "ViTKitIO", "ViTKitImaging", "ViTKitModels"], swiftSettings: fast),
        .target(name: "ViTKitTraining", dependencies: ["ViTKitCore", "ViTKitNN", "ViTKitIO", "ViTKitImaging", "ViTKitData",
                                                       "ViTKitModels", "ViTKitPictures", "ViTKitDistributed"], swiftSettings: fast),
        .target(name: "ViTKit", dependencies: ["ViTKitCore", "ViTKitNN", "ViTKitIO", "ViTKitImaging", "ViTKitData", "ViTKitModels",
                                               "ViTKitPictures", "ViTKitTraining", "ViTKitDistributed"], swiftSettings: fast),
        .target(
            name: "ViTKitCLI",
            dependencies: ["ViTKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Yams", package: "Yams"), "CStopSignals"],
            swiftSettings: fast),
        // SIGINT and SIGTERM recorded for the training loop (a C handler: only async-signal-safe code in it)
        .target(name: "CStopSignals"),
        // checks for AVX2 and FMA before main (compiled without them)
        .target(name: "CCPUCheck"),
        .executableTarget(name: "vitkit", dependencies: ["ViTKitCLI", "CCPUCheck"], swiftSettings: fast),
        // coverage-guided fuzzing of every parser of user files (README: "Fuzzing"): the targets, and the program that
        // hands them to libFuzzer (VITKIT_FUZZ=1) or, in a plain build, replays files through them
        .target(name: "ViTKitFuzz", dependencies: ["ViTKitCore", "ViTKitIO", "ViTKitImaging", "ViTKitData", "ViTKitModels", "ViTKitCLI"], swiftSettings: fast),
        .executableTarget(name: "vitkit-fuzz", dependencies: ["ViTKitFuzz"],
                          swiftSettings: fast + (fuzzing ? [.define("VITKIT_LIBFUZZER")] : []),
                          linkerSettings: [.unsafeFlags(sanitizers)]),
        // runnable examples of the Swift API (README: "The Swift API"); CI builds and runs each at a tiny size
        .executableTarget(name: "TrainOnFolder", dependencies: ["ViTKit"], path: "Examples/TrainOnFolder", swiftSettings: fast),
        .executableTarget(name: "CustomLoop", dependencies: ["ViTKit"], path: "Examples/CustomLoop", swiftSettings: fast),
        .executableTarget(name: "PredictWithTimm", dependencies: ["ViTKit"], path: "Examples/PredictWithTimm", swiftSettings: fast),
        .testTarget(name: "ViTKitTests", dependencies: ["ViTKit", "ViTKitCore", "ViTKitNN", "ViTKitIO", "ViTKitImaging", "ViTKitData",
                                                     "ViTKitModels", "ViTKitPictures", "ViTKitTraining", "ViTKitDistributed", "ViTKitCLI", "vitkit", "ViTKitFuzz"], resources: [.copy("Fixtures"), .copy("Support")],
                    swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
