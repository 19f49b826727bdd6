/// The mount of / declares that it needs the network and iscsid: `_netdev` and
/// `x-systemd.requires=iscsid.service`, in /etc/fstab or in an admin's `-.mount` unit.
/// A shared image's root (`SharedImage`) looks different: an overlay the initramfs built needs no line
/// for `/`, and a line for `/` must not have fsck check a LUN other clients read.
struct FstabCheck {
    let system: FileTree
    let units: UnitLookup
    /// Set when / is one image for many clients.
    var shared: SharedImage? = nil

    static let fstabLine = "UUID=…  /  ext4  defaults,_netdev,x-systemd.requires=iscsid.service  0  1"

    var item: AuditItem {
        let title = "mount of / needs the network and iscsid"
        if case .success(let text) = system.read("etc/fstab"),
           let entry = FstabEntry.parse(text).last(where: { $0.mountPoint == "/" }) {
            var missing: [String] = []
            if !entry.options.contains("_netdev") { missing.append("_netdev") }
            let requiresISCSID = entry.options.contains { option in
                option == "x-systemd.requires=iscsid.service" || option == "x-systemd.requires=iscsid"
            }
            if !requiresISCSID { missing.append("x-systemd.requires=iscsid.service") }
            if let shared, entry.passNumber != 0 {
                return AuditItem(id: "fstab", title: title, verdict: .warn,
                                 detail: "/etc/fstab has fsck check / (sixth field \(entry.passNumber)), and / is \(shared.description): "
                                     + "a check of a LUN other clients read at the same time",
                                 fix: shared.inImage("set the sixth field of / in /etc/fstab to 0"))
            }
            if missing.isEmpty {
                return AuditItem(id: "fstab", title: title, verdict: .ok,
                                 detail: "/etc/fstab mounts / with _netdev,x-systemd.requires=iscsid.service")
            }
            return AuditItem(
                id: "fstab", title: title, verdict: .fail,
                detail: "/etc/fstab mounts / without \(missing.joined(separator: " and ")): systemd may stop iscsid or the network before / is read-only",
                fix: "add \(missing.joined(separator: ",")) to the options of / in /etc/fstab, e.g.\n  \(Self.fstabLine)")
        }
        let mount = units.load("-.mount")
        if mount.fragment != nil || !mount.dropIns.isEmpty {
            let options = (mount.last("Mount", "Options") ?? "").split(separator: ",")
            let requires = mount.listEntries("Unit", "Requires").map(\.word)
            var missing: [String] = []
            if !options.contains("_netdev") { missing.append("Options=…,_netdev") }
            if !requires.contains("iscsid.service") { missing.append("Requires=iscsid.service") }
            let paths = mount.files.map(\.path).joined(separator: ", ")
            if missing.isEmpty {
                return AuditItem(id: "fstab", title: title, verdict: .ok,
                                 detail: "-.mount (\(paths)) has _netdev and Requires=iscsid.service")
            }
            return AuditItem(id: "fstab", title: title, verdict: .fail,
                             detail: "-.mount (\(paths)) lacks \(missing.joined(separator: " and "))",
                             fix: "add \(missing.joined(separator: " and ")) to -.mount (Requires= in [Unit], After=iscsid.service too), or mount / from /etc/fstab:\n  \(Self.fstabLine)")
        }
        if let shared, shared.isOverlay {
            return AuditItem(id: "fstab", title: title, verdict: .ok,
                             detail: "/ is \(shared.description), built by the initramfs: systemd neither mounts nor checks it and writes "
                                 + "nothing to the LUN at shutdown, so /etc/fstab needs no line for / (one whose sixth field is not 0 "
                                 + "would have fsck check a LUN other clients read)")
        }
        return AuditItem(id: "fstab", title: title, verdict: .fail,
                         detail: "neither /etc/fstab nor a -.mount unit describes /: systemd does not know that / needs the network and iscsid",
                         fix: "add to /etc/fstab:\n  \(Self.fstabLine)")
    }
}
