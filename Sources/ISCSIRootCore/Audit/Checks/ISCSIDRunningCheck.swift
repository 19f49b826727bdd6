/// iscsid runs now: without it nobody reconnects the root session after a connection error.
struct ISCSIDRunningCheck {
    let processes: [ProcessInfo]
    let units: UnitLookup

    var item: AuditItem {
        let title = "iscsid is running"
        if let process = processes.first {
            let argv0 = process.arguments.first ?? "iscsid"
            return AuditItem(id: "iscsid-running", title: title, verdict: .ok,
                             detail: "iscsid runs as pid \(process.pid) (argv[0] \(argv0))")
        }
        let fix = units.load("iscsid.service").isMasked
            ? "systemctl unmask iscsid.service && systemctl enable --now iscsid.service"
            : "systemctl enable --now iscsid.service"
        return AuditItem(id: "iscsid-running", title: title, verdict: .fail,
                         detail: "no iscsid process: after a connection error nobody logs the root session in again, and I/O on / fails when recovery_tmo runs out",
                         fix: fix)
    }
}
