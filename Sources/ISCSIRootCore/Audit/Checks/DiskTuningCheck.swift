/// Every iSCSI device the `[Disk]` policy tunes (`DiskPolicy.applies`: its types, no multipath
/// path) has the policy's SCSI command timeout and I/O scheduler.
struct DiskTuningCheck {
    let topology: Topology
    let policy: DiskPolicy
    var expectedTimeout: Int { policy.timeout }
    var expectedScheduler: String { policy.scheduler }

    var item: AuditItem {
        let title = "iSCSI disks tuned"
        let disks = topology.iscsiDevices.filter(policy.applies(to:))
        guard !disks.isEmpty || topology.iscsiDevices.isEmpty else {
            let detail = topology.iscsiDevices.contains(where: \.isMultipathPath)
                ? "every iSCSI disk is a multipath path: their timeout and scheduler are left to multipathd and udev"
                : "no iSCSI device is of a type the [Disk] policy tunes"
            return AuditItem(id: "disks", title: title, verdict: .ok, detail: detail)
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
