import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("StatusLine: the one STATUS= line, worst first")
struct StatusLineTests {
    /// The line from the daemon's view as the trackers record it at `seconds`.
    private func line(_ topology: Topology, episodes: RecoveryTracker? = nil, stalls: StallTracker? = nil,
                      damage: [FileSystemDamage] = [], auditProblems: Int = 0, at seconds: Double) -> String {
        var view = DaemonSnapshot()
        episodes?.record(into: &view, at: TestClock.at(seconds))
        stalls?.record(into: &view, at: TestClock.at(seconds))
        DamageTracker(damage: damage).record(into: &view)
        view.auditProblems = Array(repeating: "problem", count: auditProblems)
        return StatusLine.compose(topology: topology, configuration: Configuration(), view: view)
    }

    @Test func healthyClient() throws {
        let tree = try tunedDisklessClient()
        let topology = tree.scanner.scan()
        #expect(line(topology, at: 0) == "root sda via session1 LOGGED_IN; 1 disk tuned")
        #expect(line(topology, auditProblems: 2, at: 0)
                == "root sda via session1 LOGGED_IN; 1 disk tuned; 2 boot-chain problems (iscsi-rootd check)")
        try tree.setAttribute("class/scsi_device/2:0:0:0/device/timeout", "30")
        try tree.addISCSISession(number: 2, host: 3)
        #expect(line(tree.scanner.scan(), at: 0) == "root sda via session1 LOGGED_IN; 0 of 2 disks tuned")
    }

    @Test func rootNotOnISCSI() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 4, host: 5)
        #expect(line(tree.scanner.scan(), at: 0) == "root not on iSCSI; 1 session; 0 of 1 disks tuned")
    }

    @Test func recoveryCountsDownToIOErrors() throws {
        let tree = try tunedDisklessClient()
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "120")
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(100))
        try tree.setPhase(.failed, session: 1)
        let topology = tree.scanner.scan()
        _ = tracker.update(topology, at: TestClock.at(100.5))
        #expect(line(topology, episodes: tracker, at: 112.5) == "RECOVERY root session1 12 s, I/O errors in 108 s")

        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "off")
        var endless = RecoveryTracker()
        _ = endless.update(tree.scanner.scan(), at: TestClock.at(0))
        #expect(line(topology, episodes: endless, at: 30) == "RECOVERY root session1 30 s, I/O errors never (recovery_tmo off)")
    }

    @Test func ioFailingAfterTheRecoveryTimeout() throws {
        let tree = try tunedDisklessClient()
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        try tree.setPhase(.failed, session: 1)
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(10))
        try tree.setPhase(.free, session: 1)
        let topology = tree.scanner.scan()
        _ = tracker.update(topology, at: TestClock.at(130))
        #expect(line(topology, episodes: tracker, at: 131)
                == "I/O FAILING root session1: recovery timed out after 2 min 1 s (session FAILED)")
    }

    @Test func rootStallWinsOverRecoveryWording() throws {
        let tree = try tunedDisklessClient()
        let topology = tree.scanner.scan()
        let device = try #require(topology.device(disk: "sda"))
        var stalls = StallTracker()
        // Idle at 39.5, stuck at 40.5: the stall began at 40 (the middle).
        _ = stalls.update([(device, IOSample(inflight: 0, completions: 9))], topology: topology, threshold: .seconds(5), at: TestClock.at(39.5))
        _ = stalls.update([(device, IOSample(inflight: 2, completions: 9))], topology: topology, threshold: .seconds(5), at: TestClock.at(40.5))
        _ = stalls.update([(device, IOSample(inflight: 2, completions: 9))], topology: topology, threshold: .seconds(5), at: TestClock.at(46))
        #expect(line(topology, stalls: stalls, at: 52)
                == "root I/O to sda stalled 12 s — session1 still LOGGED_IN: NOPs are off, the kernel has not noticed; SCSI timeout 90 s")
    }

    @Test func damageWinsOverEverything() throws {
        let tree = try tunedDisklessClient()
        let topology = tree.scanner.scan()
        let damage = FileSystemDamage(device: "sda2", mountPoints: ["/"], carriesRoot: true,
                                      sinceMicroseconds: TestClock.wallBase, cause: "journal aborted",
                                      afterRecoveryTimeoutOf: "session1")
        let time = WallClock.format(microseconds: TestClock.wallBase)
        var tracker = RecoveryTracker()
        try tree.setPhase(.failed, session: 1)
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        #expect(line(topology, episodes: tracker, damage: [damage], at: 5)
                == "root file system damaged at \(time) (after recovery timeout of session1): journal aborted on sda2; "
                + "writes since \(time) are lost; reboot")
    }
}
