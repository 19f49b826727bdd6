/// Judges a topology against the configuration: session, host and device states, tuning, and
/// the iSCSI-root recommendation (NOPs off, recovery_tmo ≥ 86400 or off) on sessions that carry
/// `/`, `/usr` or swap. Root findings come first.
public struct HealthCheck: Sendable {
    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func findings(_ topology: Topology) -> [Finding] {
        if let reason = topology.unreadable { return [Finding(.unknown, "sysfs", reason)] }
        var findings: [Finding] = []
        for chain in topology.chains where chain.use.isCritical {
            if let reason = chain.untraced {
                // A stacked mount can rest on iSCSI through one layer while another cannot be traced.
                let message = topology.sessions(of: chain).isEmpty ? "cannot tell whether it is on iSCSI: \(reason)"
                    : "rests on iSCSI, but a layer cannot be traced (its sessions are not known): \(reason)"
                findings.append(Finding(.unknown, chain.use.description, message, concernsRoot: true))
            }
        }
        for session in topology.sessions {
            findings += sessionFindings(session, topology: topology)
        }
        for device in topology.iscsiDevices {
            findings += deviceFindings(device, topology: topology)
        }
        for map in MapHealth.all(topology) {
            findings += mapFindings(map)
        }
        return Finding.rootFirst(findings)
    }

    /// The worst severity among findings; OK when there are none.
    public static func overall(_ findings: [Finding]) -> Severity {
        findings.map(\.severity).max() ?? .ok
    }

    func sessionFindings(_ session: ISCSISession, topology: Topology) -> [Finding] {
        let uses = topology.criticalUses(ofSession: session.number)
        let carries = uses.carriesNote
        let isRoot = !uses.isEmpty
        var findings: [Finding] = []
        func add(_ severity: Severity, _ message: String) {
            findings.append(Finding(severity, session.name, message, concernsRoot: isRoot))
        }
        if topology.isPathSession(session.number) {
            // A path's state is judged with its map (degraded or no path left); the recipe is multipath's.
            if isRoot { findings += pathSessionRecipe(session, carries: carries) }
            return findings
        }
        switch session.state {
        case .unknown(let reason):
            add(isRoot ? .critical : .warning, "state unreadable (\(reason))\(carries)")
        case .value(.loggedIn):
            break
        case .value(.failed):
            let timeout = session.recoveryTimeout.value.map { "recovery_tmo \($0) s" } ?? "recovery_tmo unknown"
            add(.critical, "FAILED: connection lost, I/O waits for recovery (\(timeout))\(carries)")
        case .value(.free):
            add(.critical, "FREE: recovery timed out, I/O to its disks fails\(carries)")
        case .value(let other):
            add(.critical, "state \(other), not LOGGED_IN\(carries)")
        }
        if let number = session.hostNumber, let host = topology.host(number), case .value(.recovery(let state)) = host.state {
            add(.critical, "host\(number) is in SCSI error recovery (\(state))\(carries)")
        }
        if isRoot {
            let recipe = SessionRecipe.direct
            if session.nopsEnabled != recipe.wantsNops {
                add(.warning, "NOPs are on (\(SessionRecipe.nopTimers(session)))\(carries): a busy link can be declared dead; \(recipe.nopSetting)")
            }
            if let timeout = session.recoveryTimeout.value, !recipe.isMet(byRecoveryTimeout: timeout) {
                add(.warning, "recovery_tmo \(timeout) s is below \(Configuration.recommendedRecoveryTimeout)\(carries): "
                    + "an outage longer than that fails I/O to the root; set \(NodeRecord.replacementTimeout) = \(Configuration.recommendedRecoveryTimeout)")
            }
        }
        return findings
    }

