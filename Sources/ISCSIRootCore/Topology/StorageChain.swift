/// A mount or swap area traced down to the disks under it:
/// `/ on dm-0 ← sda2 ← sda` is source "dm-0", path ["dm-0", "sda2", "sda"], disks ["sda"].
/// A stacked mount is traced through every layer: `/ on overlay ← lower /run/rootfsbase on sda2 ← sda;
/// upper /run/overlayfs on tmpfs` is source "overlay", overlay "/", path ["sda2", "sda"], disks ["sda"],
/// and the two layers in `stack`; a loop device's backing file is a layer of the loop device.
public struct StorageChain: Sendable, Hashable {
    public let use: StorageUse
    /// The block device (or, for swap files, the file) named by mountinfo or /proc/swaps.
    public let source: String
    /// The file system type from mountinfo ("swap" for swap).
    public let fileSystem: String
    /// Every block device from the source down to the disks, each once, top first, through every
    /// stacked layer (so the sessions of any layer carry the use).
    public let path: [String]
    /// The whole disks at the bottom of the chain.
    public let disks: [String]
    /// Each device of `path` with what it is and what is right below it: the stack as a tree.
    public let layers: [BlockLayer]
    /// Why the chain could not be followed to its disks (a block device missing from sysfs, a
    /// dangling device link): then nobody can tell whether it rests on iSCSI. Nil when traced.
    public let untraced: String?
    /// The file-system layers of stacked mounts in the chain (overlayfs layers, loop devices'
    /// backing files), each with the mount holding it; empty for a plain mount.
    public let stack: [StackedLayer]
    /// The mount point of the overlayfs the use is on itself (`/` for an overlay root), nil when the
    /// use's own mount is not an overlay.
    public let overlay: String?
    /// The use's mount is read-only (a shared image mounted `ro`); false for swap.
    public let readOnly: Bool

    public init(use: StorageUse, source: String, fileSystem: String, path: [String], disks: [String],
                layers: [BlockLayer] = [], stack: [StackedLayer] = [], overlay: String? = nil, readOnly: Bool = false,
                untraced: String? = nil) {
        self.use = use
        self.source = source
        self.fileSystem = fileSystem
        self.path = path
        self.disks = disks
        self.layers = layers
        self.untraced = untraced
        self.stack = stack
        self.overlay = overlay
        self.readOnly = readOnly
    }

    /// The layer of `name`, if it is in the chain.
    public func layer(_ name: String) -> BlockLayer? { layers.first { $0.name == name } }

    /// The stacked layers of an overlay (by mount point) or a loop device, in the kernel's order.
    public func stackedLayers(of owner: StackedLayer.Owner) -> [StackedLayer] { stack.filter { $0.owner == owner } }
}

/// What a mount or swap needs from the machine's storage.
public enum StorageUse: Sendable, Hashable, CustomStringConvertible {
    case root
    case usr
    case swap
    /// Any other file system mounted from an iSCSI disk.
    case mount(String)

    /// Whether losing it stops the machine: `/`, `/usr` and swap.
    public var isCritical: Bool {
        if case .mount = self { return false }
        return true
    }

    /// `/`, `/usr`, `[swap]`, or the mount point.
    public var description: String {
        switch self {
        case .root: "/"
        case .usr: "/usr"
        case .swap: "[swap]"
        case .mount(let point): point
        }
    }
}

extension [StorageUse] {
    /// `/, [swap]`: the uses as every message lists them.
    public var listed: String { map(\.description).joined(separator: ", ") }

    /// ` (carries /, [swap])`, or nothing when there are none: what a finding about a session or
    /// disk adds to say what losing it costs.
    public var carriesNote: String { isEmpty ? "" : " (carries \(listed))" }
}
