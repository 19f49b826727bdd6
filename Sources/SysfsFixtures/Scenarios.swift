/// Ready-made machines for tests and the demo.
public enum Scenario: String, CaseIterable, Sendable {
    /// Root on `sda2` of the iSCSI disk (session1 on host2, as captured), `/boot` on `sda1`, swap on `sda3`,
    /// QEMU's ATA CD-ROM beside it.
    case healthy
    /// The healthy client with `/` on LVM (`vg-root`, dm-0) over `sda2`.
    case lvm
    /// The healthy client plus a second session (session12 on host3, LUNs 0 and 300), a SATA,
    /// a USB and a virtio-scsi disk, and an iSCSI CD-ROM.
    case mixed

    /// Lays the scenario out in `tree` (which should be empty).
    public func layOut(in tree: FixtureTree) throws {
        switch self {
        case .healthy: try tree.layOutHealthyDisklessClient()
        case .lvm: try tree.layOutHealthyDisklessClient(rootOnLVM: true)
        case .mixed:
            try tree.layOutHealthyDisklessClient()
            try tree.addISCSISession(number: 12, host: 3, luns: [0, 300], target: "iqn.2003-01.org.linux-iscsi.vmlab:tgt2")
            try tree.addISCSISession(number: 13, host: 4, luns: [0], type: 5, target: "iqn.2003-01.org.linux-iscsi.vmlab:cd")
            for kind in LocalDiskKind.allCases { try tree.addLocalDisk(kind) }
        }
    }
}

extension FixtureTree {
    /// A diskless client: root on a partition of the iSCSI disk (see `Scenario.healthy`).
    public static func healthyDisklessClient() throws -> FixtureTree {
        let tree = try FixtureTree()
        try tree.layOutHealthyDisklessClient()
        return tree
    }

    func layOutHealthyDisklessClient(rootOnLVM: Bool = false) throws {
        try addATACDROM()
        let session = try addISCSISession(number: 1, host: 2)
        let disk = session.disks[0]
        let boot = try addPartition(1, of: disk, startSector: 2048, sectors: 1_048_576)
        let root = try addPartition(2, of: disk, startSector: 1_050_624, sectors: 12_582_912)
        let swap = try addPartition(3, of: disk, startSector: 13_633_536, sectors: 2_097_152)
        if rootOnLVM {
            let mapped = try addDeviceMapper(name: "vg-root", over: [root], sectors: 12_574_720)
            try mount(point: "/", device: mapped, fileSystem: "ext4")
        } else {
            try mount(point: "/", device: root, fileSystem: "ext4")
        }
        try mount(point: "/boot", device: boot, fileSystem: "ext4")
        try addSwap(device: swap)
    }
}
