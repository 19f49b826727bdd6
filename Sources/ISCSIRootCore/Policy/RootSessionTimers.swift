/// The timers of direct sessions that carry `/`, `/usr` or swap, as the daemon keeps them: raises
/// recovery_tmo through `SessionTuner` and says so, warns once per session that NOPs are on, and
/// says once that a timeout cannot be written yet (or failed) until it works again. Multipath path
/// sessions are left alone: NOPs on is their recipe and multipathd owns their recovery_tmo.
public struct RootSessionTimers: Sendable {
    private var warnedNops: Set<Int> = []
    /// Sessions whose last write was refused or failed: said once, until a write works.
    private var refused: Set<Int> = []

    public init() {}

    /// Tunes every root session of `topology` with `tuner` and returns what to journal.
    public mutating func tune(_ topology: Topology, with tuner: SessionTuner, at now: Moment) -> [JournalEntry] {
        var entries: [JournalEntry] = []
        for session in topology.sessions where !topology.isPathSession(session.number) {
            let carries = topology.criticalUses(ofSession: session.number)
            guard !carries.isEmpty else { continue }
            var fields = topology.journalFields(of: session, carries: carries)
            let name = ISCSISession.name(session.number, root: true)
            if session.nopsEnabled != SessionRecipe.direct.wantsNops, warnedNops.insert(session.number).inserted {
                entries.append(.event(HealthEvent(.nopsOnRoot,
                    "NOPs are on for \(name) (\(SessionRecipe.nopTimers(session))): turn them off with \(SessionRecipe.direct.nopCommand(target: session.targetName.value ?? "TARGET"))",
                    fields: fields, at: now)))
            }
            switch tuner.tune(session, topology: topology) {
            case nil:
                refused.remove(session.number)
            case .changed(let from, let to)?:
                refused.remove(session.number)
                fields[.oldValue] = from.description
                fields[.newValue] = to.description
                fields[.recoveryTimeout] = String(to.jsonValue)
                entries.append(.event(HealthEvent(.recoveryTimeoutSet, "recovery_tmo of \(name) raised from \(from) to \(to)",
                                                  fields: fields, at: now)))
            case .busy(let reason)?:
                if refused.insert(session.number).inserted {
                    entries.append(.notice("recovery_tmo of \(name) not set yet: \(reason); retrying after recovery",
                                           fields: fields))
                }
            case .failed(let reason)?:
                if refused.insert(session.number).inserted {
                    fields[.errno] = reason
                    entries.append(.event(HealthEvent(.tuningFailed, "recovery_tmo of \(name): \(reason)",
                                                      fields: fields, at: now)))
                }
            }
        }
        return entries
    }

    /// After a reload: warn about NOPs again.
    public mutating func warnAgain() {
        warnedNops = []
    }
}
