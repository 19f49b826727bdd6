import ISCSIRootCore

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
    /// Root on dm-multipath: one LUN through two portals (session1 on host2 via 10.0.2.2, session2
    /// on host3 via 10.0.3.2), `mpatha` over sda and sdb, `/boot`, `/` and swap on its kpartx
    /// partitions, recovery_tmo 5 as multipathd's fast_io_fail_tmo leaves it, and a multipath.conf
    /// that queues with no path left.
    case multipath
    /// The multipath root plus a direct data LUN (session3 on host4, `/srv` on sdc).
    case multipathData = "multipath-data"
    /// Root on LVM (`vg-root`) spanning two direct iSCSI disks of two targets.
    case lvmTwoDisks = "lvm-two-disks"
    /// One image, many clients: `/` an overlayfs as dracut's live overlay builds it, the lower layer
    /// `/run/rootfsbase` (ext4 on `sda2` of the iSCSI disk, read-only), the upper `/run/overlayfs`
    /// on the `/run` tmpfs.
    case overlay
    /// `/` ext4 on `loop0`, whose backing file `/run/initramfs/live/LiveOS/rootfs.img` lies on `sda1`
    /// of the iSCSI disk, mounted on `/run/initramfs/live`.
    case loop
    /// The overlay root over the multipath map's kpartx partition (`mpatha-part2` on `/run/rootfsbase`).
    case overlayMultipath = "overlay-multipath"
    /// An overlay root whose lowerdir (`/media/root-ro`, the name the initramfs gave it before
    /// switch_root) no mount holds any more: nothing tells whether `/` is on the iSCSI disk.
    case overlayUntraceable = "overlay-untraceable"
    /// `/`, `/boot` and swap on a local SATA disk; the iSCSI LUN (session1 on host3) is data, on `/srv`.
    case localRoot = "local-root"
    /// The iSCSI LUN (session1 on host2) on `/srv`, and `/` on `/dev/root` (259:0), a block device
    /// sysfs does not know: the root cannot be traced.
    case untracedRoot = "untraced-root"

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
        case .multipath: try tree.layOutMultipathClient()
        case .multipathData: try tree.layOutMultipathClient(dataLUN: true)
        case .lvmTwoDisks:
            try tree.addATACDROM()
            let first = try tree.addISCSISession(number: 1, host: 2, target: "iqn.2003-01.org.linux-iscsi.vmlab:pv1")
            let second = try tree.addISCSISession(number: 2, host: 3, target: "iqn.2003-01.org.linux-iscsi.vmlab:pv2")
            // LVM's dm uuid: LVM- then the VG's and the LV's 32-character uuids.
            let volume = try tree.addDeviceMapper(name: "vg-root", over: first.disks + second.disks, sectors: 262_144,
                                                  uuid: "LVM-" + String(repeating: "A", count: 32) + String(repeating: "B", count: 32))
            try tree.mount(point: "/", device: volume, fileSystem: "ext4")
        case .overlay: try tree.layOutOverlayClient()
        case .overlayMultipath: try tree.layOutOverlayClient(multipath: true)
        case .overlayUntraceable: try tree.layOutOverlayClient(lowerdir: "/media/root-ro")
        case .loop:
            try tree.addATACDROM()
            let session = try tree.addISCSISession(number: 1, host: 2)
            let live = try tree.addPartition(1, of: session.disks[0], startSector: 2048, sectors: 12_582_912)
            try tree.mount(point: "/run/initramfs/live", device: live, fileSystem: "ext4", readOnly: true)
            let loop = try tree.addLoop(backingFile: "/run/initramfs/live/LiveOS/rootfs.img", sectors: 8_388_608)
            try tree.mount(point: "/", device: loop, fileSystem: "ext4")
        case .localRoot:
            try tree.addATACDROM()
            guard let local = try tree.addLocalDisk(.sata).disk else { throw FixtureError(message: "the SATA disk has no block device") }
            let root = try tree.addPartition(1, of: local, startSector: 2048, sectors: 12_582_912)
            let boot = try tree.addPartition(2, of: local, startSector: 12_584_960, sectors: 1_048_576)
            let swap = try tree.addPartition(3, of: local, startSector: 13_633_536, sectors: 2_097_152)
            try tree.mount(point: "/", device: root, fileSystem: "ext4")
            try tree.mount(point: "/boot", device: boot, fileSystem: "ext4")
            try tree.addSwap(device: swap)
            let data = try tree.addISCSISession(number: 1, host: tree.nextHost, target: "iqn.2003-01.org.linux-iscsi.vmlab:data")
            try tree.mount(point: "/srv", device: data.disks[0], fileSystem: "xfs")
        case .untracedRoot:
            try tree.addATACDROM()
            let session = try tree.addISCSISession(number: 1, host: 2)
            // What the kernel names a root mounted without an initramfs; 259:0 is no device of this tree.
            try tree.mount(point: "/", majorMinor: "259:0", source: "/dev/root", fileSystem: "ext4")
            try tree.mount(point: "/srv", device: session.disks[0], fileSystem: "xfs")
        }
    }

    /// Data LUNs added to a scenario's client (`iscsi-rootd-sim create --data-luns`): `count` LUNs
    /// spread over `sessions` new sessions, each on a host of its own, numbered after the scenario's.
    public static func addDataLUNs(_ count: Int, sessions: Int, in tree: FixtureTree) throws {
        guard count > 0 else { return }
        let sessions = max(1, min(sessions, count))
        var number = (tree.sysfs.list("class/iscsi_session").compactMap { TopologyScanner.number(after: "session", in: $0) }.max() ?? 0) + 1
        for index in 0..<sessions {
            let luns = count / sessions + (index < count % sessions ? 1 : 0)
            try tree.addISCSISession(number: number, host: tree.nextHost, luns: (0..<UInt64(luns)).map { $0 },
                                     target: "iqn.2003-01.org.linux-iscsi.vmlab:data" + (index == 0 ? "" : "\(index)"))
            number += 1
        }
    }
}

