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
