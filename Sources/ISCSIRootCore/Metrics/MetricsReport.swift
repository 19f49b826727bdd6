/// iscsi-rootd's metrics in the Prometheus text format: what sysfs says now, merged with the daemon's
/// state (episodes and their durations, stalls, damage, counters). The daemon writes it for
/// node_exporter's textfile collector (`[Metrics] TextfileDirectory=`); `status --prometheus` prints
/// the same from the state file. Series exist per session and per iSCSI disk, never per event.
public struct MetricsReport: Sendable {
    public let topology: Topology
    public let configuration: Configuration
    /// The daemon's state; nil when there is none (then only sysfs metrics and `daemon_up 0`).
    public let daemon: DaemonStatus?
    /// The firmware's boot record (iBFT), when the firmware left one.
    public let firmware: FirmwareBoot?

    /// The states `iscsi_rootd_session_state` has a series for; anything else is `unknown`.
    static let sessionStates = ["LOGGED_IN", "FAILED", "FREE", "unknown"]

    public init(topology: Topology, configuration: Configuration, daemon: DaemonStatus?, firmware: FirmwareBoot? = nil) {
        self.topology = topology
        self.configuration = configuration
        self.daemon = daemon
        self.firmware = firmware
    }

    public var text: String {
        var exposition = Exposition()
        addDaemon(to: &exposition)
        addSessions(to: &exposition)
        addRecovery(to: &exposition)
        addDisks(to: &exposition)
        addMultipath(to: &exposition)
        addFirmware(to: &exposition)
        return exposition.text
    }

    /// The daemon's state when it is from this boot.
    private var state: DaemonSnapshot? { daemon.flatMap { $0.sameBoot ? $0.snapshot : nil } }
    /// The daemon's view of what is going on now (open episodes, stalls): only while it runs.
    private var liveState: DaemonSnapshot? { daemon.flatMap { $0.running ? $0.snapshot : nil } }

    private func addDaemon(to exposition: inout Exposition) {
        exposition.add("iscsi_rootd_daemon_up", .gauge,
                       help: "1 while iscsi-rootd runs; 0 when it stopped (or status found it gone).",
                       [.init([], daemon?.running == true ? 1 : 0)])
        exposition.add("iscsi_rootd_daemon_view_stale", .gauge,
                       help: "1 when the daemon runs but its state file is older than three poll intervals: it cannot write it or is stuck, and what only it knows (stalls, damage, episodes) is unknown.",
                       [.init([], daemon?.stale == nil ? 0 : 1)])
        exposition.add("iscsi_rootd_sysfs_readable", .gauge, help: "1 when sysfs could be read (else status is UNKNOWN).",
                       [.init([], topology.unreadable == nil ? 1 : 0)])
        guard let state else { return }
        exposition.add("iscsi_rootd_daemon_info", .gauge,
                       help: "iscsi-rootd's version and how it learns of changes: device_events udev or polling, session_events netlink or polling.",
                       [.init([("version", state.version),
                               ("device_events", Self.eventSource(state.deviceEvents, event: "udev")),
                               ("session_events", Self.eventSource(state.sessionEvents, event: "netlink"))], 1)])
        exposition.add("iscsi_rootd_daemon_start_time_seconds", .gauge,
                       help: "When the daemon started, seconds since the Unix epoch.",
                       [.init([], Double(state.startedMicroseconds) / 1e6)])
        exposition.add("iscsi_rootd_daemon_view_timestamp_seconds", .gauge,
                       help: "When the daemon last wrote its state (its view), seconds since the Unix epoch.",
                       [.init([], Double(state.updatedMicroseconds) / 1e6)])
        if let poll = state.lastPollMicroseconds {
            exposition.add("iscsi_rootd_last_poll_timestamp_seconds", .gauge,
                           help: "When the daemon last read sysfs successfully, seconds since the Unix epoch.",
                           [.init([], Double(poll) / 1e6)])
        }
        exposition.add("iscsi_rootd_drift_corrections_total", .counter,
                       help: "Disk settings changed by someone else and set back by the daemon.",
                       [.init([], Double(state.corrections))])
        exposition.add("iscsi_rootd_tuning_failures_total", .counter,
                       help: "Disk or session settings the daemon could not apply.",
                       [.init([], Double(state.tuningFailures))])
        let damaged = state.damage.contains(where: \.root)
        exposition.add("iscsi_rootd_root_filesystem_damaged", .gauge,
                       help: "1 when a file system carrying /, /usr or swap was damaged this boot (writes lost; reboot).",
                       [.init([], damaged ? 1 : 0)])
    }

