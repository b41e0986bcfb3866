// swift-tools-version:6.2
//
// Cairn: a persistent key-value daemon that speaks Aerospike's client protocol.
//
// Dependencies point one way (DESIGN.md "Layout"):
//   cairnd -> CairnServer -> CairnEngine -> CairnStorage/CairnIndex -> CairnIO -> CLiburing
// CairnWire, CairnConfig and CairnParticle depend on nothing of ours (CairnEngine uses CairnParticle).
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cairnd", targets: ["cairnd"]),
        .executable(name: "cairnctl", targets: ["cairnctl"]),
        .library(name: "CairnIO", targets: ["CairnIO"]),
        .library(name: "CairnStorage", targets: ["CairnStorage"]),
        .library(name: "CairnIndex", targets: ["CairnIndex"]),
        .library(name: "CairnModel", targets: ["CairnModel"]),
        .library(name: "CairnEngine", targets: ["CairnEngine"]),
        .library(name: "CairnWire", targets: ["CairnWire"]),
        .library(name: "CairnParticle", targets: ["CairnParticle"]),
        .library(name: "CairnConfig", targets: ["CairnConfig"]),
        .library(name: "CairnTesting", targets: ["CairnTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // C shim: the only place that includes <liburing.h>. Forwarding only, 0/-errno results.
        .target(
            name: "CLiburing",
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .target(name: "CairnIO", dependencies: ["CLiburing"], swiftSettings: swiftSettings),
        // C shim: the only place that includes Lua 5.4's headers (Debian's liblua5.4-dev). Forwards
        // the API's macros; record UDFs run through it (CairnLua).
        .target(
            name: "CLua",
            linkerSettings: [.linkedLibrary("lua5.4")]
        ),
        // Record UDFs: registered Lua modules and Aerospike's Lua environment over Lua states.
        .target(name: "CairnLua", dependencies: ["CLua", "CairnParticle"], swiftSettings: swiftSettings),
        .target(name: "CairnModel", swiftSettings: swiftSettings),
        // C shim: prefetch and relaxed-load hints for the index's batched inserts (header only).
        .target(name: "CCacheHints"),
        .target(name: "CairnIndex", dependencies: ["CairnModel", "CCacheHints"], swiftSettings: swiftSettings),
        .target(
            name: "CairnStorage",
            dependencies: ["CairnIO", "CairnIndex", "CairnModel"],
            exclude: ["FORMAT.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnEngine",
            dependencies: ["CairnStorage", "CairnIndex", "CairnIO", "CairnParticle"],
            swiftSettings: swiftSettings
        ),
        .target(name: "CairnWire", dependencies: ["CairnModel"], swiftSettings: swiftSettings),
        // Aerospike's msgpack dialect and the collection (CDT) operations; pure.
        .target(name: "CairnParticle", swiftSettings: swiftSettings),
        .target(name: "CairnConfig", swiftSettings: swiftSettings),
        .target(
            name: "CairnServer",
            dependencies: [
                "CairnEngine", "CairnIndex", "CairnStorage", "CairnWire", "CairnConfig", "CairnIO", "CairnParticle", "CLiburing",
                "CairnLua",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CairnTesting",
            dependencies: ["CairnIO"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cairnd",
            dependencies: [
                "CairnServer", "CairnConfig", "CairnEngine", "CairnLua", "CairnIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cairnctl",
            dependencies: [
                "CairnConfig", "CairnWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // A child process for crash tests (killed with SIGKILL by CairnEngineTests).
        .target(name: "CairnSimulation", dependencies: ["CairnEngine", "CairnTesting"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "cairn-sim",
            dependencies: ["CairnSimulation", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        .testTarget(name: "CairnSimulationTests", dependencies: ["CairnSimulation", "CairnStorage"], swiftSettings: swiftSettings),
        .executableTarget(name: "cairn-crash-writer", dependencies: ["CairnEngine", "CairnTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnIOTests", dependencies: ["CairnIO", "CairnTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnIndexTests", dependencies: ["CairnIndex"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CairnStorageTests",
            dependencies: ["CairnStorage", "CairnTesting", "CairnModel", "CairnIndex", "CairnIO"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CairnEngineTests",
            dependencies: ["CairnEngine", "CairnTesting", "CairnParticle"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CairnParticleTests", dependencies: ["CairnParticle", "CairnTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnWireTests", dependencies: ["CairnWire", "CairnTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnLuaTests", dependencies: ["CairnLua", "CairnParticle"], swiftSettings: swiftSettings),
        .testTarget(name: "CairnConfigTests", dependencies: ["CairnConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CairnServerTests",
            dependencies: ["CairnServer", "CairnWire", "CairnEngine", "CairnIndex", "CairnStorage", "CairnTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
