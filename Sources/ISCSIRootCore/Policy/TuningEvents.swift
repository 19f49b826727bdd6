extension TuningOutcome {
    /// The journal event for a disk setting the daemon wrote: `diskTuned`, `driftCorrected` when
    /// someone else had changed it (`drift`), or `tuningFailed`; nil when nothing was written.
    /// The fields name the disk and, on an iSCSI session, the session and what it carries.
    public func event(drift: Bool, topology: Topology, at now: Moment) -> HealthEvent? {
        var fields: [JournalField: String] = [.device: disk, .scsiDevice: hctl.description, .setting: setting.rawValue]
        if let session = sessionNumber.flatMap(topology.session) {
            fields.merge(topology.journalFields(of: session, carries: topology.uses(ofDisk: disk).filter(\.isCritical))) { a, _ in a }
        }
        switch result {
        case .unchanged, .wouldChange:
            return nil
        case .changed(let from, let to):
            fields[.oldValue] = from
            fields[.newValue] = to
            if drift {
                return HealthEvent(.driftCorrected, "\(disk) \(setting.rawValue) was changed to \(from) by someone else; set back to \(to)",
                                   fields: fields, at: now)
            }
            return HealthEvent(.diskTuned, "\(disk) (\(hctl)) \(setting.rawValue) \(from) -> \(to)", fields: fields, at: now)
        case .failed(let reason):
            fields[.errno] = reason
            return HealthEvent(.tuningFailed, "\(disk) (\(hctl)) \(setting.rawValue): \(reason)", fields: fields, at: now)
        }
    }
}
