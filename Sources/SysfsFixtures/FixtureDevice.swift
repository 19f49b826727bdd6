/// A SCSI device the builder laid out.
public struct FixtureDevice: Sendable, Hashable {
    /// `2:0:0:256`.
    public let hctl: String
    /// Its canonical directory relative to the sysfs root, e.g. `/devices/platform/host2/session1/target2:0:0/2:0:0:0`.
    public let devicePath: String
    /// `sda`, `sr1`, or nil for types without a block device.
    public let disk: String?

    /// The block device directory (`…/block/sda`), when there is one.
    public var diskPath: String? { disk.map { "\(devicePath)/block/\($0)" } }
}

/// An iSCSI session the builder laid out.
public struct FixtureSession: Sendable, Hashable {
    public let number: Int
    public let host: Int
    /// `/devices/platform/hostH/sessionS`.
    public let devicePath: String
    public let devices: [FixtureDevice]

    /// The block device names of its LUNs, in LUN order.
    public var disks: [String] { devices.compactMap(\.disk) }
}
