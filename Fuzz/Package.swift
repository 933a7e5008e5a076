// swift-tools-version:6.0
// libFuzzer targets for Bulwark: a package of its own, so the main package and its CI are
// unaffected. Build and run with `scripts/fuzz` (see docs/fuzzing.md); by hand:
//
//     swift build --package-path Fuzz --scratch-path Fuzz/.build -c release \
//         -Xswiftc -sanitize=fuzzer,address -Xswiftc -g -Xswiftc -use-ld=lld
//     mkdir -p Fuzz/.build/corpus/message
//     Fuzz/.build/release/fuzz-message -max_total_time=60 Fuzz/.build/corpus/message Fuzz/Corpus/message
//
// (libFuzzer writes new inputs to the first directory: keep the committed seeds second.)
//
// Every target is an executable whose main.swift calls libFuzzer's LLVMFuzzerRunDriver (see
// FuzzSupport): SwiftPM compiles an executable's top-level code as `<Module>_main` and links
// with `--defsym main=<Module>_main` (for testable executables), which breaks the usual
// `@_cdecl("LLVMFuzzerTestOneInput")` + `-parse-as-library` recipe (no `<Module>_main` at all).
// lld, because GNU gold stops with an internal error on these ASan objects.
import Foundation
import PackageDescription

// The main package's identity is its directory's name ("main" here, something else in another
// clone), so the dependency is named from the path rather than spelled out.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let mainPackage = root.lastPathComponent

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let dnsWire: Target.Dependency = .product(name: "DNSWire", package: mainPackage)

// (executable product, target, dependencies)
let fuzzers: [(String, String, [Target.Dependency])] = [
    ("fuzz-message", "FuzzMessage", [dnsWire]),
    ("fuzz-zonefile", "FuzzZoneFile", [dnsWire]),
    ("fuzz-rpz", "FuzzRPZ", [dnsWire, "FuzzPolicy", "FuzzListSupport"]),
    ("fuzz-lists", "FuzzLists", [dnsWire, "FuzzPolicy", "FuzzListSupport"]),
    ("fuzz-warninglist", "FuzzWarninglist", [dnsWire, "FuzzPolicy", "FuzzIntel", "FuzzListSupport"]),
    ("fuzz-misp", "FuzzMISP", [dnsWire, "FuzzIntel"]),
    ("fuzz-doh", "FuzzDoH", [dnsWire]),
]

let package = Package(
    name: "BulwarkFuzz",
    platforms: [.macOS(.v15)],
    products: fuzzers.map { .executable(name: $0.0, targets: [$0.1]) },
    dependencies: [
        .package(path: "..")
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver (the runtime comes with -sanitize=fuzzer).
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], swiftSettings: swiftSettings),
        // The main package exports only DNSWire as a library product, so the other code under
        // test is compiled here from the main package's own sources: FuzzPolicy is a symlink
        // to ../Sources/Policy and FuzzIntel to ../Sources/ThreatIntel/Normalize (the MISP JSON
        // decoder, warninglists and the indicator normaliser, which need only Foundation and
        // DNSWire). Renamed modules, so they cannot clash with the main package's targets.
        .target(name: "FuzzPolicy", dependencies: [dnsWire], swiftSettings: swiftSettings),
        .target(name: "FuzzIntel", dependencies: [dnsWire], swiftSettings: swiftSettings),
        // The rule sink that checks what the list parsers deliver.
        .target(
            name: "FuzzListSupport", dependencies: [dnsWire, "FuzzPolicy", "FuzzSupport"], swiftSettings: swiftSettings),
    ]
        + fuzzers.map {
            .executableTarget(name: $0.1, dependencies: $0.2 + ["FuzzSupport"], swiftSettings: swiftSettings)
        }
)
