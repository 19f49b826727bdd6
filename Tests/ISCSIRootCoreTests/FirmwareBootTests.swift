import ISCSIRootCore
import SysfsFixtures
import Testing

/// The firmware's iSCSI boot record (iBFT) in status: read in the kernel's formats, shown beside the root
/// session, and a root session that is not the firmware's is flagged in text, JSON and metrics.
@Suite struct FirmwareBootTests {
    /// The healthy diskless client's root session, as the firmware would have booted it.
    static func matching() -> IBFTFixture {
        var fixture = IBFTFixture()
        fixture.target = "iqn.2003-01.org.linux-iscsi.vmlab:tgt1"
        fixture.address = "127.0.0.1"
        fixture.port = 3260
        fixture.initiator = "iqn.1993-08.org.debian:01:23e54346c1cd"
        return fixture
    }

    static func withTree<Result>(_ fixture: IBFTFixture?, _ body: (FixtureTree) throws -> Result) throws -> Result {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        if let fixture { try tree.addIBFT(fixture) }
        return try body(tree)
    }

    static func status(_ tree: FixtureTree) -> StatusReport {
        StatusReport(topology: tree.scanner.scan(), configuration: Configuration(),
                     firmware: FirmwareBoot.read(sysfs: tree.sysfs))
    }

