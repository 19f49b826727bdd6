/// A file-system layer under a stacked mount: a layer of an overlayfs mount, or the backing file of a
/// loop device. It lives on the file system of another mount (its holder), which is traced in turn:
/// `/ on overlay ← lower /run/rootfsbase on sda2 ← sda`.
public struct StackedLayer: Sendable, Hashable {
    /// What the layer belongs to.
    public enum Owner: Sendable, Hashable, CustomStringConvertible {
        /// The overlayfs mounted at this mount point.
        case overlay(String)
        /// The loop device of this name.
        case loop(String)

        public var description: String {
            switch self {
            case .overlay(let point): point
            case .loop(let name): name
            }
        }
    }

    public enum Role: String, Sendable, Hashable {
        case lower
        /// A data-only lower layer (`::` or `datadir+`).
        case data
        case upper
        /// A loop device's backing file.
        case file
    }

    /// The mount a layer's path lies on, as mountinfo names it.
    public struct Holder: Sendable, Hashable {
        public let mountPoint: String
        public let fileSystem: String
        public let source: String

        public init(mountPoint: String, fileSystem: String, source: String) {
            self.mountPoint = mountPoint
            self.fileSystem = fileSystem
            self.source = source
        }
    }

    public let owner: Owner
    public let role: Role
    /// The layer's path as the kernel names it (lowerdir entry, upperdir, `loop/backing_file`).
    public let path: String
    /// The mount holding `path`, nil when untraced.
    public let holder: Holder?
    /// The block device under the holder (its top; the rest is in the chain's layers), nil when
    /// the holder has none (tmpfs, an overlay, NFS) or it was not traced.
    public let block: String?
    /// Why the layer could not be followed to its file system, nil when traced.
    public let untraced: String?

    public init(owner: Owner, role: Role, path: String, holder: Holder?, block: String?, untraced: String? = nil) {
        self.owner = owner
        self.role = role
        self.path = path
        self.holder = holder
        self.block = block
        self.untraced = untraced
    }
}
