// swift-tools-version: 6.0
import PackageDescription

/// The modules the daemon's process links leave out the standard library's implicit
/// `_StringProcessing` import: its regex engine and the Unicode name tables it pulls in are about
/// 1.5 MB that mlockall would lock (ISCSIRootCore's TextSearch.swift has the substring search).
let daemonSettings: [SwiftSetting] = [
    .unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import"]),
    // Else members of modules imported by dependencies (swift-system's _StringProcessing) leak in.
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "iscsi-rootd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "iscsi-rootd", targets: ["iscsi-rootd"]),
        .executable(name: "iscsi-rootd-daemon", targets: ["iscsi-rootd-daemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C system libraries, found through pkg-config.
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The one system call Swift cannot make through Glibc (openat2 has no libc wrapper).
        .target(name: "CLinux"),

        // The core: sysfs model, topology, policy, config, health, audit, reports. It reads through a re-rootable
        // FileTree (and its tuners write sysfs attributes through it), takes time as input, starts no thread. No
        // Foundation.
        .target(
            name: "ISCSIRootCore",
            dependencies: ["CLinux", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: daemonSettings
        ),
        // Effects: libudev, sd_notify, the journal, netlink, signals, the state file.
        .target(
            name: "ISCSIRootDaemon",
            dependencies: ["ISCSIRootCore", "CUdev", "CSystemd"],
            swiftSettings: daemonSettings
        ),
        // The daemon's process (`iscsi-rootd run` executes it): no Foundation, no ArgumentParser,
        // no regex engine, no Swift concurrency runtime or libdispatch, so what mlockall locks stays small.
        .executableTarget(
            name: "iscsi-rootd-daemon",
            dependencies: ["ISCSIRootCore", "ISCSIRootDaemon"],
            swiftSettings: daemonSettings,
            // Its own symbols need not be exported (the static runtime's link line says -export-dynamic):
            // 0.4 MB less for mlockall to lock.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]
        ),
        .executableTarget(
            name: "iscsi-rootd",
            dependencies: [
                "ISCSIRootCore", "ISCSIRootDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Lays out sysfs trees from the real captures in Fixtures/captures (tests, the demo, the benchmark).
        .target(name: "SysfsFixtures", dependencies: ["ISCSIRootCore"]),
        .executableTarget(name: "iscsi-rootd-sim", dependencies: [
            "SysfsFixtures", "ISCSIRootDaemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "ISCSIRootCoreTests", dependencies: ["ISCSIRootCore", "SysfsFixtures"]),
        .testTarget(name: "ISCSIRootDaemonTests", dependencies: ["ISCSIRootDaemon", "ISCSIRootCore", "SysfsFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
