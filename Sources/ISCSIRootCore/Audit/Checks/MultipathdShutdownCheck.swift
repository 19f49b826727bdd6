/// multipathd outlives the root at shutdown, as iscsid must: not stopped by the shutdown transaction,
/// spared by the final kill, and not turning queueing off on its way out (it does when
/// `queue_without_daemon` is `no`, the default: libmultipath's cleanup_maps()).
struct MultipathdShutdownCheck {
    let processes: [ProcessInfo]
    let units: UnitLookup
    let conf: MultipathConf

    static let survivalVersion = ISCSIDShutdownCheck.survivalVersion

    var item: AuditItem {
        let title = "multipathd survives shutdown until / is read-only"
        let service = units.load("multipathd.service")
        guard service.fragment != nil else {
            return AuditItem(id: "multipathd-shutdown", title: title, verdict: .fail,
                             detail: "multipathd.service is not installed", fix: "install multipath-tools, then systemctl enable multipathd.service")
        }
        var findings: [CheckFinding] = []
        let copy = "cp \(service.fragment?.path ?? "/lib/systemd/system/multipathd.service") /etc/systemd/system/multipathd.service, delete its Conflicts=shutdown.target line, add SurviveFinalKillSignal=yes under [Unit], then systemctl daemon-reload"
        let survivesKill = processes.contains(where: \.isRootStorageDaemon)
        if !survivesKill {
            if let conflict = service.listEntries("Unit", "Conflicts").first(where: { $0.word == "shutdown.target" }) {
                findings.append(CheckFinding(.fail, "multipathd.service has Conflicts=shutdown.target (\(conflict.path)): it is stopped when shutdown begins, while / still needs its paths; a drop-in cannot remove that",
                                        fix: copy))
            } else if systemdBoolean(service.last("Unit", "DefaultDependencies")) != false {
                findings.append(CheckFinding(.fail, "multipathd.service keeps its default dependencies, which include Conflicts=shutdown.target: it is stopped when shutdown begins",
                                        fix: "add DefaultDependencies=no under [Unit] in /etc/systemd/system/multipathd.service.d/root.conf, then systemctl daemon-reload"))
            }
            if systemdBoolean(service.last("Unit", "SurviveFinalKillSignal")) != true {
                let version = units.systemdVersion()
                findings.append(CheckFinding(.warn, "multipathd is killed by systemd-shutdown's final SIGTERM/SIGKILL, before / is remounted read-only",
                                        fix: (version ?? Self.survivalVersion) >= Self.survivalVersion
                                            ? "add SurviveFinalKillSignal=yes under [Unit] in /etc/systemd/system/multipathd.service.d/root.conf, then systemctl daemon-reload"
                                            : "systemd \(version ?? 0) has no SurviveFinalKillSignal=: start multipathd from the initramfs with argv[0] \"@multipathd\" (systemd's root storage daemon rule)"))
            }
        }
        let queueWithoutDaemon = conf.defaultsValue("queue_without_daemon")
        if queueWithoutDaemon?.value != "yes" {
            findings.append(CheckFinding(.warn, "queue_without_daemon is \(queueWithoutDaemon.map { "\($0.value) (\($0.location))" } ?? "no (the default)"): when multipathd stops it turns queueing off on every map, and a path lost after that fails I/O on /",
                                    fix: "set queue_without_daemon yes in the defaults section of /etc/multipath.conf, then multipathd reconfigure"))
        }
        let queueing = units.load("multipathd-queueing.service")
        if queueing.fragment != nil, !queueing.isMasked {
            findings.append(CheckFinding(.warn, "multipathd-queueing.service runs 'multipathd disablequeueing maps' when it stops at shutdown: with every path down, I/O on / then fails instead of waiting",
                                    fix: "systemctl mask multipathd-queueing.service (a shutdown with every path down then waits for a path instead)"))
        }
        return AuditItem(id: "multipathd-shutdown", title: title, findings: findings,
                         okDetail: survivesKill
                            ? "multipathd runs as a root storage daemon (@argv[0]) and keeps queueing without the daemon"
                            : "multipathd.service is not stopped by the shutdown transaction, has SurviveFinalKillSignal=yes and queue_without_daemon yes")
    }
}
