extension JournalField {
    /// The journal fields that identify a session, on every entry about it or its disks:
    /// `ISCSI_SESSION`, `ISCSI_TARGET`, `ISCSI_PORTAL`, `SCSI_HOST` and `RECOVERY_TMO` as far as
    /// known, and `ROOT=1` when it carries `/`, `/usr` or swap (`carries` not empty).
    public static func identifying(_ session: ISCSISession, host: SCSIHost?, carries: [StorageUse]) -> [JournalField: String] {
        var fields: [JournalField: String] = [.session: session.name]
        if let target = session.targetName.value { fields[.target] = target }
        if let portal = session.portal { fields[.portal] = portal }
        if let host { fields[.host] = host.name }
        if let timeout = session.recoveryTimeout.value { fields[.recoveryTimeout] = String(timeout.jsonValue) }
        if !carries.isEmpty { fields[.root] = "1" }
        return fields
    }
}

extension Topology {
    /// `JournalField.identifying` with the session's host from this topology.
    public func journalFields(of session: ISCSISession, carries: [StorageUse]) -> [JournalField: String] {
        JournalField.identifying(session, host: session.hostNumber.flatMap(host), carries: carries)
    }
}
