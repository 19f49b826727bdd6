import ISCSIRootCore
import SysfsFixtures
import Testing

/// The daemon on a multipath root (issue 9): it never touches the path sessions' timers, reports a
/// lost path as WARNING (root degraded), no path left as CRITICAL, and a path's return.
@Suite("iscsi-rootd run on a multipath root")
struct MultipathDaemonTests {
    @Test func pathsGoDownAndComeBack() throws {
        let tree = try FixtureTree()
        try Scenario.multipath.layOut(in: tree)
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "0e6a1f52-8d1c-4e57-b3a4-6c2f9e0d7a11\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nStallThreshold=1\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")

        let ready = try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(statusValue(ready)?.hasPrefix("root mpatha (2 of 2 paths up) via session1, session2") == true, "\(ready)")
        try daemon.waitForEntry(.started, within: .zero)
        // Path sessions are multipathd's: recovery_tmo stays 5, no NOPs warning, no disk tuned.
        #expect(daemon.entries(.recoveryTimeoutSet).isEmpty)
        #expect(daemon.entries(.nopsOnRoot).isEmpty)
        #expect(daemon.entries(.diskTuned).isEmpty)
        for session in [1, 2] {
            #expect(tree.sysfs.attribute("class/iscsi_session/session\(session)/recovery_tmo").value == "5")
        }
        // The audit at start gives the multipath recipe, never NOPs off or a day-long timer for a path.
        let audit = daemon.entries(.auditFailed).map(\.message)
        #expect(!audit.contains { $0.contains("86400") || $0.contains("-v 0") }, "\(audit)")
        #expect(try daemon.status().json["overall"] == .string("ok"))

        // One path lost: WARNING, the map degraded, I/O goes on over the other.
        try tree.setPhase(.failed, session: 2)
        let degraded = try daemon.waitForEntry(.rootDegraded, ["MULTIPATH_MAP": "mpatha", "DEVICE": "sdb"])
        #expect(degraded.priority == 4)
        #expect(degraded.fields["ISCSI_SESSION"] == "session2")
        #expect(degraded.fields["ISCSI_PORTAL"] == "10.0.3.2:3260")
        #expect(degraded.fields["PATHS_UP"] == "1" && degraded.fields["PATHS_TOTAL"] == "2")
        #expect(degraded.fields["ROOT"] == "1")
        let degradedStatus = try daemon.waitForDatagram("STATUS= degraded") { statusValue($0)?.contains("degraded") == true }
        #expect(statusValue(degradedStatus) == "root degraded: 1 of 2 paths of mpatha (sdb via session2 down)")
        var status = try daemon.status()
        #expect(status.code == 1)
        #expect(status.json["overall"] == .string("warning"))
        #expect(status.json["root"]?["multipath"]?["paths_up"] == .int(1))

        // Its recovery_tmo runs out (FREE, transport-offline): failover, not I/O failing on /.
        try tree.setPhase(.free, session: 2)
        // The last path goes too: CRITICAL, I/O queued.
        try tree.setPhase(.failed, session: 1)
        let lost = try daemon.waitForEntry(.noPathLeft, ["MULTIPATH_MAP": "mpatha"])
        #expect(lost.priority == 2)
        #expect(lost.fields["PATHS_UP"] == "0" && lost.fields["ROOT"] == "1")
        #expect(lost.message.hasPrefix("no path left for /, [swap] on mpatha: 0 of 2 paths; I/O is queued until a path returns"))
        try daemon.waitForDatagram("STATUS= no path left") { statusValue($0)?.hasPrefix("no path left") == true }
        status = try daemon.status()
        #expect(status.code == 2)
        #expect(status.json["overall"] == .string("critical"))
        #expect(daemon.entries(.ioFailing).isEmpty && daemon.entries(.sessionFailed).isEmpty && daemon.entries(.rootAtRisk).isEmpty)

        // Both come back: one entry per path, the episodes in the state file.
        try tree.setPhase(.loggedIn, session: 1)
        try tree.setPhase(.loggedIn, session: 2)
        let restored = try daemon.waitForEntry(.pathRestored, ["DEVICE": "sdb"])
        #expect(restored.priority == 5)
        #expect(restored.fields["PATHS_UP"] == "2")
        #expect(Int(restored.fields["DURATION_USEC"] ?? "") ?? 0 > 0)
        try daemon.waitForEntry(.pathRestored, ["DEVICE": "sda"])
        try daemon.waitForDatagram("STATUS= healthy again") { statusValue($0)?.hasPrefix("root mpatha (2 of 2 paths up)") == true }
        // The state file is written right after STATUS= is sent: wait for it.
        var episodes: [JSONValue] = []
        try daemon.wait(for: "both path episodes ended in the state file") {
            episodes = try daemon.state()["path_episodes"]?.arrayValue ?? []
            return episodes.count == 2 && episodes.allSatisfy { $0["ended_usec"]?.intValue != nil }
        }
        #expect(Set(episodes.compactMap { $0["disk"]?.stringValue }) == ["sda", "sdb"])
        #expect(episodes.allSatisfy { $0["root"] == .bool(true) && $0["map"] == .string("mpatha") })
        for session in [1, 2] {
            #expect(tree.sysfs.attribute("class/iscsi_session/session\(session)/recovery_tmo").value == "5")
        }
        // Requests stand still on both paths while both sessions look LOGGED_IN: each path's stall is a
        // warning, both at once stall the root.
        for disk in ["sda", "sdb"] { try tree.setInflight(disk: disk, reads: 0, writes: 2) }
        let pathStall = try daemon.waitForEntry(.ioStalled, ["DEVICE": "sdb"])
        #expect(pathStall.fields["ROOT"] == nil)
        try daemon.waitForDatagram("STATUS= every path stalled") {
            statusValue($0)?.hasPrefix("root I/O stalled on every path of mpatha (sda, sdb)") == true
        }
        // `status` reads the stalls from the state file, written right after STATUS= is sent.
        try daemon.wait(for: "status CRITICAL with every path stalled") {
            status = try daemon.status()
            return status.code == 2
        }
        #expect(status.json["findings"]?.arrayValue?.first?["message"]?.stringValue?.hasPrefix("root I/O stalled on every path of mpatha") == true)
        for disk in ["sda", "sdb"] { try tree.setInflight(disk: disk, reads: 0, writes: 0) }
        try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sda"])
        try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sdb"])

        let text = try runIscsiRootd(["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                      "--state-dir", daemon.stateDirectory, "--config", configPath]).standardOutput
        #expect(text.contains("past path outage: sdb via session2 of mpatha "), "\(text)")
        #expect(daemon.stop() == 0)
        #expect(daemon.unparsable.isEmpty, "\(daemon.unparsable)")
    }
}
