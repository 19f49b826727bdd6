import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("TopologyScanner on trees from the real captures")
struct TopologyScannerTests {
    @Test func healthyClientHasItsRootChainDownToTheSession() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let topology = tree.scanner.scan()

        #expect(topology.unreadable == nil)
        let root = try #require(topology.root)
        #expect(root.source == "sda2")
        #expect(root.fileSystem == "ext4")
        #expect(root.path == ["sda2", "sda"])
        #expect(root.disks == ["sda"])
        #expect(topology.sessions(of: root).map(\.number) == [1])
        #expect(topology.criticalUses(ofSession: 1) == [.root, .swap])

        let session = try #require(topology.session(1))
        #expect(session.devpath == "/devices/platform/host2/session1")
        #expect(session.hostNumber == 2)
        #expect(session.state == .value(.loggedIn))
        #expect(session.targetName == .value("iqn.2003-01.org.linux-iscsi.vmlab:tgt1"))
        #expect(session.targetState == .value("SCANNED"))
        #expect(session.tpgt == .value(1))
        #expect(session.recoveryTimeout == .value(.seconds(120)))
        #expect(session.initiatorName == .value("iqn.1993-08.org.debian:01:23e54346c1cd"))
        #expect(session.ifaceName == .value("default"))
        #expect(session.portal == "127.0.0.1:3260")
        let connection = try #require(session.connections.first)
        #expect(connection.name == "connection1:0")
        #expect(connection.state == .value(.up))
        #expect(connection.pingTimeout == .value(5))
        #expect(connection.receiveTimeout == .value(5))
        #expect(session.nopsEnabled)

        let host = try #require(topology.host(2))
        #expect(host.state == .value(.running))
        #expect(host.netdev == .unknown("not set"))
        #expect(host.ipAddress == .value("127.0.0.1"))

