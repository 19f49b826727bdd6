/// The root session as the kernel runs it now agrees with the record: recovery_tmo of at least a day
/// (or off) and NOPs off.
struct LiveSessionCheck {
    let session: ISCSISession

    var item: AuditItem {
        let title = "live root session settings"
        var findings: [CheckFinding] = []
        let sysfs = "/sys/class/iscsi_session/\(session.name)/recovery_tmo"
        switch session.recoveryTimeout {
        case .value(.off):
            break
        case .value(.seconds(let seconds)) where seconds >= Configuration.recommendedRecoveryTimeout:
            break
        case .value(.seconds(let seconds)):
            findings.append(CheckFinding(.fail, "\(session.name) recovery_tmo is \(seconds) s: an outage longer than that fails I/O on / and kills the root file system",
                                    fix: "echo \(Configuration.recommendedRecoveryTimeout) > \(sysfs) (iscsi-rootd run does this with [Session] RecoveryTimeout=)"))
        case .unknown(let reason):
            findings.append(CheckFinding(.unknown, "\(session.name) recovery_tmo: \(reason)"))
        }
        for connection in session.connections where connection.nopsEnabled {
            findings.append(CheckFinding(.warn, "\(connection.name) has NOPs on (ping_tmo \(connection.pingTimeout.value ?? 0), recv_tmo \(connection.receiveTimeout.value ?? 0)): a busy link can be declared dead; they change only at the next login",
                                    fix: "set node.conn[0].timeo.noop_out_interval and noop_out_timeout to 0 in the node record; they apply at the next login"))
        }
        let recovery = session.recoveryTimeout.value.map { "\($0)" } ?? "?"
        return AuditItem(id: "live-session", title: title, findings: findings,
                         okDetail: "\(session.name): recovery_tmo \(recovery), NOPs off")
    }
}