    private func addSessions(to exposition: inout Exposition) {
        let sessions = topology.sessions
        exposition.add("iscsi_rootd_session_info", .gauge, help: "An iSCSI session: its target, portal and iface.",
                       sessions.map { session in
                           .init([("session", session.name), ("target", session.targetName.value ?? ""),
                                  ("portal", session.portal ?? ""), ("iface", session.ifaceName.value ?? "")], 1)
                       })
        exposition.add("iscsi_rootd_session_state", .gauge,
                       help: "The session's state in sysfs: 1 for the current one of LOGGED_IN, FAILED, FREE, unknown.",
                       sessions.flatMap { session in
                           let current = session.state.value.map(\.description).flatMap { Self.sessionStates.contains($0) ? $0 : nil } ?? "unknown"
                           return Self.sessionStates.map { Exposition.Sample([("session", session.name), ("state", $0)], $0 == current ? 1 : 0) }
                       })
        exposition.add("iscsi_rootd_session_root", .gauge, help: "1 when the session carries /, /usr or swap.",
                       sessions.map { .init([("session", $0.name)], topology.criticalUses(ofSession: $0.number).isEmpty ? 0 : 1) })
        exposition.add("iscsi_rootd_session_recovery_timeout_seconds", .gauge,
                       help: "The session's recovery_tmo: how long I/O waits in recovery before it fails (+Inf: off, never).",
                       sessions.compactMap { session in
                           session.recoveryTimeout.value.map { timeout in
                               switch timeout {
                               case .seconds(let seconds): .init([("session", session.name)], Double(seconds))
                               case .off: .init([("session", session.name)], .infinity)
                               }
                           }
                       })
        exposition.add("iscsi_rootd_session_nops_enabled", .gauge,
                       help: "1 when NOP-Out pings are on for a connection of the session (ping_tmo or recv_tmo above 0).",
                       sessions.map { .init([("session", $0.name)], $0.nopsEnabled ? 1 : 0) })
    }

    private func addRecovery(to exposition: inout Exposition) {
        guard let state else { return }
        var names = topology.sessions.map(\.name)
        for entry in state.recovery where !names.contains(entry.session) { names.append(entry.session) }
        names.sort { Self.sessionNumber($0) < Self.sessionNumber($1) }
        let counts = Dictionary(state.recovery.map { ($0.session, $0) }, uniquingKeysWith: { first, _ in first })

        exposition.add("iscsi_rootd_recovery_episodes_total", .counter,
                       help: "Recovery episodes (session FAILED, host in recovery or a disk blocked, until LOGGED_IN again) since the daemon started.",
                       names.map { .init([("session", $0)], Double(counts[$0]?.episodes ?? 0)) })
        var histogram: [Exposition.Sample] = []
        for name in names {
            let entry = counts[name]
            for bound in RecoveryStatistics.bucketBounds {
                let count = entry?.buckets.first { $0.le == bound }?.count ?? 0
                histogram.append(.init([("session", name), ("le", Exposition.format(bound))], Double(count), suffix: "_bucket"))
            }
            let finished = Double(entry?.finished ?? 0)
            histogram.append(.init([("session", name), ("le", "+Inf")], finished, suffix: "_bucket"))
            histogram.append(.init([("session", name)], entry?.secondsSum ?? 0, suffix: "_sum"))
            histogram.append(.init([("session", name)], finished, suffix: "_count"))
        }
        exposition.add("iscsi_rootd_recovery_duration_seconds", .histogram,
                       help: "How long finished recovery episodes lasted (those whose start the daemon saw).", histogram)

        guard let live = liveState else { return }
        func openEpisode(_ name: String) -> DaemonSnapshot.Episode? {
            live.episodes.first { $0.session == name && $0.endedMicroseconds == nil }
        }
        exposition.add("iscsi_rootd_recovery_episode_age_seconds", .gauge,
                       help: "How long the session's current recovery episode has lasted; 0 when there is none.",
                       topology.sessions.map { .init([("session", $0.name)], openEpisode($0.name)?.seconds ?? 0) })
        exposition.add("iscsi_rootd_recovery_time_left_seconds", .gauge,
                       help: "While the session's recovery episode lasts: the time left before recovery_tmo runs out and its I/O fails (+Inf: never; 0: failing).",
                       topology.sessions.compactMap { session in
                           openEpisode(session.name)?.secondsLeft.map { .init([("session", session.name)], max(0, $0)) }
                       })
        exposition.add("iscsi_rootd_session_io_failing", .gauge,
                       help: "1 while the session's I/O fails (recovery timed out: FREE, a disk transport-offline or offline).",
                       topology.sessions.map { session in
                           let failing = openEpisode(session.name)?.ioFailingSinceMicroseconds != nil
                           return .init([("session", session.name)], failing ? 1 : 0)
                       })
    }