        let disk = try #require(topology.device(disk: "sda"))
        #expect(disk.hctl == HCTL(host: 2, channel: 0, target: 0, lun: 0))
        #expect(disk.sessionNumber == 1)
        #expect(disk.type == .value(0))
        #expect(disk.state == .value(.running))
        #expect(disk.timeout == .value(30))
        #expect(disk.ehTimeout == .value(10))
        #expect(disk.vendor == .value("LIO-ORG"))
        #expect(disk.model == .value("FILEIO"))
        #expect(disk.disk?.scheduler == .value(Scheduler(selected: "mq-deadline", available: ["mq-deadline", "none"])))
        #expect(disk.disk?.partitions == ["sda1", "sda2", "sda3"])
    }

    @Test func swapOnAnISCSIPartitionIsTracedToItsDisk() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let swap = try #require(tree.scanner.scan().chains.first { $0.use == .swap })
        #expect(swap.source == "sda3")
        #expect(swap.fileSystem == "swap")
        #expect(swap.path == ["sda3", "sda"])
        #expect(swap.disks == ["sda"])
    }

    @Test func severalSessionsAndLUNsWithLargeNumbers() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2, luns: [0, 1])
        try tree.addISCSISession(number: 10, host: 11, luns: [0, 256, 16383],
                                 target: "iqn.2003-01.org.linux-iscsi.vmlab:tgt10", portal: "10.0.0.5", port: 3261)
        try tree.addISCSISession(number: 123, host: 124, luns: [7])
        let topology = tree.scanner.scan()

        #expect(topology.sessions.map(\.number) == [1, 10, 123])
        #expect(topology.hosts.map(\.number) == [2, 11, 124])
        #expect(topology.session(10)?.portal == "10.0.0.5:3261")
        #expect(topology.session(10)?.targetName == .value("iqn.2003-01.org.linux-iscsi.vmlab:tgt10"))
        #expect(topology.session(123)?.hostNumber == 124)
        #expect(topology.devices.map(\.hctl.description)
                == ["2:0:0:0", "2:0:0:1", "11:0:0:0", "11:0:0:256", "11:0:0:16383", "124:0:0:7"])
        #expect(topology.devices.map(\.sessionNumber) == [1, 1, 10, 10, 10, 123])
        #expect(topology.devices.compactMap(\.disk?.name) == ["sda", "sdb", "sdc", "sdd", "sde", "sdf"])
        #expect(topology.device(disk: "sde")?.hctl.lun == 16383)
    }

    @Test func localDisksAndCDROMsAreListedAsNonISCSI() throws {
        let tree = try FixtureTree()
        try Scenario.mixed.layOut(in: tree)
        let topology = tree.scanner.scan()

        let byHCTL = Dictionary(uniqueKeysWithValues: topology.devices.map { ($0.hctl.description, $0) })
        // QEMU's captured ATA CD-ROM.
        let ataCDROM = try #require(byHCTL["1:0:0:0"])
        #expect(ataCDROM.sessionNumber == nil)
        #expect(ataCDROM.type == .value(5))
        #expect(ataCDROM.vendor == .value("QEMU"))
        #expect(ataCDROM.model == .value("QEMU DVD-ROM"))
        #expect(ataCDROM.disk?.name == "sr0")
        #expect(ataCDROM.devpath == "/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0")
        // SATA, USB, virtio-scsi disks.
        let local = topology.devices.filter { $0.devpath.hasPrefix("/devices/pci") && $0.type == .value(0) }
        #expect(local.count == 3)
        #expect(local.allSatisfy { $0.sessionNumber == nil && !$0.isISCSI })
        #expect(local.contains { $0.devpath.contains("/usb2/2-1/2-1:1.0/") })
        #expect(local.contains { $0.devpath.contains("/virtio2/") })
        #expect(local.contains { $0.devpath.contains("/0000:00:1f.2/ata") && $0.vendor == .value("ATA") })
        // The iSCSI CD-ROM is iSCSI, type 5.
        let iscsiCDROM = try #require(topology.devices.first { $0.sessionNumber == 13 })
        #expect(iscsiCDROM.type == .value(5))
        #expect(iscsiCDROM.disk?.name == "sr1")
        // Only iSCSI hosts are listed, and only iSCSI disks count.
        #expect(topology.hosts.map(\.number) == [2, 3, 4])
        #expect(topology.iscsiDevices.map(\.hctl.description) == ["2:0:0:0", "3:0:0:0", "3:0:0:300", "4:0:0:0"])
    }

    @Test func aSessionFolderWithoutAnISCSISessionDoesNotMakeADeviceISCSI() throws {
        // multipath-tools' rule: the sessionN ancestor must be an iscsi_session.
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 4, host: 5)
        try tree.removeSession(4)
        #expect(tree.scanner.scan().devices.isEmpty)
        #expect(!tree.sysfs.exists(session.devicePath))
    }

    @Test func rootOnLVMOverISCSI() throws {
        let tree = try FixtureTree()
        try Scenario.lvm.layOut(in: tree)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.source == "dm-0")
        #expect(root.path == ["dm-0", "sda2", "sda"])
        #expect(root.disks == ["sda"])
        #expect(topology.sessions(of: root).map(\.number) == [1])
    }

    @Test func rootNamedByDeviceMapperPathWhenMajorMinorIsUnknown() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2, luns: [0, 1])
        let mapped = try tree.addDeviceMapper(name: "vg-root", over: session.disks)
        try tree.mount(point: "/", device: mapped, fileSystem: "xfs")
        // A btrfs-like mount whose MAJ:MIN is anonymous: the scanner falls back to /dev/mapper/NAME.
        let text = try #require(tree.system.read("proc/self/mountinfo").get()
            .replacingFirst("253:0", with: "0:44"))
        try tree.writeSystemFile("proc/self/mountinfo", text)
        let root = try #require(tree.scanner.scan().root)
        #expect(root.source == "dm-0")
        #expect(root.disks == ["sda", "sdb"])
    }

    @Test func failedSessionWithBlockedDisks() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 2, host: 2, phase: .failed, luns: [0, 1])
        let topology = tree.scanner.scan()
        let session = try #require(topology.session(2))
        #expect(session.state == .value(.failed))
        #expect(session.connections.first?.state == .value(.failed))
        // Captured: the persistent portal stays readable while address/port fail.
        #expect(session.portal == "127.0.0.1:3260")
        #expect(topology.host(2)?.state == .value(.running))
        #expect(topology.host(2)?.ipAddress.value == nil)
        #expect(topology.devices.map(\.state) == [.value(.blocked), .value(.blocked)])
    }

    @Test func freeSessionWithTransportOfflineDisks() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 3, host: 2, phase: .free, luns: [0, 1])
        let topology = tree.scanner.scan()
        #expect(topology.session(3)?.state == .value(.free))
        #expect(topology.devices.map(\.state) == [.value(.transportOffline), .value(.transportOffline)])
    }

    @Test func anOutageAndItsRecoveryChangeTheStatesInPlace() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.failed, session: 1)
        #expect(tree.scanner.scan().session(1)?.state == .value(.failed))
        #expect(tree.scanner.scan().device(disk: "sda")?.state == .value(.blocked))
        try tree.setPhase(.free, session: 1)
        #expect(tree.scanner.scan().device(disk: "sda")?.state == .value(.transportOffline))
        try tree.setPhase(.loggedIn, session: 1)
        let recovered = tree.scanner.scan()
        #expect(recovered.session(1)?.state == .value(.loggedIn))
        #expect(recovered.session(1)?.connections.first?.state == .value(.up))
        #expect(recovered.device(disk: "sda")?.state == .value(.running))
        #expect(recovered.host(2)?.ipAddress == .value("127.0.0.1"))
    }

    @Test func schedulerListWithoutNone() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        try tree.setAttribute("class/block/\(session.disks[0])/queue/scheduler", "[mq-deadline] kyber bfq")
        let disk = try #require(tree.scanner.scan().device(disk: "sda")?.disk)
        #expect(disk.scheduler == .value(Scheduler(selected: "mq-deadline", available: ["mq-deadline", "kyber", "bfq"])))
        #expect(disk.scheduler.value?.available.contains("none") == false)
    }

    @Test func junkInEveryAttributeGivesUnknownOrOtherValuesNeverACrash() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let junk = "\u{1}\u{7f}[[x]] \u{FFFD}-0x"
        for path in readAttributes(sessions: [1], connections: ["connection1:0"], hosts: [2], devices: ["2:0:0:0"],
                                   disks: ["sda"]) {
            try tree.setAttribute(path, junk)
        }
        let topology = tree.scanner.scan()
        let session = try #require(topology.session(1))
        #expect(session.state == .value(.other(junk.trimmingSpaces)))
        #expect(session.tpgt.unknownReason?.hasPrefix("unparsable") == true)
        #expect(session.recoveryTimeout.unknownReason?.hasPrefix("unparsable") == true)
        #expect(session.creator.value == nil)
        let connection = try #require(session.connections.first)
        #expect(connection.persistentPort.value == nil)
        #expect(connection.pingTimeout.value == nil)
        #expect(connection.receiveTimeout.value == nil)
        #expect(connection.portal == "\(junk.trimmingSpaces)")
        let device = try #require(topology.device(disk: "sda"))
        #expect(device.type.value == nil)
        #expect(device.timeout.value == nil)
        #expect(device.ehTimeout.value == nil)
        #expect(device.state == .value(.other(junk.trimmingSpaces)))
        #expect(device.disk?.scheduler.value == nil)
        #expect(topology.host(2)?.state == .value(.other(junk.trimmingSpaces)))
    }

    @Test func everyAttributeUnreadableGivesUnknownWithTheReason() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        for path in readAttributes(sessions: [1], connections: ["connection1:0"], hosts: [2], devices: ["2:0:0:0"],
                                   disks: ["sda"]) {
            try tree.makeUnreadable(path, .directory)
        }
        let topology = tree.scanner.scan()
        let session = try #require(topology.session(1))
        let readings: [String?] = [
            session.state.unknownReason, session.targetState.unknownReason, session.targetName.unknownReason,
            session.tpgt.unknownReason, session.recoveryTimeout.unknownReason, session.ifaceName.unknownReason,
            session.initiatorName.unknownReason, session.creator.unknownReason,
            session.connections.first?.state.unknownReason, session.connections.first?.persistentAddress.unknownReason,
            session.connections.first?.persistentPort.unknownReason, session.connections.first?.pingTimeout.unknownReason,
            session.connections.first?.receiveTimeout.unknownReason,
            topology.host(2)?.state.unknownReason, topology.host(2)?.netdev.unknownReason,
            topology.host(2)?.ipAddress.unknownReason,
            topology.device(disk: "sda")?.type.unknownReason, topology.device(disk: "sda")?.state.unknownReason,
            topology.device(disk: "sda")?.timeout.unknownReason, topology.device(disk: "sda")?.ehTimeout.unknownReason,
            topology.device(disk: "sda")?.vendor.unknownReason, topology.device(disk: "sda")?.model.unknownReason,
            topology.device(disk: "sda")?.disk?.scheduler.unknownReason,
        ]
        #expect(readings.allSatisfy { $0 == "EISDIR (Is a directory)" })
        #expect(session.portal == nil)
    }

    @Test func missingAttributesAreUnknownMissing() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        try tree.removeAttribute("class/iscsi_session/session1/recovery_tmo")
        try tree.removeAttribute("\(session.devices[0].devicePath)/timeout")
        let topology = tree.scanner.scan()
        #expect(topology.session(1)?.recoveryTimeout == .unknown("missing"))
        #expect(topology.device(disk: "sda")?.timeout == .unknown("missing"))
    }

    @Test func unreadableAccessStateDoesNotDisturbTheScan() throws {
        // access_state and preferred_path read EINVAL on the captured machine; wwid of the CD-ROM ENXIO.
        let tree = try FixtureTree()
        try tree.addATACDROM()
        try tree.addISCSISession(number: 1, host: 2)
        let devices = tree.scanner.scan().devices
        #expect(devices.count == 2)
        #expect(devices.allSatisfy { $0.state == .value(.running) && $0.type.value != nil && $0.timeout.value != nil })
    }

    @Test func aDeviceRemovedAfterTheScanReadsAsNil() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2, luns: [0, 1])
        let scanner = tree.scanner
        let before = scanner.scan()
        let sessions = Set(before.sessions.map(\.number))
        let hctl = try #require(HCTL("2:0:0:1"))
        #expect(scanner.readDevice(hctl: hctl, iscsiSessions: sessions) != nil)

        try tree.removeDevice("2:0:0:1")
        #expect(scanner.readDevice(hctl: hctl, iscsiSessions: sessions) == nil)
        let after = scanner.scan()
        #expect(after.devices.map(\.hctl.description) == ["2:0:0:0"])
        #expect(after.device(disk: "sdb") == nil)
    }

    @Test func aTreeWithoutClassIsUnreadable() throws {
        let tree = try FixtureTree()
        let topology = TopologyScanner(sysfs: FileTree(root: tree.directory + "/nonexistent"), system: tree.system).scan()
        #expect(topology.unreadable != nil)
        #expect(topology.devices.isEmpty)
    }

    @Test func scanOf4096LUNsFindsThemAll() throws {
        let tree = try FixtureTree()
        for session in 0..<16 {
            try tree.addISCSISession(number: session + 1, host: session + 2, luns: (0..<256).map { UInt64($0) + 1000 },
                                     detail: .essential)
        }
        let topology = tree.scanner.scan()
        #expect(topology.sessions.count == 16)
        #expect(topology.devices.count == 4096)
        #expect(topology.iscsiDevices.count == 4096)
        #expect(Set(topology.devices.compactMap(\.disk?.name)).count == 4096)
        #expect(topology.devices.allSatisfy { $0.state == .value(.running) && $0.disk?.scheduler.value != nil })
    }

    /// Every attribute the scanner reads for these objects.
    private func readAttributes(sessions: [Int], connections: [String], hosts: [Int], devices: [String],
                                disks: [String]) -> [String] {
        var paths: [String] = []
        let sessionAttributes = ["state", "target_state", "targetname", "tpgt", "recovery_tmo", "ifacename",
                                 "initiatorname", "creator"]
        for number in sessions {
            paths += sessionAttributes.map { "class/iscsi_session/session\(number)/\($0)" }
        }
        for name in connections {
            paths += ["state", "persistent_address", "persistent_port", "ping_tmo", "recv_tmo"]
                .map { "class/iscsi_connection/\(name)/\($0)" }
        }
        for number in hosts {
            paths += ["class/scsi_host/host\(number)/state", "class/iscsi_host/host\(number)/netdev",
                      "class/iscsi_host/host\(number)/ipaddress"]
        }
        for hctl in devices {
            paths += ["type", "state", "timeout", "eh_timeout", "vendor", "model"].map { "class/scsi_device/\(hctl)/device/\($0)" }
        }
        paths += disks.map { "class/block/\($0)/queue/scheduler" }
        return paths
    }
}

extension String {
    var trimmingSpaces: String { trimmingWhitespace }

    func replacingFirst(_ target: String, with replacement: String) -> String? {
        guard let range = range(of: target) else { return nil }
        return replacingCharacters(in: range, with: replacement)
    }
}
