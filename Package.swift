// swift-tools-version:6.0
// SPDX-License-Identifier: Apache-2.0 (the text is LICENSE; a manifest has no licence field of its own)
import PackageDescription

// Test-only code (crash points, raw SQL, creating a DynamoDB table synchronously) is compiled under `#if
// SWITCHYARD_TESTING`, set for debug builds alone: the unit tests and the e2e suite use the debug binary, while the
// release binary that scripts/package ships holds none of it.
let testing: [SwiftSetting] = [.define("SWITCHYARD_TESTING", .when(configuration: .debug))]

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        // The deployment state machine, the deployment file and the step plan. No I/O, no clock.
        .target(name: "SwitchyardCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        // AWS Signature Version 4: a pure function of request, credentials and date; with the SHA-256, HMAC and SHA-1 it
        // needs (Digest.swift), not swift-crypto's BoringSSL build.
        .target(name: "SigV4"),
        // libcurl, used directly: the one HTTP client of the product. Its headers at build time (Debian
        // libcurl4-openssl-dev); the library itself loaded on the first HTTP transport (Sources/CCurl/include/shim.h).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // Sends HTTP requests (AWS calls, probes, webhooks) with timeouts that hold; knows nothing of AWS.
        .target(name: "HTTP", dependencies: ["CCurl"]),
        // The only place that knows AWS wire formats.
        .target(name: "AWS", dependencies: [
            "SigV4", "HTTP",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Azure's wire formats: ARM over the one transport, Microsoft Entra ID tokens as DefaultAzureCredential
        // resolves them, scale sets, images, autoscale settings, load balancers and Traffic Manager.
        .target(name: "Azure", dependencies: ["HTTP"]),
        // The state store protocol and the value types every store shares; no database of its own.
        .target(name: "StateStore", dependencies: ["SwitchyardCore"]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The state file: the one target that links SQLite.
        .target(name: "SQLiteStateStore", dependencies: ["CSQLite", "StateStore", "SwitchyardCore"], swiftSettings: testing),
        // The state in one DynamoDB table, for a team whose runners are on several machines.
        .target(name: "DynamoStateStore", dependencies: ["StateStore", "AWS", "SwitchyardCore"], swiftSettings: testing),
        // HTTP health probes and the other checks a step runs.
        .target(name: "Probes", dependencies: ["SwitchyardCore", "HTTP"]),
        // The reconcile loop, hooks, housekeeping and the seams a cloud implements (`EffectPerformer`,
        // `TrafficRouter`): provider-neutral, so it does not link the AWS module.
        .target(name: "Orchestrator", dependencies: [
            "SwitchyardCore", "StateStore", "Probes", "HTTP",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: testing),
        // The AWS provider: planning from what AWS shows, the effects against Auto Scaling, EC2 and ELB, the ALB and
        // Route 53 traffic backends, the fence, the check kinds and AWS's part of the deployment file. The only target besides the CLI that imports AWS.
        .target(name: "AWSProvider", dependencies: [
            "Orchestrator", "SwitchyardCore", "AWS", "StateStore", "Probes", "HTTP",
            .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
        ], swiftSettings: testing),
        // The Azure provider: planning from what ARM shows, the effects against scale sets, autoscale settings and
        // Traffic Manager endpoints, the profile's tag as the fence, and Azure's part of the deployment file.
        .target(name: "AzureProvider", dependencies: [
            "Orchestrator", "SwitchyardCore", "Azure", "Probes", "HTTP", "StateStore",
            .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
        ], swiftSettings: testing),
        // `switchyard serve`: the HTTP server, its routes, pages, chart and metrics, over the store protocol only.
        .target(name: "Dashboard", dependencies: ["SwitchyardCore", "StateStore"]),
        .executableTarget(name: "switchyard", dependencies: [
            "SwitchyardCore", "SigV4", "AWS", "StateStore", "SQLiteStateStore", "DynamoStateStore", "Orchestrator", "AWSProvider", "Azure", "AzureProvider", "Dashboard",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: testing, plugins: ["GitRevision"]),
        // Records the git revision for `switchyard --version`.
        .plugin(name: "GitRevision", capability: .buildTool()),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore", "AWSProvider", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "SigV4Tests", dependencies: ["SigV4"], exclude: ["aws-sig-v4-test-suite"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "AWS", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "AWSTests", dependencies: ["AWS"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AzureTests", dependencies: ["Azure", "HTTP"]),
        .testTarget(name: "AzureProviderTests", dependencies: ["AzureProvider", "AWSProvider", "Azure", "SwitchyardCore"]),
        .testTarget(name: "ProbesTests", dependencies: ["Probes", "SwitchyardCore"]),
        .testTarget(name: "StateStoreTests", dependencies: ["StateStore", "SQLiteStateStore", "SwitchyardCore", "DynamoStateStore", "AWS",
                                                            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "StateStore", "SQLiteStateStore", "SwitchyardCore"]),
        .testTarget(name: "OrchestratorTests", dependencies: ["Orchestrator", "AWSProvider", "SwitchyardCore", "AWS", "StateStore", "SQLiteStateStore"]),
    ]
)