    func deviceFindings(_ device: SCSIDevice, topology: Topology) -> [Finding] {
        let uses = device.disk.map { topology.uses(ofDisk: $0.name) } ?? []
        let isRoot = uses.contains(where: \.isCritical)
        let carries = uses.carriesNote
        var findings: [Finding] = []
        func add(_ severity: Severity, _ message: String) {
            findings.append(Finding(severity, device.displayName, message, concernsRoot: isRoot))
        }
        // A path's state is judged with its map, and so is that of a LUN without a block device on a path
        // session (tgtd's controller LUN 0): it follows the session, whose state the map already counts.
        if device.isMultipathPath { return findings }
        if device.disk == nil, let session = device.sessionNumber, topology.isPathSession(session) { return findings }
        if case .unknown(let reason) = device.type {
            // Not tuned, since the policy goes by type: say so instead of leaving the disk out.
            add(.warning, "SCSI type unreadable (\(reason))\(carries): cannot tell whether to tune it; not tuned")
        }
        switch device.state {
        case .value(.running): break
        case .value(.blocked): add(.critical, "blocked: I/O is queued while the session recovers\(carries)")
        case .value(.transportOffline): add(.critical, "transport-offline: the session gave up, I/O fails\(carries)")
        case .value(.offline): add(.critical, "offline: the SCSI error handler gave up, I/O fails\(carries)")
        case .value(let other): add(.warning, "state \(other)\(carries)")
        case .unknown(let reason): add(.warning, "state unreadable (\(reason))\(carries)")
        }
        let policy = configuration.disk
        if policy.applies(to: device), !policy.isTuned(device) {
            var parts: [String] = []
            if device.timeout.value != policy.timeout {
                parts.append("timeout \(device.timeout.value.map { "\($0) s" } ?? "unknown") (want \(policy.timeout) s)")
            }
            if let disk = device.disk, disk.scheduler.value?.selected != policy.scheduler {
                parts.append("scheduler \(disk.scheduler.value?.selected ?? "unknown") (want \(policy.scheduler))")
            }
            add(.warning, "not tuned: \(parts.joined(separator: ", ")); run 'iscsi-rootd apply'")
        }
        return findings
    }

    /// The multipath recipe for a path session under `/`, `/usr` or swap (open-iscsi README, "iSCSI
    /// settings for dm-multipath"): NOPs on, so a dead path is noticed, and a short replacement
    /// timeout, so its I/O fails over instead of waiting in the session.
    func pathSessionRecipe(_ session: ISCSISession, carries: String) -> [Finding] {
        var findings: [Finding] = []
        let recipe = SessionRecipe.multipathPath
        if session.nopsEnabled != recipe.wantsNops {
            findings.append(Finding(.warning, session.name, "multipath path with NOPs off\(carries): a dead path is noticed only when a command times out; "
                + recipe.nopSetting, concernsRoot: true))
        }
        if let timeout = session.recoveryTimeout.value, !recipe.isMet(byRecoveryTimeout: timeout) {
            findings.append(Finding(.warning, session.name, "multipath path with recovery_tmo \(timeout == .off ? "off" : "\(timeout) s")\(carries): I/O on a dead path waits that long instead of failing over; "
                + "set \(NodeRecord.replacementTimeout) = \(Configuration.multipathRecoveryTimeout) (multipathd's fast_io_fail_tmo sets the live value)",
                concernsRoot: true))
        }
        return findings
    }

    /// Degraded, no path left, and a map under `/` that does not queue.
    func mapFindings(_ health: MapHealth) -> [Finding] {
        var findings: [Finding] = []
        func add(_ severity: Severity, _ message: String) {
            findings.append(Finding(severity, health.map.name, message, concernsRoot: health.isRoot))
        }
        if health.paths.isEmpty {
            add(.critical, "no paths: the map has no path devices")
        } else if health.hasNoPath {
            add(.critical, "\(health.noPathMessage): \(health.pathList)")
        } else if health.isDegraded {
            add(.warning, "\(health.degradedMessage): \(health.pathList)")
        }
        if health.isRoot, health.map.queueing.queues == false {
            add(.warning, "does not queue when no path is left (\(health.map.queueing.detail)): losing every path fails I/O on \(health.carries.listed); "
                + "set no_path_retry queue for it in /etc/multipath.conf")
        }
        return findings
    }
}
