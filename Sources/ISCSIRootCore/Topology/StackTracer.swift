/// The visible mount on each mount point (the last line of mountinfo for a point wins), and the mount
/// holding a path.
struct MountIndex {
    let visible: [String: MountEntry]

    init(_ mounts: [MountEntry]) {
        var visible: [String: MountEntry] = [:]
        for mount in mounts { visible[mount.mountPoint] = mount }
        self.visible = visible
    }

    /// The mount holding absolute path `path` (normalized): the visible mount on its longest mount
    /// point prefix. By name only: nothing is looked up on a file system, since the file system
    /// may be the frozen root, and the scan must never wait on it.
    func holder(of path: String) -> MountEntry? {
        var candidate = path
        while true {
            if let entry = visible[candidate] { return entry }
            if candidate == "/" { return nil }
            let parent = TopologyScanner.parent(candidate)
            candidate = parent.isEmpty ? "/" : parent
        }
    }
}

/// Follows one mount or swap area down to its disks through every stacked layer: an overlayfs
/// mount's layers (each to the mount holding it), a loop device's backing file (to the mount holding
/// it), device-mapper, md and partitions, at any depth up to `maximumDepth` stacked layers, and at
/// most `maximumLayers` stacked layers in all. What cannot be followed is recorded as untraced, with
/// the reason, never dropped.
final class StackTracer {
    /// Stacked file systems deeper than this (an overlay on a loop device on an overlay …) are not
    /// followed: no real layout comes near it, and a cycle the checks below miss stops here.
    static let maximumDepth = 8
    /// overlayfs allows 500 lower layers (OVL_MAX_STACK); a chain's layers all together stop here.
    static let maximumLayers = 1024
    static let overlayType = "overlay"

    let scanner: TopologyScanner
    let mounts: MountIndex
    private var path: [String] = []
    private var disks: [String] = []
    private var layers: [BlockLayer] = []
    private var stack: [StackedLayer] = []
    private var untraced: String?
    /// Mount points traced already in this chain, with their top block device.
    private var traced: [String: (block: String?, untraced: String?)] = [:]
    /// The mounts being traced now (a layer on one of them is a cycle: an overlay's directory on the
    /// overlay itself, a loop device's file on the file system it backs).
    private var active: [String] = []

    init(scanner: TopologyScanner, mounts: MountIndex) {
        self.scanner = scanner
        self.mounts = mounts
    }

    func chain(use: StorageUse, source: String, fileSystem: String, overlay: String?, readOnly: Bool = false) -> StorageChain {
        StorageChain(use: use, source: source, fileSystem: fileSystem, path: path, disks: disks, layers: layers,
                     stack: stack, overlay: overlay, readOnly: readOnly, untraced: untraced)
    }

    private func note(_ reason: String) {
        if untraced == nil { untraced = reason }
    }

    /// Traces a mount; returns its block device (nil for an overlay, tmpfs, NFS) and why it could
    /// not be traced (nil when it was).
    func trace(mount: MountEntry, depth: Int) -> (block: String?, untraced: String?) {
        if let known = traced[mount.mountPoint] { return known }
        active.append(mount.mountPoint)
        defer { active.removeLast() }
        let result: (block: String?, untraced: String?)
        if mount.fileSystem == Self.overlayType {
            result = (nil, traceOverlay(mount, depth: depth))
        } else {
            let block = scanner.block(of: mount)
            if let reason = block.untraced { note(reason) }
            if let name = block.name { traceBlocks(from: name, depth: depth) }
            result = (block.name, block.untraced)
        }
        traced[mount.mountPoint] = result
        return result
    }

    /// Adds an overlay's layers; returns why it has none that can be traced, or nil.
    private func traceOverlay(_ mount: MountEntry, depth: Int) -> String? {
        let owner = StackedLayer.Owner.overlay(mount.mountPoint)
        guard let overlay = OverlayLayers(superOptions: mount.superOptions) else {
            let reason = "the overlay on \(mount.mountPoint) names no lower layer in mountinfo ('\(mount.superOptions)')"
            note(reason)
            return reason
        }
        var layers: [(StackedLayer.Role, String)] = overlay.lower.map { (.lower, $0) } + overlay.data.map { (.data, $0) }
        if let upper = overlay.upper { layers.append((.upper, upper)) }
        var firstReason: String?
        for (role, path) in layers {
            let layer = self.layer(owner: owner, role: role, path: path, depth: depth + 1)
            if firstReason == nil { firstReason = layer.untraced }
        }
        return firstReason
    }

