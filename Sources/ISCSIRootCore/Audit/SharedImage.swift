/// A root that is one image for many clients: an overlay or a loop device over the LUN, or the LUN
/// mounted read-only. `check` expects different things of it: no fsck of the LUN, no fstab line for
/// an overlay the initramfs built, a client's own initiator name, and fixes made in the image itself
/// (on an overlay, this client's /etc is the upper layer: a change made here is lost at reboot).
struct SharedImage: Sendable, Hashable {
    /// `an overlay over the iSCSI disk`, `on loop0, a loop device over an image file`, `mounted read-only`.
    let description: String
    let isOverlay: Bool

    /// The root's shape, or nil for a plain read-write root.
    init?(_ root: StorageChain?) {
        guard let root else { return nil }
        if root.overlay != nil {
            self.init(description: "an overlay over the iSCSI disk", isOverlay: true)
        } else if let loop = root.layers.first(where: { $0.kind == .loop }) {
            self.init(description: "on \(loop.name), a loop device over an image file", isOverlay: false)
        } else if root.readOnly {
            self.init(description: "mounted read-only", isOverlay: false)
        } else {
            return nil
        }
    }

    private init(description: String, isOverlay: Bool) {
        self.description = description
        self.isOverlay = isOverlay
    }

    /// A fix that has to be made in the image every client boots.
    func inImage(_ fix: String) -> String {
        "\(fix), in the image every client boots (on the image's server or build)"
            + (isOverlay ? ": here / is an overlay whose upper layer is this client's tmpfs, and a change made here is lost at reboot" : "")
    }
}
