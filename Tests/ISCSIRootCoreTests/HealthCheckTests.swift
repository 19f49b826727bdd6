import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

/// A diskless client that meets everything: disk tuned, NOPs off, recovery_tmo 86400.
func tunedDisklessClient() throws -> FixtureTree {
    let tree = try FixtureTree.healthyDisklessClient()
    try tree.setAttribute("class/scsi_device/2:0:0:0/device/timeout", "90")
    try tree.setAttribute("class/block/sda/queue/scheduler", "mq-deadline [none]")
    try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
    try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
    try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "86400")
    return tree
}

@Suite("HealthCheck judges sessions, hosts and disks, root first")
struct HealthCheckTests {
    private func findings(_ tree: FixtureTree) -> [Finding] {
        HealthCheck(configuration: Configuration()).findings(tree.scanner.scan())
    }

    @Test func healthyTunedRootIsOK() throws {
        let found = findings(try tunedDisklessClient())
        #expect(found.isEmpty)
        #expect(HealthCheck.overall(found) == .ok)
    }

    @Test func untunedDiskIsAWarning() throws {
        let tree = try tunedDisklessClient()
        try tree.setAttribute("class/scsi_device/2:0:0:0/device/timeout", "30")
        let found = findings(tree)
        #expect(HealthCheck.overall(found) == .warning)
        #expect(found.count == 1)
        #expect(found.first?.subject == "sda")
        #expect(found.first?.message.contains("not tuned: timeout 30 s (want 90 s)") == true)
        #expect(found.first?.concernsRoot == true)
    }

    @Test func failedSessionIsCriticalWithItsDiskBlocked() throws {
        let tree = try tunedDisklessClient()
        try tree.setPhase(.failed, session: 1)
        let found = findings(tree)
        #expect(HealthCheck.overall(found) == .critical)
        #expect(found.contains { $0.severity == .critical && $0.subject == "session1" && $0.message.hasPrefix("FAILED") })
        #expect(found.contains { $0.severity == .critical && $0.subject == "sda" && $0.message.hasPrefix("blocked") })
    }

    @Test func freeSessionWithTransportOfflineDiskIsCritical() throws {
        let tree = try tunedDisklessClient()
        try tree.setPhase(.free, session: 1)
        let found = findings(tree)
        #expect(HealthCheck.overall(found) == .critical)
        #expect(found.contains { $0.severity == .critical && $0.subject == "session1" && $0.message.hasPrefix("FREE") })
        #expect(found.contains { $0.severity == .critical && $0.subject == "sda" && $0.message.hasPrefix("transport-offline") })
    }

    @Test func recommendationIsCheckedOnRootSessionsOnly() throws {
        // The captured timers: NOPs 5/5 and recovery_tmo 120, on the root session and on a data session.
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.addISCSISession(number: 5, host: 6)
        for disk in ["sda", "sdb"] { try tree.setAttribute("class/block/\(disk)/queue/scheduler", "mq-deadline [none]") }
        for hctl in ["2:0:0:0", "6:0:0:0"] { try tree.setAttribute("class/scsi_device/\(hctl)/device/timeout", "90") }
        let found = findings(tree)
        #expect(HealthCheck.overall(found) == .warning)
        let nops = found.filter { $0.message.contains("NOPs are on") }
        let timer = found.filter { $0.message.contains("recovery_tmo 120 s is below 86400") }
        #expect(nops.map(\.subject) == ["session1"])
        #expect(timer.map(\.subject) == ["session1"])
        #expect(nops.first?.message.contains("noop_out_interval = 0") == true)
        #expect(!found.contains { $0.subject == "session5" })
    }

    @Test func unreadableTreeIsUnknown() throws {
        let tree = try FixtureTree()
        let topology = TopologyScanner(sysfs: FileTree(root: tree.directory + "/no-such-sysfs"), system: tree.system).scan()
        let found = HealthCheck(configuration: Configuration()).findings(topology)
        #expect(HealthCheck.overall(found) == .unknown)
        #expect(HealthCheck.overall(found).rawValue == 3)
        #expect(found.first?.subject == "sysfs")
    }

    @Test func rootFindingsComeFirst() throws {
        // A data session numbered before the root's session, FAILED: its findings would come first by number.
        let tree = try FixtureTree()
        let root = try tree.addISCSISession(number: 7, host: 8)
        try tree.mount(point: "/", device: root.disks[0], fileSystem: "ext4")
        try tree.addISCSISession(number: 2, host: 3, phase: .failed)
        let found = findings(tree)
        let firstNonRoot = try #require(found.firstIndex { !$0.concernsRoot })
        #expect(firstNonRoot > 0)
        #expect(found[..<firstNonRoot].allSatisfy { $0.concernsRoot })
        #expect(!found[firstNonRoot...].contains { $0.concernsRoot })
        #expect(found.first?.subject == "session7")
        #expect(found.contains { $0.subject == "session2" && $0.severity == .critical })
    }
}
