/// A mount or swap area traced down to the disks under it:
/// `/ on dm-0 ← sda2 ← sda` is source "dm-0", path ["dm-0", "sda2", "sda"], disks ["sda"].
public struct StorageChain: Sendable, Hashable {
    public let use: StorageUse
    /// The block device (or, for swap files, the file) named by mountinfo or /proc/swaps.
    public let source: String
    /// The file system type from mountinfo ("swap" for swap).
    public let fileSystem: String
    /// Every block device from the source down to the disks, each once, top first.
    public let path: [String]
    /// The whole disks at the bottom of the chain.
    public let disks: [String]
    /// Each device of `path` with what it is and what is right below it: the stack as a tree.
    public let layers: [BlockLayer]
    /// Why the chain could not be followed to its disks (a block device missing from sysfs, a
    /// dangling device link): then nobody can tell whether it rests on iSCSI. Nil when traced.
    public let untraced: String?

    public init(use: StorageUse, source: String, fileSystem: String, path: [String], disks: [String],
                layers: [BlockLayer] = [], untraced: String? = nil) {
        self.use = use
        self.source = source
        self.fileSystem = fileSystem
        self.path = path
        self.disks = disks
        self.layers = layers
        self.untraced = untraced
    }

    /// The layer of `name`, if it is in the chain.
    public func layer(_ name: String) -> BlockLayer? { layers.first { $0.name == name } }
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
