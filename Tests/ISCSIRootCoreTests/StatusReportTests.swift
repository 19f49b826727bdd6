import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("StatusReport: JSON keys and types, 80-column text, colour, the daemon's view merged")
struct StatusReportTests {
    private let bootID = "6f1c2b1e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"
    private let daemonPID: Int32 = 4242

    private func report(_ tree: FixtureTree, daemon: Result<DaemonStatus, StateFileError>? = nil) -> StatusReport {
        StatusReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: daemon)
    }

    @Test func jsonHasTheDocumentedKeysWithNumbersAsNumbers() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let json = report(tree).json
        #expect(json["overall"] == .string("warning"))
        let root = try #require(json["root"])
        #expect(root["source"] == .string("sda2"))
        #expect(root["disk"] == .string("sda"))
        #expect(root["session"] == .string("session1"))

        let session = try #require(json["sessions"]?.arrayValue?.first)
        #expect(session["name"] == .string("session1"))
        #expect(session["state"] == .string("LOGGED_IN"))
        #expect(session["target"] == .string("iqn.2003-01.org.linux-iscsi.vmlab:tgt1"))
        #expect(session["portal"] == .string("127.0.0.1:3260"))
        #expect(session["recovery_tmo"] == .int(120))
        #expect(session["host"] == .string("host2"))
        #expect(session["host_state"] == .string("running"))
        let connection = try #require(session["connections"]?.arrayValue?.first)
        #expect(connection["ping_tmo"] == .int(5))

        let disks = try #require(json["disks"]?.arrayValue)
        #expect(disks.count == 1)
        let disk = disks[0]
        #expect(disk["name"] == .string("sda"))
        #expect(disk["hctl"] == .string("2:0:0:0"))
        #expect(disk["session"] == .string("session1"))
        #expect(disk["type"] == .int(0))
        #expect(disk["state"] == .string("running"))
        #expect(disk["timeout"] == .int(30))
        #expect(disk["scheduler"] == .string("mq-deadline"))
        #expect(disk["tuned"] == .bool(false))
        #expect(disk["stall"] == .null)
        // The serialized text, as a parser sees it.
        let text = json.serialized()
        #expect(text.contains(#""recovery_tmo":120"#))
        #expect(text.contains(#""timeout":30"#))
    }

    @Test func credentialsNeverAppearInTextOrJSON() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        for attribute in ["username", "password", "username_in", "password_in"] {
            try tree.setAttribute("class/iscsi_session/session1/\(attribute)", "s3cret-\(attribute)")
        }
        let status = report(tree)
        for output in [status.text(color: false), status.json.serialized(pretty: true)] {
            #expect(!output.contains("s3cret"))
        }
    }

    @Test func recoveryTimeoutOffIsMinusOneInJSON() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "off")
        let json = report(tree).json
        #expect(json["sessions"]?.arrayValue?.first?["recovery_tmo"] == .int(-1))
        #expect(json.serialized().contains(#""recovery_tmo":-1"#))
    }

    @Test func unreadableTreeIsUnknownInJSONAndText() throws {
        let tree = try FixtureTree()
        let topology = TopologyScanner(sysfs: FileTree(root: tree.directory + "/no-such-sysfs"), system: tree.system).scan()
        let status = StatusReport(topology: topology, configuration: Configuration())
        #expect(status.overall.rawValue == 3)
        #expect(status.json["overall"] == .string("unknown"))
        #expect(status.text(color: false).hasPrefix("UNKNOWN: "))
    }

    @Test func diskTableRowsFitIn80Columns() throws {
        for tree in [try FixtureTree.healthyDisklessClient(), try tunedDisklessClient()] {
            let lines = report(tree).text(color: false).split(separator: "\n", omittingEmptySubsequences: false)
            let header = try #require(lines.firstIndex { $0.hasPrefix("DISK ") })
            let table = lines[header...].prefix { !$0.isEmpty }
            #expect(table.count == 2)
            for line in table { #expect(line.count <= 80, "\(line.count) columns: \(line)") }
            #expect(lines[0].count <= 80)
        }
    }

    @Test func colourOnlyWhenAsked() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let plain = report(tree).text(color: false)
        let coloured = report(tree).text(color: true)
        #expect(!plain.contains("\u{1B}"))
        #expect(plain.hasPrefix("WARNING: "))
        #expect(coloured.contains("\u{1B}[33mWARNING\u{1B}[0m"))
    }

    @Test func rootFindingsAreListedFirst() throws {
        let tree = try FixtureTree()
        let root = try tree.addISCSISession(number: 7, host: 8)
        try tree.mount(point: "/", device: root.disks[0], fileSystem: "ext4")
        try tree.addISCSISession(number: 2, host: 3, phase: .failed)
        let findings = report(tree).findings
        #expect(findings.first?.subject == "session7")
        let firstNonRoot = try #require(findings.firstIndex { !$0.concernsRoot })
        #expect(!findings[firstNonRoot...].contains { $0.concernsRoot })
        // In the text too: the root session's warnings before session2's CRITICAL.
        let text = report(tree).text(color: false)
        let rootLine = try #require(text.range(of: "WARNING session7:"))
        let otherLine = try #require(text.range(of: "CRITICAL session2:"))
        #expect(rootLine.lowerBound < otherLine.lowerBound)
    }

    // MARK: The daemon's state file

    /// A state file written the way the daemon writes it, read back the way `status` reads it.
    /// `now`: when the daemon wrote it; `readAt`: when `status` reads it (the same by default).
    private func daemonStatus(_ tree: FixtureTree, state: DaemonSnapshot, running: Bool, now: Moment,
                              readAt: Moment? = nil) throws -> DaemonStatus {
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", bootID + "\n")
        if running { try tree.writeSystemFile("proc/\(daemonPID)/stat", "\(daemonPID) (iscsi-rootd) S\n") }
        let directory = tree.directory + "/run-iscsi-rootd"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var state = state
        state.updatedMicroseconds = now.wallMicroseconds
        try state.json.serialized(pretty: true)
            .write(toFile: directory + "/" + DaemonSnapshot.fileName, atomically: true, encoding: .utf8)
        let read = try #require(DaemonStatus.read(stateDirectory: directory, system: tree.system,
                                                  nowMicroseconds: (readAt ?? now).wallMicroseconds))
        return try read.get()
    }

    private func state(damage: [FileSystemDamage] = [], stalls: StallTracker? = nil, at now: Moment = TestClock.at(0)) -> DaemonSnapshot {
        var state = DaemonSnapshot(pid: daemonPID, bootID: bootID, startedMicroseconds: TestClock.wallBase,
                                   deviceEvents: "udev", sessionEvents: "netlink")
        state.note(Configuration(), files: [])
        DamageTracker(damage: damage).record(into: &state)
        stalls?.record(into: &state, at: now)
        return state
    }

    @Test func damageFromTheStateFileIsCriticalEvenWhenTheDaemonIsGone() throws {
        let tree = try tunedDisklessClient()
        let damage = FileSystemDamage(device: "sda2", mountPoints: ["/"], carriesRoot: true,
                                      sinceMicroseconds: TestClock.wallBase + 169_000_000, cause: "journal aborted",
                                      afterRecoveryTimeoutOf: "session1")
        let status = try daemonStatus(tree, state: state(damage: [damage]), running: false, now: TestClock.at(200))
        #expect(!status.running)
        #expect(status.sameBoot)

        let merged = report(tree, daemon: .success(status))
        #expect(merged.overall == .critical)
        let finding = try #require(merged.findings.first)
        #expect(finding.severity == .critical)
        #expect(finding.subject == "sda2")
        #expect(finding.message.contains("after recovery timeout of session1"))
        #expect(merged.json["daemon"]?["running"] == .bool(false))
        #expect(merged.text(color: false).contains("daemon: NOT RUNNING"))
    }

    /// The view of a daemon that runs but stopped writing it (/run full, or stuck): what only the
    /// daemon knows may have changed since, so the verdict is never better than UNKNOWN, and the
    /// age is said. Before, a healthy-looking stale view was OK and missed the damage found since.
    @Test func aStaleViewIsUnknownAndSaysHowOld() throws {
        let tree = try tunedDisklessClient()
        var view = state()
        view.pollInterval = 1
        // Within three poll intervals and two seconds: current.
        let fresh = try daemonStatus(tree, state: view, running: true, now: TestClock.at(100), readAt: TestClock.at(104))
        #expect(fresh.stale == nil)
        #expect(report(tree, daemon: .success(fresh)).overall == .ok)

        let stale = try daemonStatus(tree, state: view, running: true, now: TestClock.at(100), readAt: TestClock.at(142))
        let merged = report(tree, daemon: .success(stale))
        #expect(merged.overall == .unknown, "\(merged.findings)")
        let finding = try #require(merged.findings.first { $0.subject == "daemon" })
        #expect(finding.severity == .unknown)
        // The test's directory can take the file: the daemon is not answering.
        #expect(finding.message == "daemon's view is 42 s old: it is not answering (its process runs but writes no state)")
        #expect(merged.text(color: false).contains("daemon's view is 42 s old"))
        #expect(merged.json["daemon"]?["stale"]?["seconds"] == .int(42))
        #expect(merged.nagiosLine.hasPrefix("ISCSI-ROOTD UNKNOWN - daemon's view is 42 s old: it is not answering"))
        let metrics = MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: stale).text
        #expect(metrics.contains("iscsi_rootd_daemon_view_stale 1\n"))

        // A daemon that is gone is not called stale: it says NOT RUNNING, as before.
        var ended = view
        ended.pid = daemonPID + 1
        let gone = try daemonStatus(tree, state: ended, running: false, now: TestClock.at(100), readAt: TestClock.at(142))
        #expect(!gone.running)
        #expect(gone.stale == nil)
    }

    @Test func damageFromAnotherBootIsIgnored() throws {
        let tree = try tunedDisklessClient()
        let damage = FileSystemDamage(device: "sda2", mountPoints: ["/"], carriesRoot: true, sinceMicroseconds: 0,
                                      cause: "journal aborted", afterRecoveryTimeoutOf: nil)
        var old = state(damage: [damage])
        old.bootID = "00000000-0000-0000-0000-000000000000"
        let status = try daemonStatus(tree, state: old, running: true, now: TestClock.at(200))
        #expect(!status.sameBoot)
        #expect(report(tree, daemon: .success(status)).overall == .ok)
    }

    /// A root stall of `sda` as the StallTracker finds it: 2 writes in flight, no completions for 12 s.
    private func rootStall(_ tree: FixtureTree) throws -> StallTracker {
        let topology = tree.scanner.scan()
        let device = try #require(topology.device(disk: "sda"))
        var tracker = StallTracker()
        let stuck = IOSample(inflight: 2, completions: 500)
        // Idle at 99.5, stuck at 100.5: the stall began at 100 (the middle).
        _ = tracker.update([(device, IOSample(inflight: 0, completions: 500))], topology: topology, threshold: .seconds(5), at: TestClock.at(99.5))
        _ = tracker.update([(device, stuck)], topology: topology, threshold: .seconds(5), at: TestClock.at(100.5))
        _ = tracker.update([(device, stuck)], topology: topology, threshold: .seconds(5), at: TestClock.at(106))
        return tracker
    }

    @Test func stallsCountOnlyWhileTheDaemonRuns() throws {
        let tree = try tunedDisklessClient()
        let stalls = try rootStall(tree)
        #expect(stalls.stalls.count == 1)

        let gone = try daemonStatus(tree, state: state(stalls: stalls, at: TestClock.at(112)), running: false, now: TestClock.at(112))
        let stale = report(tree, daemon: .success(gone))
        #expect(stale.overall == .ok)
        #expect(stale.json["disks"]?.arrayValue?.first?["stall"] == .null)

        let alive = try daemonStatus(tree, state: state(stalls: stalls, at: TestClock.at(112)), running: true, now: TestClock.at(112))
        #expect(alive.running)
        let live = report(tree, daemon: .success(alive))
        #expect(live.overall == .critical)
        let finding = try #require(live.findings.first)
        #expect(finding.subject == "sda")
        #expect(finding.message.contains("I/O stalled 12 s with 2 requests in flight"))
        let stall = try #require(live.json["disks"]?.arrayValue?.first?["stall"])
        #expect(stall["seconds"]?.doubleValue == 12)
        #expect(stall["inflight"] == .int(2))
        #expect(stall["since"]?.intValue == Int(TestClock.at(100).wallMicroseconds))
        #expect(live.json["daemon"]?["running"] == .bool(true))
    }
}
