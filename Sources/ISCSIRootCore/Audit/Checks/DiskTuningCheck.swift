/// Every iSCSI disk has the SCSI command timeout and I/O scheduler of the `[Disk]` settings.
struct DiskTuningCheck {
    let topology: Topology
    let expectedTimeout: Int
    let expectedScheduler: String

    var item: AuditItem {
        let title = "iSCSI disks tuned"
        // Multipath paths are left to multipathd and udev (see DiskPolicy.applies).
        let disks = topology.iscsiDevices.filter { $0.disk != nil && !$0.isMultipathPath }
        guard !disks.isEmpty || topology.iscsiDevices.isEmpty else {
            return AuditItem(id: "disks", title: title, verdict: .ok,
                             detail: "every iSCSI disk is a multipath path: their timeout and scheduler are left to multipathd and udev")
        }
        var findings: [CheckFinding] = []
        for device in disks {
            let name = device.displayName
            switch device.timeout {
            case .value(let timeout) where timeout == expectedTimeout:
                break
            case .value(let timeout):
                findings.append(CheckFinding(.warn, "\(name) device/timeout is \(timeout) s, not \(expectedTimeout)",
                                        fix: "iscsi-rootd apply (or echo \(expectedTimeout) > /sys/block/\(name)/device/timeout)"))
            case .unknown(let reason):
                findings.append(CheckFinding(.unknown, "\(name) device/timeout: \(reason)"))
            }
            switch device.disk?.scheduler {
            case .value(let scheduler) where scheduler.selected == expectedScheduler:
                break
            case .value(let scheduler) where !scheduler.available.contains(expectedScheduler):
                findings.append(CheckFinding(.warn, "\(name) offers no scheduler \(expectedScheduler) (only \(scheduler.available.joined(separator: " ")))"))
            case .value(let scheduler):
                findings.append(CheckFinding(.warn, "\(name) scheduler is \(scheduler), not \(expectedScheduler)",
                                        fix: "iscsi-rootd apply (or echo \(expectedScheduler) > /sys/block/\(name)/queue/scheduler)"))
            case .unknown(let reason):
                findings.append(CheckFinding(.unknown, "\(name) queue/scheduler: \(reason)"))
            case nil:
                break
            }
        }
        let names = disks.map(\.displayName).joined(separator: ", ")
        return AuditItem(id: "disks", title: title, findings: findings,
                         okDetail: "\(names): timeout \(expectedTimeout) s, scheduler \(expectedScheduler)")
    }
}
