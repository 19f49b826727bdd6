/// iscsid will outlive the root at shutdown: not stopped by the shutdown transaction (no
/// `Conflicts=shutdown.target`, for the service and its socket), and spared by the final kill
/// (`SurviveFinalKillSignal=yes` on systemd ≥ 255, or argv[0] starting with '@').
struct ISCSIDShutdownCheck {
    let processes: [ProcessInfo]
    let units: UnitLookup
    let layout: InstallLayout

    static let survivalVersion = 255

    var item: AuditItem {
        let title = "iscsid survives shutdown until / is read-only"
        if let process = processes.first(where: \.isRootStorageDaemon) {
            return AuditItem(id: "iscsid-shutdown", title: title, verdict: .ok,
                             detail: "iscsid (pid \(process.pid)) runs as \(process.arguments[0]): systemd leaves a root storage daemon alone at shutdown")
        }
        let service = units.load("iscsid.service")
        guard service.fragment != nil else {
            return AuditItem(id: "iscsid-shutdown", title: title, verdict: .fail,
                             detail: "iscsid.service is not installed",
                             fix: "install open-iscsi, then systemctl enable iscsid.service")
        }
        var findings = stopFindings(service, severity: .fail, fix: "copy the unit to /etc/systemd/system/iscsid.service without Conflicts=shutdown.target and Before=shutdown.target (see \(layout.example("iscsid.service"))), then systemctl daemon-reload")
        let socket = units.load("iscsid.socket")
        if socket.fragment != nil {
            findings += stopFindings(socket, severity: .warn, fix: "install iscsi-rootd's \(layout.unitDirectory)/iscsid.socket.d/iscsi-rootd.conf (DefaultDependencies=no), then systemctl daemon-reload")
        }
        findings += finalKillFindings(service)
        let survives = systemdBoolean(service.last("Unit", "SurviveFinalKillSignal")) == true
        return AuditItem(id: "iscsid-shutdown", title: title, findings: findings,
                         okDetail: "iscsid.service is not stopped by the shutdown transaction\(survives ? " and has SurviveFinalKillSignal=yes" : "")")
    }

    /// Why the shutdown transaction stops the unit, if it does: `.fail` for the service (iscsid is
    /// gone), `.warn` for its socket (iscsid runs on, but cannot be activated again).
    func stopFindings(_ unit: LoadedUnit, severity: AuditVerdict, fix: String) -> [CheckFinding] {
        if let conflict = unit.listEntries("Unit", "Conflicts").first(where: { $0.word == "shutdown.target" }) {
            return [CheckFinding(severity, "\(unit.name) has Conflicts=shutdown.target (\(conflict.path)): it is stopped when shutdown begins, and a drop-in cannot remove that",
                            fix: fix)]
        }
        if systemdBoolean(unit.last("Unit", "DefaultDependencies")) != false {
            return [CheckFinding(severity, "\(unit.name) keeps its default dependencies, which include Conflicts=shutdown.target: it is stopped when shutdown begins",
                            fix: "install iscsi-rootd's drop-in \(layout.unitDirectory)/\(unit.name).d/iscsi-rootd.conf (DefaultDependencies=no), then systemctl daemon-reload")]
        }
        return []
    }

    /// Whether the final SIGTERM/SIGKILL of systemd-shutdown spares iscsid.
    func finalKillFindings(_ service: LoadedUnit) -> [CheckFinding] {
        let version = units.systemdVersion()
        guard systemdBoolean(service.last("Unit", "SurviveFinalKillSignal")) == true else {
            return [CheckFinding(.warn, "iscsid is killed by systemd-shutdown's final SIGTERM/SIGKILL, before / is remounted read-only",
                            fix: (version ?? Self.survivalVersion) >= Self.survivalVersion
                                ? "install iscsi-rootd's drop-in \(layout.unitDirectory)/iscsid.service.d/iscsi-rootd.conf (SurviveFinalKillSignal=yes), then systemctl daemon-reload"
                                : "systemd \(version ?? 0) has no SurviveFinalKillSignal=: start iscsid from the initramfs with argv[0] \"@iscsid\" (systemd's root storage daemon rule) and keep the root session's NOPs off")]
        }
        if let version, version < Self.survivalVersion {
            return [CheckFinding(.warn, "SurviveFinalKillSignal=yes is set, but systemd \(version) ignores it (it needs \(Self.survivalVersion)): iscsid is killed before / is remounted read-only",
                            fix: "start iscsid from the initramfs with argv[0] \"@iscsid\" (systemd's root storage daemon rule), or upgrade systemd to \(Self.survivalVersion) or later")]
        }
        return []
    }
}
