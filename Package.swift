// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

/// The data plane's per-query modules (transport, cache, query chain), in release builds only:
/// no dynamic exclusivity checks. Their own per-thread state was already marked
/// `@exclusivity(unchecked)` property by property; what was left is SwiftNIO's `ByteBuffer`
/// code inlined into them (every `withUnsafeReadableBytes` and `getInteger` on a query: a
/// thread-local lookup and an access-set insert each), about 8-14 % of a cache hit's user time
/// measured with `bulwark-hotpath`. Debug builds, which run the tests, keep every check.
/// (Not for DNSWire, a library product others may depend on, nor for the control plane.)
let hotPathSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

/// How the `bulwark` executable is linked on Linux, for a smaller resident set (issue 3: 1M names
/// in ≤ 64 MiB RSS). Most of a Swift server's RSS is file-backed: the kernel maps 64 KiB of
/// cached file around every page a process touches, and the dynamic linker reads every
/// relocation and looks every symbol up in Foundation's export tables at start. So:
/// - `-static-stdlib`: the Swift runtime and Foundation go into the binary (no symbol lookups in
///   libFoundation/libswiftCore's export tables; `--gc-sections` drops what is not used);
/// - lld with `-z pack-relative-relocs` (DT_RELR, glibc ≥ 2.36): the ~80k relative relocations of
///   a position-independent binary take 30 KB instead of 2–3.5 MB, all of which was read at start;
/// - `--no-export-dynamic`: nothing loads code into `bulwark` that needs its symbols, so its
///   dynamic symbol table shrinks from 1.3 MB to the few imports.
/// Measured in bench/README.md ("Memory at 1M names").
let leanLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-static-stdlib", "-use-ld=lld",
            "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--no-export-dynamic",
            // What static Foundation needs besides the libraries the modules name (SwiftPM's
            // `--static-swift-stdlib` gets them from the static module maps; lld resolves archives
            // in any order).
            "-l_FoundationICU", "-lCoreFoundation", "-l_FoundationCShims", "-l_FoundationCollections",
        ],
        .when(platforms: [.linux])
    )
]

let package = Package(
    name: "Bulwark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bulwark", targets: ["bulwark"]),
        .executable(name: "bulwark-hotpath", targets: ["HotPathBench"]),
        .library(name: "DNSWire", targets: ["DNSWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.0.0"),
    ],
    targets: [
        // Pure DNS values: names, messages, RDATA, EDNS. No I/O; imports NIOCore at most.
        .target(
            name: "DNSWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // recvmmsg/sendmmsg for the native UDP engine (needs _GNU_SOURCE, so it is C).
        .target(name: "CBulwarkNet"),
        // NIO listeners (UDP, TCP, DoT), the native UDP engine and the upstream clients (UDP/TCP, DoT).
        .target(
            name: "DNSTransport",
            dependencies: [
                "DNSWire", "CBulwarkNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The compiled, immutable policy: names, prefixes, profiles, verdicts; and the list parsers.
        .target(
            name: "Policy",
            dependencies: ["DNSWire"],
            swiftSettings: swiftSettings
        ),
        // Repository protocols for the threat-intel store, and their SQLite (GRDB) implementation.
        .target(
            name: "Storage",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Indicators and their provenance: MISP pull and push, feeds, warninglists, lifecycle,
        // sightings, and the compiler from the indicator store to policy rules.
        .target(
            name: "ThreatIntel",
            dependencies: [
                "Storage", "Policy", "DNSWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP control plane (Hummingbird): REST API, MISP-compatible push API, API keys.
        .target(
            name: "ControlPlane",
            dependencies: [
                "ThreatIntel", "Storage", "Policy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        // The policy published as RPZ zones: zone contents, serials and journal, AXFR/IXFR/NOTIFY
        // with TSIG, and the transfer client for following someone else's RPZ primary.
        .target(
            name: "RPZ",
            dependencies: [
                "DNSWire", "Policy", "DNSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Cache and forwarding.
        .target(
            name: "Resolver",
            dependencies: [
                "DNSWire", "DNSTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The query chain.
        .target(
            name: "Pipeline",
            dependencies: [
                "DNSWire", "DNSTransport", "Resolver", "Policy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Composition root: config, services, metrics endpoint, logging.
        .target(
            name: "App",
            dependencies: [
                "DNSWire", "DNSTransport", "Resolver", "Pipeline", "Policy", "CBulwarkNet",
                "Storage", "ThreatIntel", "ControlPlane", "RPZ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The user-space cost of a cache hit, without the kernel (Benchmarks/HotPath/main.swift).
        .executableTarget(
            name: "HotPathBench",
            dependencies: [
                "Pipeline", "Policy", "Resolver", "DNSWire", "DNSTransport", "DNSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Benchmarks/HotPath",
            swiftSettings: hotPathSettings
        ),
        .executableTarget(
            name: "bulwark",
            dependencies: [
                "App", "Policy", "DNSWire", "RPZ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: leanLinking
        ),
        // Test fixtures: packet builders, golden packets, a scripted fake upstream.
        .target(
            name: "DNSTestSupport",
            dependencies: [
                "DNSWire", "Resolver",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DNSWireTests",
            dependencies: ["DNSWire", "DNSTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DNSTransportTests",
            dependencies: [
                "DNSTransport", "DNSWire", "DNSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ResolverTests",
            dependencies: [
                "Resolver", "DNSWire", "DNSTransport", "DNSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Resolver", "Policy", "DNSWire", "DNSTransport", "DNSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PolicyTests",
            dependencies: ["Policy", "DNSWire", "DNSTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ThreatIntelTests",
            dependencies: ["ThreatIntel", "Storage", "Policy", "DNSWire", "DNSTestSupport"],
            resources: [.copy("Data")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: [
                "ControlPlane", "ThreatIntel", "Storage", "Policy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RPZTests",
            dependencies: [
                "RPZ", "DNSWire", "Policy", "DNSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AppTests",
            dependencies: [
                "App", "Policy", "DNSWire", "DNSTestSupport", "Pipeline", "DNSTransport", "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
