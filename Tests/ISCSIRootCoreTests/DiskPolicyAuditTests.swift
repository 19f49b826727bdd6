import ISCSIRootCore
import SysfsFixtures
import Testing

/// "Falls under the policy" has one definition (`DiskPolicy.applies`): the audit, the health
/// findings and the tuner agree on which devices are tuned.
@Suite("The audit tunes what the [Disk] policy tunes")
struct DiskPolicyAuditTests {
    /// A healthy client whose target also exports an iSCSI CD-ROM (type 5, `sr1`) at LUN 1.
    static func clientWithISCSICDROM() throws -> FixtureTree {
        let tree = try FixtureTree.healthyDisklessClient()
        let cdrom = try tree.addISCSILUN(session: 1, lun: 1, type: 5)
        // The root disk tuned as `apply` leaves it.
        try tree.setAttribute("\(FixtureTree.deviceDirectory("2:0:0:0"))/timeout", "90")
        try tree.setAttribute("\(FixtureTree.deviceDirectory("2:0:0:0"))/block/sda/queue/scheduler", "[none] mq-deadline")
        try tree.setAttribute("\(FixtureTree.deviceDirectory(cdrom.hctl))/timeout", "30")
        return tree
    }

    static func disksItem(_ tree: FixtureTree, policy: DiskPolicy = DiskPolicy()) -> AuditItem? {
        BootChainAudit(system: tree.system, topology: tree.scanner.scan(), policy: policy).run().first { $0.id == "disks" }
    }

    @Test func anISCSICDROMIsNotToldToRunApply() throws {
        let tree = try Self.clientWithISCSICDROM()
        let item = try #require(Self.disksItem(tree))
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail == "sda: timeout 90 s, scheduler none")
        #expect(item.fix == nil)
        // The health findings agree: nothing about the CD-ROM either.
        let status = StatusReport(topology: tree.scanner.scan(), configuration: Configuration())
        #expect(!status.findings.contains { $0.message.contains("not tuned") })
    }

    @Test func aCDROMUnderAPolicyListingType5IsAudited() throws {
        let tree = try Self.clientWithISCSICDROM()
        let item = try #require(Self.disksItem(tree, policy: DiskPolicy(types: [0, 5])))
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("sr1 device/timeout is 30 s, not 90"), "\(item.detail)")
    }
}
