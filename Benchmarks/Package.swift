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

/// What the targets that drive the engine directly depend on.
let engineProducts: [Target.Dependency] = [
    .product(name: "CairnEngine", package: "Cairn"),
    .product(name: "CairnStorage", package: "Cairn"),
    .product(name: "CairnIndex", package: "Cairn"),
]

let package = Package(
    name: "CairnBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Cairn", path: ".."),
        .package(url: "https://github.com/google/swift-benchmark", from: "0.1.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // The digests and the fill that cairn-bench-coldstart and cairn-bench-restart share.
        .target(
            name: "CairnBenchSupport",
            dependencies: engineProducts,
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "cairn-bench-io",
            dependencies: [.product(name: "CairnIO", package: "Cairn")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Fills a device through the engine, then times a cold start (hack/bench-coldstart).
        .executableTarget(
            name: "cairn-bench-coldstart",
            dependencies: ["CairnBenchSupport"] + engineProducts,
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Fills a file with a shared-memory index, then times warm and cold starts (hack/bench-restart).
        .executableTarget(
            name: "cairn-bench-restart",
            dependencies: ["CairnBenchSupport"] + engineProducts,
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Steady-state overwrite with defrag: throughput, write amplification (hack/bench-defrag).
        .executableTarget(
            name: "cairn-bench-defrag",
            dependencies: engineProducts,
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // Micro benchmarks of the storage hot paths: record format, block scan, primary index,
        // the engine's put and memory get (hack/bench-micro).
        .executableTarget(
            name: "cairn-bench-micro",
            dependencies: engineProducts + [
                .product(name: "CairnIO", package: "Cairn"),
                .product(name: "CairnTesting", package: "Cairn"),
                .product(name: "Benchmark", package: "swift-benchmark"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // An asbench-like load generator over the wire (hack/bench-load): N connections, key space,
        // record size, read/update mix, duration; throughput and latency percentiles.
        .executableTarget(
            name: "cairn-bench-load",
            dependencies: [
                .product(name: "CairnWire", package: "Cairn"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
