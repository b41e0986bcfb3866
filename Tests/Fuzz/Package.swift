// swift-tools-version:6.2
// libFuzzer targets for Cairn's untrusted-input parsers (hack/fuzz builds and runs them):
// the wire decoder, the info parser, the record decoder, the block scanner, the config parser and
// the msgpack decoder with the collection (CDT) executor, the bit and HLL operation executors, and filter expressions.
//
// A separate package because every target is built with `-sanitize=fuzzer`, which the main build
// must not see. Each target's main.swift hands its input callback to libFuzzer's driver
// (CFuzzDriver), since SwiftPM supplies the executable's `main`. The root package is named with `.package(name:path:)` for the same reason as in
// Benchmarks/Package.swift: so `package: "Cairn"` resolves from any checkout directory.
import PackageDescription

// The sanitizer flags come from the command line (hack/fuzz: `-Xswiftc -sanitize=fuzzer,address`)
// so that Cairn's modules are instrumented too, not only these entry files: coverage inside
// CairnWire/CairnStorage/CairnConfig is what guides the fuzzer. lld links (gold fails on the
// instrumented objects).
let fuzzFlags: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let fuzzLink: [LinkerSetting] = [.unsafeFlags(["-use-ld=lld"])]

func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.target(name: "CFuzzDriver")] + products.map { .product(name: $0, package: "Cairn") },
        swiftSettings: fuzzFlags,
        linkerSettings: fuzzLink
    )
}

let package = Package(
    name: "CairnFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Cairn", path: "../..")],
    targets: [
        .target(name: "CFuzzDriver"),
        fuzzTarget("fuzz-wire", ["CairnWire"]),
        fuzzTarget("fuzz-info", ["CairnWire"]),
        fuzzTarget("fuzz-record", ["CairnStorage", "CairnIO"]),
        fuzzTarget("fuzz-blockscan", ["CairnStorage", "CairnIO"]),
        fuzzTarget("fuzz-config", ["CairnConfig"]),
        fuzzTarget("fuzz-cdt", ["CairnParticle"]),
        fuzzTarget("fuzz-bits", ["CairnParticle"]),
        fuzzTarget("fuzz-exp", ["CairnParticle"]),
    ]
)