/// The multipath.conf of the multipath scenarios: the LUN's vendor queues with no path left.
let multipathConf = """
    defaults {
    	user_friendly_names yes
    }
    devices {
    	device {
    		vendor "LIO-ORG"
    		product ".*"
    		no_path_retry queue
    	}
    }

    """

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

    /// `/` an overlay over a read-only lower layer on the iSCSI disk (see `Scenario.overlay`); the
    /// lower layer on a multipath map's partition with `multipath`; with `lowerdir`, the overlay
    /// names that directory instead of `/run/rootfsbase` (where the lower layer is still mounted).
    func layOutOverlayClient(multipath: Bool = false, lowerdir: String = "/run/rootfsbase") throws {
        try addATACDROM()
        let lower: String
        if multipath {
            let target = "iqn.2003-01.org.linux-iscsi.vmlab:tgt1"
            let first = try addISCSISession(number: 1, host: 2, target: target, portal: "10.0.2.2")
            let second = try addISCSISession(number: 2, host: 3, target: target, portal: "10.0.3.2")
            for session in [1, 2] { try setAttribute("class/iscsi_session/session\(session)/recovery_tmo", "5") }
            let map = try addMultipathMap(name: "mpatha", paths: first.disks + second.disks)
            lower = try addMapperPartition(2, of: map, sectors: 12_582_912)
            try writeSystemFile("etc/multipath.conf", multipathConf)
        } else {
            let session = try addISCSISession(number: 1, host: 2)
            lower = try addPartition(2, of: session.disks[0], startSector: 1_050_624, sectors: 12_582_912)
        }
        try mountVirtual(point: "/run")
        try mount(point: "/run/rootfsbase", device: lower, fileSystem: "ext4", readOnly: true)
        try mountOverlay(point: "/", lower: [lowerdir], upper: "/run/overlayfs", work: "/run/ovlwork")
    }

    /// Root on a multipath map over two sessions to one LUN (see `Scenario.multipath`).
    func layOutMultipathClient(dataLUN: Bool = false) throws {
        try addATACDROM()
        let target = "iqn.2003-01.org.linux-iscsi.vmlab:tgt1"
        let first = try addISCSISession(number: 1, host: 2, target: target, portal: "10.0.2.2")
        let second = try addISCSISession(number: 2, host: 3, target: target, portal: "10.0.3.2")
        for session in [1, 2] { try setAttribute("class/iscsi_session/session\(session)/recovery_tmo", "5") }
        let map = try addMultipathMap(name: "mpatha", paths: first.disks + second.disks)
        let boot = try addMapperPartition(1, of: map, sectors: 1_048_576)
        let root = try addMapperPartition(2, of: map, sectors: 12_582_912)
        let swap = try addMapperPartition(3, of: map, sectors: 2_097_152)
        try writeSystemFile("etc/multipath.conf", multipathConf)
        try mount(point: "/", device: root, fileSystem: "ext4")
        try mount(point: "/boot", device: boot, fileSystem: "ext4")
        try addSwap(device: swap)
        if dataLUN {
            let data = try addISCSISession(number: 3, host: 4, target: "iqn.2003-01.org.linux-iscsi.vmlab:data", portal: "10.0.2.2")
            try mount(point: "/srv", device: data.disks[0], fileSystem: "xfs")
        }
    }
}
