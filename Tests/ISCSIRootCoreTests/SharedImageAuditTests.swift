import ISCSIRootCore
import SysfsFixtures
import Testing

/// A read-only shared root is a layout of its own (issue 22): `check` expects no fstab line for an
/// overlay the initramfs built, no fsck of a LUN other clients read, and fixes made in the image; the
/// daemon still raises the session's recovery_tmo and tunes its disk.
@Suite("A read-only shared root: what check expects, what the daemon does")
struct SharedImageAuditTests {
    static let fstabWithoutRoot = "# <fs> <dir> <type> <options> <dump> <pass>\ntmpfs /tmp tmpfs defaults 0 0\n"

    func items(_ changes: [String: String?], topology: Topology = InitiatorNameCheckTests.overlayRoot()) throws -> [AuditItem] {
        try AuditTests.audit(try AuditTests.changed(changes), topology: topology)
    }

    @Test func anOverlayRootNeedsNoFstabLineForSlash() throws {
        let fstab = try AuditTests.item("fstab", items(["etc/fstab": Self.fstabWithoutRoot]))
        #expect(fstab.verdict == .ok)
        #expect(fstab.detail.contains("/ is an overlay over the iSCSI disk, built by the initramfs"))
        // A plain root without a line for / still fails.
        let plain = try AuditTests.item("fstab", items(["etc/fstab": Self.fstabWithoutRoot], topology: AuditTests.topology()))
        #expect(plain.verdict == .fail)
    }

    @Test func fsckOfASharedLUNWarnsAndIsFixedInTheImage() throws {
        // The good fstab checks / (sixth field 1): fine for a client's own disk, not for a shared one.
        let shared = try AuditTests.item("fstab", items([:]))
        #expect(shared.verdict == .warn)
        #expect(shared.detail.contains("fsck check / (sixth field 1), and / is an overlay over the iSCSI disk"))
        #expect(shared.fix?.hasPrefix("set the sixth field of / in /etc/fstab to 0, in the image every client boots") == true)
        #expect(shared.fix?.contains("a change made here is lost at reboot") == true)
        let plain = try AuditTests.item("fstab", items([:], topology: AuditTests.topology()))
        #expect(plain.verdict == .ok)
    }

    @Test func aNodeRecordFixIsMadeInTheImage() throws {
        let changes = [AuditTests.nodePath: AuditTests.nodeRecord(startup: "manual")]
        let node = try AuditTests.item("node-record", items(changes))
        #expect(node.verdict == .fail)
        #expect(node.fix?.hasPrefix("iscsiadm -m node -T \(AuditTests.target) -p 10.0.0.1:3260 -o update -n node.startup -v onboot, in the image every client boots") == true)
        let plain = try AuditTests.item("node-record", items(changes, topology: AuditTests.topology()))
        #expect(plain.fix == "iscsiadm -m node -T \(AuditTests.target) -p 10.0.0.1:3260 -o update -n node.startup -v onboot")
    }

    /// A read-only LUN mounted read-only as /: its session's recovery_tmo is still raised (reads wait
    /// instead of failing) and its disk tuned.
    @Test func aReadOnlyRootSessionIsRaisedAndItsDiskTuned() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        try tree.setAttribute("class/block/sda/ro", "1")
        try tree.mount(point: "/", device: session.disks[0], fileSystem: "ext4", readOnly: true)
        let topology = tree.scanner.scan()
        #expect(topology.root?.readOnly == true)
        let found = try #require(topology.session(1))
        #expect(SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400)).tune(found, topology: topology)
                == .changed(from: .seconds(120), to: .seconds(86400)))
        let outcomes = DiskTuner(sysfs: tree.sysfs, policy: DiskPolicy()).tune(topology.devices)
        #expect(!outcomes.isEmpty)
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "none")
    }
}