    /// Adds one stacked layer (an overlay's directory, a loop device's file) traced to its holder.
    @discardableResult
    private func layer(owner: StackedLayer.Owner, role: StackedLayer.Role, path: String, depth: Int) -> StackedLayer {
        func untracedLayer(_ reason: String) -> StackedLayer {
            note("\(role.rawValue) \(path) of \(owner): \(reason)")
            let layer = StackedLayer(owner: owner, role: role, path: path, holder: nil, block: nil, untraced: reason)
            stack.append(layer)
            return layer
        }
        guard stack.count < Self.maximumLayers else {
            return untracedLayer("more than \(Self.maximumLayers) stacked layers: not followed")
        }
        guard depth <= Self.maximumDepth else {
            return untracedLayer("stacked more than \(Self.maximumDepth) file systems deep: not followed")
        }
        guard let normalized = Self.normalize(path) else {
            return untracedLayer("not an absolute path without '..': the mount point holding it cannot be told by name")
        }
        guard let holder = mounts.holder(of: normalized) else {
            return untracedLayer("no mount in mountinfo holds it")
        }
        if active.contains(holder.mountPoint) {
            let what = holder.fileSystem == Self.overlayType ? "overlay" : "mount"
            return untracedLayer("as this mount namespace sees it, it lies on the \(what) \(holder.mountPoint) itself "
                                 + "(a name given before switch_root or in another mount namespace?)")
        }
        let traced = trace(mount: holder, depth: depth)
        let layer = StackedLayer(owner: owner, role: role, path: path,
                                 holder: .init(mountPoint: holder.mountPoint, fileSystem: holder.fileSystem, source: holder.source),
                                 block: traced.block, untraced: traced.untraced)
        stack.append(layer)
        return layer
    }

    /// Adds `block` and everything below it: partitions to their disk, device-mapper and md to their
    /// slaves, a loop device to the mount holding its backing file.
    func traceBlocks(from block: String, depth: Int) {
        let sysfs = scanner.sysfs
        var pending = [block]
        while let name = pending.popLast() {
            if path.contains(name) { continue }
            path.append(name)
            let dir = "class/block/\(name)"
            if let reason = scanner.brokenLink(dir) ?? scanner.brokenDeviceLink(ofBlock: dir) {
                note(reason)
                continue
            }
            if Self.isLoop(name, sysfs.exists("\(dir)/loop")) {
                layers.append(BlockLayer(name: name, mappedName: nil, kind: .loop, below: []))
                switch sysfs.attribute("\(dir)/loop/backing_file") {
                case .value(let file):
                    layer(owner: .loop(name), role: .file, path: Self.strippingDeleted(file), depth: depth + 1)
                case .unknown(let reason):
                    let why = "\(sysfs.path("\(dir)/loop/backing_file")): \(reason)"
                    note("\(name): \(why)")
                    stack.append(StackedLayer(owner: .loop(name), role: .file, path: "", holder: nil, block: nil, untraced: why))
                }
                continue
            }
            let mappedName = name.hasPrefix("dm-") ? sysfs.attribute("\(dir)/dm/name").value : nil
            if sysfs.exists("\(dir)/partition") {
                let below = sysfs.resolve(dir).map { [TopologyScanner.lastComponent(TopologyScanner.parent($0))] } ?? []
                layers.append(BlockLayer(name: name, mappedName: nil, kind: .partition, below: below))
                pending.append(contentsOf: below)
            } else {
                let slaves = sysfs.list("\(dir)/slaves").sorted()
                let kind: BlockLayerKind
                if name.hasPrefix("dm-") {
                    kind = scanner.deviceMapperKind(name) ?? .deviceMapper
                } else if sysfs.exists("\(dir)/md") {
                    kind = .raid
                } else {
                    kind = slaves.isEmpty ? .disk : .deviceMapper
                }
                layers.append(BlockLayer(name: name, mappedName: mappedName, kind: kind, below: slaves))
                if slaves.isEmpty {
                    if !disks.contains(name) { disks.append(name) }
                } else {
                    pending.append(contentsOf: slaves.reversed())
                }
            }
        }
    }

    /// A loop device: it has `loop/` while bound (drivers/block/loop.c); an unbound `loopN` is
    /// still a loop device, never a disk.
    static func isLoop(_ name: String, _ hasLoopDirectory: Bool) -> Bool {
        hasLoopDirectory || TopologyScanner.number(after: "loop", in: name) != nil
    }

    /// d_path (which `loop/backing_file` uses) appends " (deleted)" to an unlinked file: the file
    /// is still where its name says, on the same mount.
    static func strippingDeleted(_ path: String) -> String {
        path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    /// `/run/rootfsbase` from `/run//rootfsbase/` or `/run/./rootfsbase`; nil for a relative path or
    /// one with `..` (the mount point holding it cannot be told by name).
    static func normalize(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return nil }
        var components: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { return nil }
            components.append(component)
        }
        return "/" + components.joined(separator: "/")
    }
}
