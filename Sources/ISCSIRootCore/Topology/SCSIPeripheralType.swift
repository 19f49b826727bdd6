/// A SCSI peripheral device type (`device/type`, SPC's PERIPHERAL DEVICE TYPE, 0…31).
public enum SCSIPeripheralType {
    /// lsscsi's short names (its `scsi_short_device_types`), so `status` and `lsscsi` say the
    /// same: 12 is a target's controller LUN ("storage", as tgtd shows LUN 0), 5 a CD-ROM.
    static let names = ["disk", "tape", "printer", "process", "worm", "cd/dvd", "scanner", "optical",
                        "mediumx", "comms", "(0xa)", "(0xb)", "storage", "enclosu", "sim dsk", "opti rd",
                        "bridge", "osd", "adi", "sec man", "zbc"]
    /// The types the kernel's sd driver binds, giving a block disk `sdX`: direct access (0),
    /// optical memory (7), reduced block commands (14) and host-managed zoned (20).
    static let diskTypes: Set<Int> = [0, 7, 14, 20]

    /// lsscsi's name of `type`; `(0x15)` style for the reserved ones, as lsscsi prints them.
    public static func name(_ type: Int) -> String {
        switch type {
        case names.indices: names[type]
        case 30: "wlun"
        case 31: "no dev"
        default: "(0x\(String(type, radix: 16)))"
        }
    }

    /// Whether a device of `type` is a disk (sd), not a CD-ROM, tape or a target's controller LUN.
    public static func isDisk(_ type: Int) -> Bool { diskTypes.contains(type) }
}

extension SCSIDevice {
    /// Whether the device is a disk; one whose type cannot be read counts when it has a block device.
    public var isDisk: Bool { type.value.map(SCSIPeripheralType.isDisk) ?? (disk != nil) }
}
