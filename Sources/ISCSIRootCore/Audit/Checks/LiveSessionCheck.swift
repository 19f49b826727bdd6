/// The root session as the kernel runs it now agrees with its recipe: for a direct session
/// recovery_tmo of at least a day (or off) and NOPs off; for a multipath path of the root NOPs on
/// and a recovery_tmo of at most 15 s (multipathd writes fast_io_fail_tmo there), so its I/O fails
/// over instead of waiting in the session.
struct LiveSessionCheck {
    let session: ISCSISession
    var recipe = SessionRecipe.direct

    var item: AuditItem {
        var findings: [CheckFinding] = []
        switch session.recoveryTimeout {
        case .value(let timeout) where recipe.isMet(byRecoveryTimeout: timeout):
            break
        case .value(let timeout):
            findings.append(recoveryTimeoutFinding(timeout))
        case .unknown(let reason):
            findings.append(CheckFinding(.unknown, "\(session.name) recovery_tmo: \(reason)"))
        }
        for connection in session.connections where connection.nopsEnabled != recipe.wantsNops {
            findings.append(CheckFinding(.warn, nopProblem(connection), fix: "\(recipe.nopSetting) in the node record; they apply at the next login"))
        }
        let recovery = session.recoveryTimeout.value.map { "\($0)" } ?? "?"
        let (title, nops) = switch recipe {
        case .direct: ("live root session settings", "NOPs off")
        case .multipathPath: ("live multipath path settings", "NOPs on (multipath path)")
        }
        return AuditItem(id: "live-session", title: title, findings: findings, okDetail: "\(session.name): recovery_tmo \(recovery), \(nops)")
    }

    private func recoveryTimeoutFinding(_ timeout: RecoveryTimeout) -> CheckFinding {
        switch recipe {
        case .direct:
            CheckFinding(.fail, "\(session.name) recovery_tmo is \(timeout) s: an outage longer than that fails I/O on / and kills the root file system",
                         fix: "echo \(Configuration.recommendedRecoveryTimeout) > /sys/class/iscsi_session/\(session.name)/recovery_tmo (iscsi-rootd run does this with [Session] RecoveryTimeout=)")
        case .multipathPath:
            CheckFinding(.fail, "\(session.name) is a multipath path with recovery_tmo \(timeout): I/O on a dead path waits that long instead of failing over to another path",
                         fix: "set fast_io_fail_tmo \(Configuration.multipathRecoveryTimeout) in the defaults section of /etc/multipath.conf and run multipathd reconfigure (multipathd writes it to recovery_tmo; iscsi-rootd never does)")
        }
    }

    private func nopProblem(_ connection: ISCSIConnection) -> String {
        switch recipe {
        case .direct:
            "\(connection.name) has NOPs on (\(SessionRecipe.nopTimers(connection))): a busy link can be declared dead; they change only at the next login"
        case .multipathPath:
            "\(connection.name) of multipath path \(session.name) has NOPs off: a dead path is noticed only when a command times out"
        }
    }
}
