/// multipathd runs now and starts at boot: without it a failed path is never reinstated, so after one
/// outage per path the root map has none left.
struct MultipathdRunningCheck {
    let processes: [ProcessInfo]
    let units: UnitLookup

    var item: AuditItem {
        let title = "multipathd is running and enabled"
        let masked = units.load("multipathd.service").isMasked
        let start = masked ? "systemctl unmask multipathd.service && systemctl enable --now multipathd.service"
            : "systemctl enable --now multipathd.service"
        guard let process = processes.first else {
            return AuditItem(id: "multipathd-running", title: title, verdict: .fail,
                             detail: "no multipathd process: a path that fails is never reinstated when it comes back, and the root map loses one path after another",
                             fix: start)
        }
        guard units.isEnabled("multipathd.service") else {
            return AuditItem(id: "multipathd-running", title: title, verdict: .warn,
                             detail: "multipathd runs as pid \(process.pid), but multipathd.service is \(masked ? "masked" : "not enabled"): after the next boot nobody reinstates failed paths",
                             fix: start)
        }
        return AuditItem(id: "multipathd-running", title: title, verdict: .ok,
                         detail: "multipathd runs as pid \(process.pid); multipathd.service is enabled")
    }
}
