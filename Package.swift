// swift-tools-version:6.0
import PackageDescription

/// Speed needs AVX2+FMA code generation: without `-target-cpu haswell` every SIMD8 fused multiply-add
/// becomes eight scalar `fmaf` calls (see the README's "Performance" section).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"])]

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
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CSystemZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libpng's full API reports errors by longjmp, which only C code may catch
        .target(name: "CImageCodecs", dependencies: ["CPNG"]),
        .target(name: "ViTKit", dependencies: ["CBLAS", "CPNG", "CImageCodecs", "CSystemZlib", "CTurboJPEG", "COpenSSL", "ZIPFoundation"],
                swiftSettings: fast),
        .target(
            name: "ViTKitCLI",
            dependencies: ["ViTKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Yams", package: "Yams")],
            swiftSettings: fast),
        .executableTarget(name: "vitkit", dependencies: ["ViTKitCLI"], swiftSettings: fast),
        .testTarget(name: "ViTKitTests", dependencies: ["ViTKit", "ViTKitCLI", "vitkit"], resources: [.copy("Fixtures"), .copy("Support")],
                    swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
