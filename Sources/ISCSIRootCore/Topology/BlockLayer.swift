/// One block device of a storage stack and the devices right below it (a tree: LVM, md and
/// multipath have several).
public struct BlockLayer: Sendable, Hashable {
    /// `dm-1`, `sda2`, `md0`.
    public let name: String
    /// The device-mapper name (`mpatha-part2`, `vg-root`), nil for others.
    public let mappedName: String?
    public let kind: BlockLayerKind
    /// The devices below, sorted (a partition's disk, a map's paths, a volume's physical volumes).
    public let below: [String]

    public init(name: String, mappedName: String?, kind: BlockLayerKind, below: [String]) {
        self.name = name
        self.mappedName = mappedName
        self.kind = kind
        self.below = below
    }

    /// What people call it: the mapped name when there is one.
    public var displayName: String { mappedName ?? name }
}

/// What a block device in a storage stack is, from sysfs: `partition`, `dm/uuid`'s prefix, `md/`.
public enum BlockLayerKind: String, Sendable, Hashable {
    case disk
    case partition
    case multipath
    /// kpartx's `part<N>-mpath-<WWID>` (or any `part<N>-` device-mapper partition).
    case mapperPartition = "mapper-partition"
    case lvm
    case crypt
    /// Device-mapper with another or no uuid prefix.
    case deviceMapper = "device-mapper"
    case raid
    /// A loop device: its backing file is a `StackedLayer` of the chain.
    case loop

    /// The kind a device-mapper uuid names (dm-ioctl's uuid conventions of each tool).
    public init(deviceMapperUUID uuid: String) {
        if uuid.hasPrefix("mpath-") {
            self = .multipath
        } else if uuid.hasPrefix("part"), let number = uuid.dropFirst(4).split(separator: "-").first,
                  number.allSatisfy({ $0.isASCII && $0.isNumber }), uuid.dropFirst(4 + number.count).hasPrefix("-") {
            self = .mapperPartition
        } else if uuid.hasPrefix("LVM-") {
            self = .lvm
        } else if uuid.hasPrefix("CRYPT-") {
            self = .crypt
        } else {
            self = .deviceMapper
        }
    }
}
