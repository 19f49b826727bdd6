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

/// The root map queues when no path is left, so a full outage waits instead of failing I/O on `/`;
/// and multipath.conf says so in lines multipathd reads the same way.
struct MultipathQueueCheck {
    let map: MultipathMap
    let carries: [StorageUse]
    let conf: MultipathConf

    var item: AuditItem {
        let title = "the root map queues with no path left"
        let what = carries.listed
        let fix = """
            add to /etc/multipath.conf, then multipathd reconfigure:
              multipaths {
                multipath {
                  wwid \(map.wwid)
                  no_path_retry queue
                }
              }
            """
        var findings: [CheckFinding] = []
        switch map.queueing.queues {
        case true?:
            break
        case false?:
            findings.append(CheckFinding(.fail, "\(map.name) (\(what)) does not queue: \(map.queueing.detail); losing every path fails I/O on \(what)",
                                    fix: fix))
        case nil:
            findings.append(CheckFinding(.warn, "\(map.name) (\(what)): \(map.queueing.detail)", fix: fix))
        }
        let problems = conf.problems + conf.unreadable
        if !problems.isEmpty {
            findings.append(CheckFinding(.warn, "multipath.conf not understood here: \(problems.joined(separator: "; "))",
                                    fix: "correct those lines; 'multipath -t' prints the configuration multipathd uses"))
        }
        return AuditItem(id: "multipath-queue", title: title, findings: findings,
                         okDetail: "\(map.name) (\(what)) queues: \(map.queueing.detail)")
    }
}
