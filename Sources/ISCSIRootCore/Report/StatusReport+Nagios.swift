/// `status --nagios`: one line in the monitoring-plugin format (Nagios plugin guidelines, used by
/// Icinga and Naemon too): `ISCSI-ROOTD OK - <summary> | 'label'=value;warn;crit;min;max ...`.
extension StatusReport {
    public var nagiosLine: String {
        // A `|` in the text would start the performance data early.
        // A stale daemon view is why the verdict is UNKNOWN: said first.
        let stale = daemonStatus?.stale.map { $0.message + "; " } ?? ""
        let text = String((stale + summary).map { $0 == "|" ? "/" : $0 == "\n" ? " " : $0 })
        return "ISCSI-ROOTD \(overall) - \(text) | \(performanceData.joined(separator: " "))\n"
    }

    /// Counts, each with min 0 and, where one exists, its max; no thresholds (the judgement is the state).
    var performanceData: [String] {
        let devices = topology.iscsiDevices
        let tunable = devices.filter(configuration.disk.applies)
        let loggedIn = topology.sessions.filter { $0.state.value == .loggedIn }.count
        func datum(_ label: String, _ value: Int, max: Int? = nil) -> String {
            "'\(label)'=\(value);;;0" + (max.map { ";\($0)" } ?? "")
        }
        return [
            datum("sessions", topology.sessions.count),
            datum("sessions_logged_in", loggedIn, max: topology.sessions.count),
            datum("disks", devices.filter(\.isDisk).count),
            datum("disks_tuned", tunable.filter(configuration.disk.isTuned).count, max: tunable.count),
            datum("findings_warning", findings.filter { $0.severity == .warning }.count),
            datum("findings_critical", findings.filter { $0.severity == .critical }.count),
        ]
    }
}
