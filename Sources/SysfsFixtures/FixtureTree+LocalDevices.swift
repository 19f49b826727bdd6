import Foundation
import ISCSIRootCore

/// A local (non-iSCSI) SCSI disk, built from the captured ATA device with its real devpath shape.
public enum LocalDiskKind: String, CaseIterable, Sendable {
    /// AHCI: `/devices/pci0000:00/0000:00:1f.2/ataP/hostH/targetH:0:0/H:0:0:0`.
    case sata
    /// usb-storage: `/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/hostH/targetH:0:0/H:0:0:0`.
    case usb
    /// virtio-scsi: `/devices/pci0000:00/0000:00:05.0/virtio2/hostH/targetH:0:0/H:0:0:0`.
    case virtioSCSI = "virtio-scsi"
}

/// Local (non-iSCSI) SCSI devices: SATA, USB and virtio-scsi disks and an ATA CD-ROM.
extension FixtureTree {
    /// QEMU's ATA CD-ROM exactly as captured: `1:0:0:0` (type 5, `sr0`) under `ata2/host1`, with `ata1/host0`.
    @discardableResult
    public func addATACDROM() throws -> FixtureDevice {
        let world = try CaptureLibrary.world(.loggedIn)
        for host in world.ataHosts {
            let path = String(host.devicePath.dropFirst("/sys".count))
            try instantiate(host, at: path, detail: .complete)
            if let number = TopologyScanner.number(after: "host", in: TopologyScanner.lastComponent(path)) { nextHost = max(nextHost, number + 1) }
        }
        let devicePath = String(world.ataDevice.devicePath.dropFirst("/sys".count))
        return try addSCSIDevice(template: world.ataDevice, world: world, hctl: TopologyScanner.lastComponent(devicePath),
                                 devicePath: devicePath, type: 5, values: [:], lunTree: [], detail: .complete)
    }

    /// A local SCSI disk (type 0, `sdX`) on a new host, with the captured ATA device's attributes.
    @discardableResult
    public func addLocalDisk(_ kind: LocalDiskKind, vendor: String? = nil, model: String? = nil) throws -> FixtureDevice {
        let world = try CaptureLibrary.world(.loggedIn)
        let host = nextHost
        let hostPath: String
        let driver: String
        switch kind {
        case .sata:
            hostPath = "/devices/pci0000:00/0000:00:1f.2/ata\(host + 1)/host\(host)"
            driver = "ahci"
        case .usb:
            hostPath = "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host\(host)"
            driver = "usb-storage"
        case .virtioSCSI:
            hostPath = "/devices/pci0000:00/0000:00:05.0/virtio2/host\(host)"
            driver = "virtio_scsi"
        }
        guard let hostTemplate = world.ataHosts.last else { throw FixtureError(message: "no captured ATA host") }
        try instantiate(hostTemplate, at: "\(hostPath)/scsi_host/host\(host)", values: ["proc_name": driver],
                        detail: .complete)
        nextHost = host + 1
        // Inquiry strings are space-padded to 8 and 16 characters, as captured.
        let defaults: (String, String) = switch kind {
        case .sata: ("ATA", "QEMU HARDDISK")
        case .usb: ("QEMU", "QEMU HARDDISK")
        case .virtioSCSI: ("QEMU", "QEMU HARDDISK")
        }
        let hctl = "\(host):0:0:0"
        return try addSCSIDevice(template: world.ataDevice, world: world, hctl: hctl,
                                 devicePath: "\(hostPath)/target\(host):0:0/\(hctl)", type: 0,
                                 values: ["vendor": padded(vendor ?? defaults.0, to: 8),
                                          "model": padded(model ?? defaults.1, to: 16)],
                                 lunTree: [], detail: .complete)
    }
}
