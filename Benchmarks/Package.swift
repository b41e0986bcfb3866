// swift-tools-version:6.2
// Cairn's benchmarks: a separate package so the main build and test stay lean.
// Each benchmark reports ratios against a baseline measured in the same run (hack/bench*).
import PackageDescription

let package = Package(
    name: "CairnBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "cairn-bench-io",
            dependencies: [.product(name: "CairnIO", package: "main")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
