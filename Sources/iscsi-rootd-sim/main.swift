import ArgumentParser
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures

/// Lays out and changes a simulated diskless client (DIR/sys, DIR/root) built from the real captures,
/// for the demo and for trying iscsi-rootd without iSCSI.
@main
struct Simulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iscsi-rootd-sim",
        abstract: "A simulated iSCSI diskless client from real sysfs captures.",
        subcommands: [Create.self, Outage.self, SetAttribute.self, Events.self])
}

extension Scenario: ExpressibleByArgument {}

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lay out a client at DIR: DIR/sys (sysfs) and DIR/root (proc/self/mountinfo, proc/swaps, proc/diskstats, etc).")

    @Argument(help: "Directory to create (must not hold a tree yet).")
    var directory: String

    @Option(help: "One of: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: Scenario = .healthy

    @Option(help: "Data LUNs to add on sessions and hosts of their own (numbered after the scenario's), e.g. 63 for a 64-disk client.")
    var dataLuns = 0

    @Option(help: "Add data LUNs until the client has this many iSCSI disks in all (the scenario's count too); instead of --data-luns.")
    var iscsiDisks: Int?

    @Option(help: "How many sessions the data LUNs are spread over.")
    var dataSessions = 1

    func run() throws {
        let tree = try FixtureTree(creatingAt: directory)
        try scenario.layOut(in: tree)
        var luns = dataLuns
        if let iscsiDisks {
            luns = max(0, iscsiDisks - tree.scanner.scan().iscsiDevices.filter { $0.disk != nil }.count)
        }
        try Scenario.addDataLUNs(luns, sessions: dataSessions, in: tree)
        try tree.writeDiskstats()
        print("\(scenario.rawValue) client at \(directory): --sysfs \(tree.sysfs.root) --root \(tree.system.root)")
    }
}

struct Outage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a session and its disks to a captured outage phase.",
        discussion: "failed: FAILED/blocked (in recovery); free: FREE/transport-offline (recovery_tmo expired); "
            + "recovered or logged-in: LOGGED_IN/running.")

    @Argument(help: "A directory made by 'create'.")
    var directory: String

    @Option(help: "Session number.")
    var session: Int = 1

    @Option(help: "failed, free, or recovered.")
    var phase: String

    func run() throws {
        let chosen: SessionPhase
        switch phase {
        case "recovered": chosen = .loggedIn
        default:
            guard let parsed = SessionPhase(rawValue: phase) else {
                throw ValidationError("unknown phase '\(phase)': use failed, free or recovered")
            }
            chosen = parsed
        }
        let tree = try FixtureTree(existingAt: directory)
        try tree.setPhase(chosen, session: session)
        print("\(ISCSISession.name(session)): \(chosen.rawValue)")
    }
}

struct SetAttribute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Write one attribute, e.g. 'set DIR class/block/sda/inflight \"       0        2\"'.")

    @Argument(help: "A directory made by 'create'.")
    var directory: String

    @Argument(help: "Attribute path relative to DIR/sys.")
    var attribute: String

    @Argument(help: "The new value.")
    var value: String

    func run() throws {
        let tree = try FixtureTree(existingAt: directory)
        try tree.setAttribute(attribute, value)
        if attribute.hasSuffix("/inflight") || attribute.hasSuffix("/stat") { try tree.writeDiskstats() }
    }
}

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the daemon's device-event path: untune a disk, hand the daemon's engine an 'add' event for it, repeat.",
        discussion: "Prints one line per event: microseconds from the event entering the engine to both settings "
            + "written and read back (wall clock), the handling thread's CPU microseconds meanwhile, and how often "
            + "it was preempted. The journal entries go to stderr (for scripts/benchmark).")

    @Argument(help: "A directory made by 'create'.")
    var directory: String

    @Option(help: "The SCSI device (H:C:T:L).")
    var hctl = "2:0:0:0"

    @Option(help: "How many events.")
    var count = 10_000

    func run() throws {
        let tree = try FixtureTree(existingAt: directory)
        let deviceDirectory = FixtureTree.deviceDirectory(hctl)
        guard let devpath = tree.sysfs.resolve(deviceDirectory),
              let disk = tree.sysfs.list("\(deviceDirectory)/block").first else {
            throw ValidationError("no SCSI disk \(hctl) in \(directory)")
        }
        let options = DaemonOptions(sysfs: tree.sysfs, system: tree.system, configFile: nil,
                                    stateDirectory: directory + "/state", udev: .off, pollInterval: .seconds(5), kernelLog: nil)
        let logger = Logger(handler: JournalLogHandler(destination: .stderr))
        let samples = try EventPathMeasurement.run(options: options, hctl: hctl, devpath: devpath, count: count, logger: logger) {
            try tree.setAttribute("\(deviceDirectory)/timeout", "30")
            try tree.setAttribute("\(deviceDirectory)/block/\(disk)/queue/scheduler", "[mq-deadline] none")
        }
        func microseconds(_ duration: Duration) -> Int64 {
            duration.components.attoseconds / 1_000_000_000_000 + duration.components.seconds * 1_000_000
        }
        // One event a line: wall µs, thread CPU µs, preemptions.
        print(samples.map { "\(microseconds($0.wall)) \(microseconds($0.cpu)) \($0.preemptions)" }.joined(separator: "\n"))
    }
}