    static func metrics(_ tree: FixtureTree) -> String {
        MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: nil,
                      firmware: FirmwareBoot.read(sysfs: tree.sysfs)).text
    }

    @Test func readsTheMeasuredRecord() throws {
        let firmware = try Self.withTree(IBFTFixture()) { try #require(FirmwareBoot.read(sysfs: $0.sysfs)) }
        #expect(firmware.initiatorName == "iqn.2010-04.org.ipxe:client")
        let target = try #require(firmware.targets.first)
        #expect(target.name == "iqn.2003-01.org.example:root")
        #expect(target.portal == "10.0.2.2:3262")
        #expect(target.lun == 1)
        let nic = try #require(firmware.nic(of: target))
        #expect(nic.mac == "52:54:00:12:34:56")
        #expect(nic.interface == "eth0")
        #expect(nic.addressOrigin == .dhcp)
        #expect(nic.summary == "eth0 (52:54:00:12:34:56) 10.0.2.15/24 by DHCP from 10.0.2.2, gateway 10.0.2.2")
    }

    @Test func aLUNTheKernelPrintedAmbiguouslyIsShownAsItsBytes() {
        // %x without padding: 0x11,0x0,… and 0x1,0x10,… both print 110…; only eight digits decode.
        let ambiguous = FirmwareBoot.Target(index: 0, name: nil, address: nil, port: nil, lunText: "1100000000", nicIndex: nil)
        #expect(ambiguous.lun == nil)
        #expect(ambiguous.lunDescription == "LUN bytes 1100000000")
        let third = FirmwareBoot.Target(index: 0, name: nil, address: nil, port: nil, lunText: "03000000", nicIndex: nil)
        #expect(third.lun == 3)
    }

    @Test func withoutIBFTNothingIsShown() throws {
        try Self.withTree(nil) { tree in
            #expect(FirmwareBoot.read(sysfs: tree.sysfs) == nil)
            let report = Self.status(tree)
            #expect(report.json["firmware"] == .null)
            #expect(!report.text(color: false).contains("firmware"))
            #expect(!Self.metrics(tree).contains("firmware"))
        }
    }

    @Test func theFirmwaresRootSessionMatches() throws {
        try Self.withTree(Self.matching()) { tree in
            let report = Self.status(tree)
            let text = report.text(color: false)
            #expect(text.contains("firmware (iBFT): target0 iqn.2003-01.org.linux-iscsi.vmlab:tgt1 @ 127.0.0.1:3260 LUN 1 as iqn.1993-08.org.debian:01:23e54346c1cd, via ethernet0 eth0 (52:54:00:12:34:56) 10.0.2.15/24 by DHCP from 127.0.0.1, gateway 127.0.0.1; root session1 is it"),
                    "\(text)")
            #expect(!report.findings.contains { $0.message.contains("firmware") })
            let firmware = try #require(report.json["firmware"])
            #expect(firmware["root_matches"] == .bool(true))
            #expect(firmware["root_session"] == .string("session1"))
            #expect(firmware["initiator"] == .string("iqn.1993-08.org.debian:01:23e54346c1cd"))
            let target = try #require(firmware["targets"]?.arrayValue?.first)
            #expect(target["lun"] == .int(1))
            #expect(target["lun_bytes"] == .string("01000000"))
            #expect(target["port"] == .int(3260))
            let nic = try #require(firmware["nics"]?.arrayValue?.first)
            #expect(nic["configuration"] == .string("dhcp"))
            #expect(nic["interface"] == .string("eth0"))
            let metrics = Self.metrics(tree)
            #expect(metrics.contains("iscsi_rootd_firmware_boot_root_matches{session=\"session1\"} 1"))
            #expect(metrics.contains("iscsi_rootd_firmware_boot_target_info{target=\"iqn.2003-01.org.linux-iscsi.vmlab:tgt1\",portal=\"127.0.0.1:3260\",lun=\"1\",initiator=\"iqn.1993-08.org.debian:01:23e54346c1cd\",mac=\"52:54:00:12:34:56\",interface=\"eth0\",configuration=\"dhcp\"} 1"),
                    "\(metrics)")
        }
    }

    @Test func aRootSessionToAnotherTargetIsFlagged() throws {
        var fixture = Self.matching()
        fixture.target = "iqn.2003-01.org.example:other"
        fixture.address = "10.0.2.2"
        try Self.withTree(fixture) { tree in
            let report = Self.status(tree)
            let finding = try #require(report.findings.first { $0.message.hasPrefix("not the session the firmware booted") })
            #expect(finding.severity == .warning && finding.concernsRoot && finding.subject == "session1")
            #expect(finding.message.contains("target iqn.2003-01.org.linux-iscsi.vmlab:tgt1, the firmware's is iqn.2003-01.org.example:other"))
            #expect(finding.message.contains("portal address 127.0.0.1, the firmware's is 10.0.2.2"))
            #expect(report.text(color: false).contains("; root session1 is NOT it: target"))
            #expect(report.json["firmware"]?["root_matches"] == .bool(false))
            #expect(Self.metrics(tree).contains("iscsi_rootd_firmware_boot_root_matches{session=\"session1\"} 0"))
        }
    }

    @Test func aRootSessionWithAnotherInitiatorIsFlagged() throws {
        var fixture = Self.matching()
        fixture.initiator = "iqn.2010-04.org.ipxe:client"
        try Self.withTree(fixture) { tree in
            let report = Self.status(tree)
            let finding = try #require(report.findings.first { $0.message.hasPrefix("not the session the firmware booted") })
            #expect(finding.message.hasSuffix("initiator iqn.1993-08.org.debian:01:23e54346c1cd, the firmware's is iqn.2010-04.org.ipxe:client"))
            #expect(report.overall >= .warning)
        }
    }

    @Test func aStaticNICIsToldFromADHCPOne() throws {
        var fixture = Self.matching()
        fixture.dhcp = false
        try Self.withTree(fixture) { tree in
            let report = Self.status(tree)
            #expect(report.text(color: false).contains("eth0 (52:54:00:12:34:56) 10.0.2.15/24 static, gateway 127.0.0.1"))
            let nic = try #require(report.json["firmware"]?["nics"]?.arrayValue?.first)
            #expect(nic["configuration"] == .string("static"))
            #expect(nic["dhcp_server"] == .null)
            #expect(Self.metrics(tree).contains("configuration=\"static\""))
        }
    }

    @Test func aNICNoInterfaceHasIsSaidSo() throws {
        var fixture = Self.matching()
        fixture.interface = nil
        try Self.withTree(fixture) { tree in
            #expect(Self.status(tree).text(color: false).contains("via ethernet0 no interface (52:54:00:12:34:56)"))
        }
    }
}
