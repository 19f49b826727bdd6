import Foundation
import ISCSIRootCore

/// How much of a captured directory to lay out.
public enum FixtureDetail: Sendable {
    /// Every captured attribute, the captured device-tree directories and `device` links.
    case complete
    /// Only what iscsi-rootd reads (states, timeouts, identity, scheduler, dev, inflight, stat): for
    /// trees with thousands of LUNs.
    case essential
}

/// A sysfs tree (`<dir>/sys`) and a system root (`<dir>/root` with `proc/self/mountinfo`, `proc/swaps`,
/// `etc/`) in a directory, laid out from the real captures in `Fixtures/captures`: the kernel's devpath
/// shapes, relative class links, captured attribute values and modes. Numbers (session, host, LUN,
/// minor, counters) are substituted; formats are never invented.
///
/// A tree made with `init()` lives in a fresh temporary directory that is removed on `deinit` (or by
/// `remove()`); `init(creatingAt:)` and `init(existingAt:)` keep theirs (for the simulator).
public final class FixtureTree {
    /// The directory holding `sys/` and `root/`.
    public let directory: String
    /// `<directory>/sys`.
    public let sysfs: FileTree
    /// `<directory>/root`.
    public let system: FileTree
    private let removesOnDeinit: Bool

    var nextDiskIndex = 0
    var nextCDROMIndex = 0
    var nextGenericIndex = 0
    var nextMapperIndex = 0
    var nextHost = 0
    var targetsOnHost: [Int: Int] = [:]
    var mounts: [(point: String, majorMinor: String, fileSystem: String, source: String, superOptions: String)] = []
    var nextLoopIndex = 0
    var nextAnonymousMinor = 40
    var swaps: [(path: String, kind: String, kibibytes: UInt64)] = []
    private var removed = false
    /// The attributes `makeUnreadable(_:.readOnly)` bind-mounted (as root), unmounted before removal.
    var readOnlyMounts: Set<String> = []
    var adopted = false

    /// A new, empty tree in a fresh temporary directory (under `TemporaryDirectory.base`), removed on deinit.
    public convenience init() throws {
        let temporary = TemporaryDirectory.base
        var template = Array((temporary + "/iscsi-rootd-fixture-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError.errno("mkdtemp", temporary) }
        try self.init(directory: String(cString: made), removesOnDeinit: true)
        try layOutSkeleton()
    }

    /// A new, empty tree at `directory` (created; must not hold a tree yet). Kept on deinit.
    public convenience init(creatingAt directory: String) throws {
        try Files.makeDirectories(directory)
        guard !Files.lstatExists(directory + "/sys") else {
            throw FixtureError(message: "\(directory)/sys already exists")
        }
        try self.init(directory: directory, removesOnDeinit: false)
        try layOutSkeleton()
    }

    /// A tree made earlier at `directory` (by `init(creatingAt:)`), to change in place: phases,
    /// attributes, devices. Kept on deinit. Its mounts and swaps were fixed when it was made.
    public convenience init(existingAt directory: String) throws {
        guard Files.isDirectory(directory + "/sys/class") else {
            throw FixtureError(message: "\(directory) holds no fixture tree (no sys/class)")
        }
        try self.init(directory: directory, removesOnDeinit: false)
        adopted = true
        adoptCounters()
    }

    private init(directory: String, removesOnDeinit: Bool) throws {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
        self.sysfs = FileTree(root: trimmed + "/sys")
        self.system = FileTree(root: trimmed + "/root")
        self.removesOnDeinit = removesOnDeinit
    }

    deinit {
        if removesOnDeinit { remove() }
    }

    /// Deletes the whole directory now.
    public func remove() {
        guard !removed else { return }
        removed = true
        for mount in readOnlyMounts { unmountReadOnly(mount) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A scanner over this tree.
    public var scanner: TopologyScanner { TopologyScanner(sysfs: sysfs, system: system) }
}