    private func addDisks(to exposition: inout Exposition) {
        let devices = topology.iscsiDevices
        let policy = configuration.disk
        exposition.add("iscsi_rootd_disk_info", .gauge,
                       help: "An iSCSI SCSI device: its H:C:T:L, session, vendor, model, and the multipath map it is a path of (empty: none).",
                       devices.map(diskInfo))
        exposition.add("iscsi_rootd_disk_root", .gauge, help: "1 when the disk carries /, /usr or swap.",
                       devices.map { device in
                           let critical = device.disk.map { topology.uses(ofDisk: $0.name).contains(where: \.isCritical) } ?? false
                           return .init([("disk", device.displayName)], critical ? 1 : 0)
                       })
        exposition.add("iscsi_rootd_disk_tuned", .gauge,
                       help: "1 when the disk has the configured command timeout and scheduler (disks of types the policy tunes).",
                       devices.filter(policy.applies).map { .init([("disk", $0.displayName)], policy.isTuned($0) ? 1 : 0) })
        exposition.add("iscsi_rootd_disk_timeout_seconds", .gauge, help: "The disk's SCSI command timeout (device/timeout).",
                       devices.compactMap { device in device.timeout.value.map { .init([("disk", device.displayName)], Double($0)) } })
        guard let live = liveState else { return }
        let stalled = Dictionary(live.stalls.map { ($0.disk, $0.seconds) }, uniquingKeysWith: { first, _ in first })
        exposition.add("iscsi_rootd_disk_stall_seconds", .gauge,
                       help: "How long requests have been in flight on the disk without a completion; 0 when I/O flows.",
                       devices.map { .init([("disk", $0.displayName)], stalled[$0.displayName] ?? 0) })
    }

    private func diskInfo(_ device: SCSIDevice) -> Exposition.Sample {
        let session: String = device.sessionNumber.map { ISCSISession.name($0) } ?? ""
        let map: String = device.disk.flatMap { topology.map(ofPath: $0.name)?.name } ?? ""
        let labels: [(String, String)] = [
            ("disk", device.displayName), ("hctl", device.hctl.description), ("session", session),
            ("vendor", device.vendor.value ?? ""), ("model", device.model.value ?? ""), ("map", map),
        ]
        return Exposition.Sample(labels, 1)
    }

    private func addMultipath(to exposition: inout Exposition) {
        let maps = topology.maps
        exposition.add("iscsi_rootd_multipath_paths", .gauge, help: "The paths (disks) of a dm-multipath map.",
                       maps.map { .init([("map", $0.name)], Double($0.paths.count)) })
        exposition.add("iscsi_rootd_multipath_paths_up", .gauge,
                       help: "The map's paths that are up (SCSI device running, session LOGGED_IN).",
                       maps.map { map in .init([("map", map.name)], Double(topology.paths(of: map).filter(\.isUp).count)) })
        exposition.add("iscsi_rootd_multipath_root", .gauge, help: "1 when the map carries /, /usr or swap.",
                       maps.map { .init([("map", $0.name)], topology.criticalUses(of: $0).isEmpty ? 0 : 1) })
    }

    /// The iBFT's targets, and whether the root session is the firmware's: only when the firmware left an iBFT.
    private func addFirmware(to exposition: inout Exposition) {
        guard let comparison = FirmwareBoot.RootComparison(firmware, topology: topology) else { return }
        let firmware = comparison.firmware
        exposition.add("iscsi_rootd_firmware_boot_target_info", .gauge,
                       help: "A target of the firmware's iSCSI boot record (iBFT): IQN, portal, LUN, initiator, and the NIC by MAC, its kernel name and how the firmware configured it (dhcp, static, other).",
                       firmware.targets.map { target in
                           let nic = firmware.nic(of: target)
                           return .init([("target", target.name ?? ""), ("portal", target.portal ?? ""),
                                         ("lun", target.lun.map(String.init) ?? target.lunText ?? ""),
                                         ("initiator", firmware.initiatorName ?? ""), ("mac", nic?.mac ?? ""),
                                         ("interface", nic?.interface ?? ""), ("configuration", nic?.addressOrigin.label ?? "")], 1)
                       })
        if let session = comparison.session, let matches = comparison.matches {
            exposition.add("iscsi_rootd_firmware_boot_root_matches", .gauge,
                           help: "1 when the root session is the one the firmware's iBFT names (target, portal, initiator); 0 when it is another.",
                           [.init([("session", session.name)], matches ? 1 : 0)])
        }
    }

    /// `udev`/`netlink`, or `polling` (the state file says why).
    static func eventSource(_ text: String, event: String) -> String {
        text == event ? event : "polling"
    }

    static func sessionNumber(_ name: String) -> Int { TopologyScanner.number(after: "session", in: name) ?? Int.max }
}

extension DaemonStatus {
    /// The daemon's own view (its state as it writes it), for the metrics it exports; `running` is
    /// false only in the last file it writes when it stops.
    public init(ownState snapshot: DaemonSnapshot, running: Bool = true) {
        self.init(snapshot: snapshot, running: running, sameBoot: true)
    }
}
