import ISCSIRootCore
import SysfsFixtures
import Testing

/// The daemon on roots stacked over iSCSI (issue 22): the session under an overlay's lower layer or
/// a loop device's backing file gets the root treatment (recovery_tmo raised, stalls are root stalls).
@Suite("iscsi-rootd run on overlay and loop roots")
struct StackedRootDaemonTests {
    @Test(arguments: [Scenario.overlay, .loop])
    func sessionUnderTheStackGetsTheRootTreatment(_ scenario: Scenario) throws {
        let tree = try FixtureTree()
        try scenario.layOut(in: tree)
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "7d0c2b8e-4f1a-4c3e-9b5d-2a6e8f1c3d70\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nStallThreshold=1\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        let ready = try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(statusValue(ready)?.hasPrefix("root sda via session1 LOGGED_IN") == true, "\(ready)")
        let raised = try daemon.waitForEntry(.recoveryTimeoutSet, ["ISCSI_SESSION": "session1", "ROOT": "1"], within: .zero)
        #expect(raised.fields["OLD_VALUE"] == "120" && raised.fields["NEW_VALUE"] == "86400")
        #expect(tree.sysfs.attribute("class/iscsi_session/session1/recovery_tmo").value == "86400")

        try tree.setInflight(disk: "sda", reads: 2, writes: 0)
        try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda", "ROOT": "1"])
        let status = try daemon.status()
        #expect(status.code == 2, "a stalled root disk is critical")
        #expect(status.json["root"]?["iscsi"] == .bool(true))
    }
}
