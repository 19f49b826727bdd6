/// Is / on an iSCSI disk? Everything else is checked only when it is.
struct RootOnISCSICheck {
    let topology: Topology

    /// The first iSCSI session under /, if any.
    var session: ISCSISession? {
        topology.root.flatMap { topology.sessions(of: $0).first }
    }

    var item: AuditItem {
        let title = "/ is on an iSCSI disk"
        if let unreadable = topology.unreadable {
            return AuditItem(id: "root", title: title, verdict: .unknown, detail: unreadable)
        }
        guard let root = topology.root else {
            return AuditItem(id: "root", title: title, verdict: .unknown,
                             detail: "/proc/self/mountinfo does not name a file system on /")
        }
        guard let session else {
            if let reason = root.untraced {
                return AuditItem(id: "root", title: title, verdict: .unknown,
                                 detail: "cannot tell whether / is on iSCSI: \(reason)")
            }
            let disks = root.disks.isEmpty ? root.source : root.disks.joined(separator: ", ")
            return AuditItem(id: "root", title: title, verdict: .ok,
                             detail: "/ is on \(disks), not on an iSCSI disk: the iSCSI root chain does not apply, nothing else checked")
        }
        let disks = root.disks.filter { topology.device(disk: $0)?.isISCSI ?? false }.joined(separator: ", ")
        return AuditItem(id: "root", title: title, verdict: .ok,
                         detail: "/ (\(root.fileSystem)) is on \(disks) via \(session.label)")
    }
}
