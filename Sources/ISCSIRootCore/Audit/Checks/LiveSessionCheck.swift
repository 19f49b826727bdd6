/// The root session as the kernel runs it now agrees with the record: recovery_tmo of at least a day
/// (or off) and NOPs off.
struct LiveSessionCheck {
    let session: ISCSISession

    /// A multipath path of the root: multipathd's recipe instead (NOPs on, a short recovery_tmo).
    var isPath = false

    var item: AuditItem {
        if isPath { return pathItem }
        let title = "live root session settings"
        var findings: [CheckFinding] = []
        let sysfs = "/sys/class/iscsi_session/\(session.name)/recovery_tmo"
        let recipe = SessionRecipe.direct
        switch session.recoveryTimeout {
        case .value(let timeout) where recipe.isMet(byRecoveryTimeout: timeout):
            break
        case .value(let timeout):
            findings.append(CheckFinding(.fail, "\(session.name) recovery_tmo is \(timeout) s: an outage longer than that fails I/O on / and kills the root file system",
                                    fix: "echo \(Configuration.recommendedRecoveryTimeout) > \(sysfs) (iscsi-rootd run does this with [Session] RecoveryTimeout=)"))
        case .unknown(let reason):
            findings.append(CheckFinding(.unknown, "\(session.name) recovery_tmo: \(reason)"))
        }
        for connection in session.connections where connection.nopsEnabled != recipe.wantsNops {
            findings.append(CheckFinding(.warn, "\(connection.name) has NOPs on (\(SessionRecipe.nopTimers(connection))): a busy link can be declared dead; they change only at the next login",
                                    fix: "\(recipe.nopSetting) in the node record; they apply at the next login"))
        }
        let recovery = session.recoveryTimeout.value.map { "\($0)" } ?? "?"
        return AuditItem(id: "live-session", title: title, findings: findings,
                         okDetail: "\(session.name): recovery_tmo \(recovery), NOPs off")
    }

    /// A path's live timers: recovery_tmo at most 15 s (multipathd writes fast_io_fail_tmo there) and
    /// NOPs on, so its I/O fails over instead of waiting in the session.
    var pathItem: AuditItem {
        var findings: [CheckFinding] = []
        let recipe = SessionRecipe.multipathPath
        switch session.recoveryTimeout {
        case .value(let timeout) where recipe.isMet(byRecoveryTimeout: timeout):
            break
        case .value(let timeout):
            findings.append(CheckFinding(.fail, "\(session.name) is a multipath path with recovery_tmo \(timeout): I/O on a dead path waits that long instead of failing over to another path",
                                    fix: "set fast_io_fail_tmo \(Configuration.multipathRecoveryTimeout) in the defaults section of /etc/multipath.conf and run multipathd reconfigure (multipathd writes it to recovery_tmo; iscsi-rootd never does)"))
        case .unknown(let reason):
            findings.append(CheckFinding(.unknown, "\(session.name) recovery_tmo: \(reason)"))
        }
        for connection in session.connections where connection.nopsEnabled != recipe.wantsNops {
            findings.append(CheckFinding(.warn, "\(connection.name) of multipath path \(session.name) has NOPs off: a dead path is noticed only when a command times out",
                                    fix: "\(recipe.nopSetting) in the node record; they apply at the next login"))
        }
        let recovery = session.recoveryTimeout.value.map { "\($0)" } ?? "?"
        return AuditItem(id: "live-session", title: "live multipath path settings", findings: findings,
                         okDetail: "\(session.name): recovery_tmo \(recovery), NOPs on (multipath path)")
    }
}
