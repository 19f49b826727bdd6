import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("Journal events the daemon only routes: tuning, root session timers, its own life")
struct JournalEventTests {
    private let now = TestClock.at(10)

    private func outcome(_ result: TuningResult, setting: DiskSetting = .scheduler, session: Int? = 1) throws -> TuningOutcome {
        TuningOutcome(disk: "sda", hctl: try #require(HCTL("2:0:0:0")), sessionNumber: session, setting: setting, result: result)
    }

    @Test func aWrittenSettingIsDiskTunedWithTheSessionAndWhatItCarries() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()
        let event = try #require(try outcome(.changed(from: "mq-deadline", to: "none")).event(drift: false, topology: topology, at: now))
        #expect(event.kind == .diskTuned)
        #expect(event.message == "sda (2:0:0:0) scheduler mq-deadline -> none")
        #expect(event.fields[.device] == "sda")
        #expect(event.fields[.scsiDevice] == "2:0:0:0")
        #expect(event.fields[.setting] == "scheduler")
        #expect(event.fields[.oldValue] == "mq-deadline")
        #expect(event.fields[.newValue] == "none")
        #expect(event.fields[.session] == "session1")
        #expect(event.fields[.root] == "1")
        #expect(event.at == now)
    }

    @Test func aSettingSetBackIsDriftCorrected() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()
        let event = try #require(try outcome(.changed(from: "30", to: "90"), setting: .timeout).event(drift: true, topology: topology, at: now))
        #expect(event.kind == .driftCorrected)
        #expect(event.message == "sda timeout was changed to 30 by someone else; set back to 90")
    }

    @Test func aFailedWriteIsTuningFailedWithItsReason() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()
        let event = try #require(try outcome(.failed("EACCES"), session: nil).event(drift: false, topology: topology, at: now))
        #expect(event.kind == .tuningFailed)
        #expect(event.message == "sda (2:0:0:0) scheduler: EACCES")
        #expect(event.fields[.errno] == "EACCES")
        #expect(event.fields[.session] == nil)
    }

    @Test func nothingWrittenIsNoEvent() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()
        #expect(try outcome(.unchanged("none")).event(drift: false, topology: topology, at: now) == nil)
        #expect(try outcome(.wouldChange(from: "30", to: "90")).event(drift: true, topology: topology, at: now) == nil)
    }

    private func events(_ entries: [JournalEntry]) -> [HealthEvent] {
        entries.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    @Test func nopsOnARootSessionAreWarnedOnceUntilAReloadAndRecoveryTimeoutIsRaised() throws {
        // The healthy client's root session has NOPs 5/5 and recovery_tmo 120.
        let tree = try FixtureTree.healthyDisklessClient()
        var timers = RootSessionTimers()
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        let first = events(timers.tune(tree.scanner.scan(), with: tuner, at: now))
        #expect(first.map(\.kind) == [.nopsOnRoot, .recoveryTimeoutSet])
        #expect(first[0].message.hasPrefix("NOPs are on for root session1 (connection1:0 ping_tmo 5 recv_tmo 5): turn them off with iscsiadm -m node -T "))
        #expect(first[0].message.hasSuffix("-o update -n node.conn[0].timeo.noop_out_interval -v 0 and -n node.conn[0].timeo.noop_out_timeout -v 0"))
        #expect(first[1].message == "recovery_tmo of root session1 raised from 120 to 86400")
        #expect(first[1].fields[.oldValue] == "120")
        #expect(first[1].fields[.newValue] == "86400")
        #expect(first[1].fields[.recoveryTimeout] == "86400")
        #expect(first[1].fields[.session] == "session1")

        #expect(timers.tune(tree.scanner.scan(), with: tuner, at: now).isEmpty)
        timers.warnAgain()
        #expect(events(timers.tune(tree.scanner.scan(), with: tuner, at: now)).map(\.kind) == [.nopsOnRoot])
    }

    @Test func aSessionInRecoveryIsANoticeOnceThenRaisedWhenItIsBack() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        try tree.setPhase(.failed, session: 1)
        var timers = RootSessionTimers()
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        let entries = timers.tune(tree.scanner.scan(), with: tuner, at: now)
        guard entries.count == 1, case .notice(let message, let fields) = entries[0] else {
            Issue.record("expected one notice, got \(entries)")
            return
        }
        #expect(message.hasPrefix("recovery_tmo of root session1 not set yet: session1 is FAILED"))
        #expect(message.hasSuffix("; retrying after recovery"))
        #expect(fields[.session] == "session1")
        #expect(timers.tune(tree.scanner.scan(), with: tuner, at: now).isEmpty)

        try tree.setPhase(.loggedIn, session: 1)
        #expect(events(timers.tune(tree.scanner.scan(), with: tuner, at: now)).map(\.kind) == [.recoveryTimeoutSet])
    }

    @Test func aRefusedWriteIsTuningFailedOnce() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        try tree.makeUnreadable("class/iscsi_session/session1/recovery_tmo", .readOnly)
        var timers = RootSessionTimers()
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        let first = events(timers.tune(tree.scanner.scan(), with: tuner, at: now))
        #expect(first.map(\.kind) == [.tuningFailed])
        #expect(first.first?.message.hasPrefix("recovery_tmo of root session1: ") == true)
        #expect(first.first?.fields[.errno] != nil)
        #expect(timers.tune(tree.scanner.scan(), with: tuner, at: now).isEmpty)
    }

    @Test func aMultipathPathSessionIsLeftAlone() throws {
        let tree = try FixtureTree()
        try Scenario.multipath.layOut(in: tree)
        // Its paths' recovery_tmo is short: a direct root session's would be raised.
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "5")
        var timers = RootSessionTimers()
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        #expect(timers.tune(tree.scanner.scan(), with: tuner, at: now).isEmpty)
    }

    @Test func theDaemonsOwnEvents() throws {
        let started = HealthEvent.started(deviceEvents: "udev", sessionEvents: "netlink", status: "root on session1",
                                          lockedKiB: 20480, at: now)
        #expect(started.kind == .started)
        #expect(started.message == "iscsi-rootd started (version \(ISCSIRootVersion.current)): udev, netlink; root on session1; 20 MiB locked")
        #expect(HealthEvent.started(deviceEvents: "a", sessionEvents: "b", status: "c", lockedKiB: nil, at: now).message.hasSuffix("b; c"))
        #expect(HealthEvent.stopping(at: now).kind == .stopping)
        #expect(HealthEvent.udevFallback("--udev off", at: now).message.hasSuffix(": --udev off"))
        let rejected = HealthEvent.configRejected(ConfigError(file: "/etc/iscsi-rootd.conf", line: 3, message: "bad"), at: now)
        #expect(rejected.kind == .configRejected)
        #expect(rejected.message.hasPrefix("configuration rejected, keeping the previous one: /etc/iscsi-rootd.conf:3"))
    }

    @Test func auditProblemsAreEventsWithTheFixOnOneLine() {
        let items = [AuditItem(id: "a", title: "fine", verdict: .ok, detail: "ok"),
                     AuditItem(id: "b", title: "fstab", verdict: .fail, detail: "no _netdev", fix: "add _netdev\nthen reboot")]
        let events = HealthEvent.auditFailed(items, at: now)
        #expect(events.map(\.kind) == [.auditFailed])
        #expect(events.first?.message == "boot chain: fstab: fail: no _netdev; fix: add _netdev then reboot")
        #expect(events.first?.fields == [.state: "fail"])
    }

    @Test func theKernelLogBeforeStartIsOneNoticeCountedByKind() {
        func record(_ sequence: UInt64, _ message: String, facility: Int = 0) -> KernelRecord {
            KernelRecord(level: 3, facility: facility, sequence: sequence, timestampMicroseconds: sequence * 1000, message: message)
        }
        let records = [
            record(1, "I/O error, dev sda, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2"),
            record(2, "I/O error, dev sda, sector 4096 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2"),
            record(3, "EXT4-fs error (device sda2): ext4_journal_check_start:83: comm kworker: Detected aborted journal"),
            record(4, "I/O error, dev sda, sector 1 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2", facility: 1),
            record(5, "e1000: eth0 NIC Link is Up"),
        ]
        let entry = JournalEntry.kernelBacklog(records)
        guard case .notice(let message, let fields)? = entry else {
            Issue.record("expected a notice, got \(String(describing: entry))")
            return
        }
        // Sorted by kind; the user-space record is not counted.
        #expect(message == "kernel log before start: 2 × I/O error, 1 × file system error")
        #expect(fields.isEmpty)
        #expect(JournalEntry.kernelBacklog([records[4]]) == nil)
        #expect(JournalEntry.kernelBacklog([]) == nil)
    }

    @Test func theFieldsThatIdentifyASession() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()
        let session = try #require(topology.session(1))
        let fields = topology.journalFields(of: session, carries: topology.criticalUses(ofSession: 1))
        #expect(fields[.session] == "session1")
        #expect(fields[.target] == session.targetName.value && fields[.target] != nil)
        #expect(fields[.portal] == session.portal && fields[.portal] != nil)
        #expect(fields[.host] == "host2")
        #expect(fields[.recoveryTimeout] == "120")
        #expect(fields[.root] == "1")
        #expect(topology.journalFields(of: session, carries: [])[.root] == nil)
        #expect(JournalField.identifying(session, host: nil, carries: [])[.host] == nil)
    }
}
