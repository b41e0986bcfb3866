// swift-tools-version:6.2
// Cairn's benchmarks: a separate package so the main build and test stay lean.
// Each benchmark reports ratios against a baseline measured in the same run (hack/bench*).
//
// The root package is named by `name:` below, not by its directory. SwiftPM identifies a path
// dependency by the last component of its path (`..` is `main` in /work/main, `wt-bench` in a
// worktree, whatever a CI clone is called), so `.product(…, package: "main")` only resolved in a
// checkout named `main`. `.package(name:path:)` is not deprecated (only the `name:url:` forms
// were, in tools 5.6): the name it gives is what `.product(…, package:)` matches, from any
// checkout directory.
import PackageDescription

let package = Package(
    name: "CairnBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Cairn", path: ".."),
        .package(url: "https://github.com/google/swift-benchmark", from: "0.1.2"),
    ],
    targets: [
        .executableTarget(
            name: "cairn-bench-io",
            dependencies: [.product(name: "CairnIO", package: "Cairn")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Fills a device through the engine, then times a cold start (hack/bench-coldstart).
        .executableTarget(
            name: "cairn-bench-coldstart",
            dependencies: [
                .product(name: "CairnEngine", package: "Cairn"),
                .product(name: "CairnStorage", package: "Cairn"),
                .product(name: "CairnIndex", package: "Cairn"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Steady-state overwrite with defrag: throughput, write amplification (hack/bench-defrag).
        .executableTarget(
            name: "cairn-bench-defrag",
            dependencies: [
                .product(name: "CairnEngine", package: "Cairn"),
                .product(name: "CairnStorage", package: "Cairn"),
                .product(name: "CairnIndex", package: "Cairn"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Micro benchmarks of the storage hot paths: record format, block scan, primary index
        // (hack/bench-micro).
        .executableTarget(
            name: "cairn-bench-micro",
            dependencies: [
                .product(name: "CairnStorage", package: "Cairn"),
                .product(name: "CairnIndex", package: "Cairn"),
                .product(name: "CairnIO", package: "Cairn"),
                .product(name: "CairnTesting", package: "Cairn"),
                .product(name: "Benchmark", package: "swift-benchmark"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
