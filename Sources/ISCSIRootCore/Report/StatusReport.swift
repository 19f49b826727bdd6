/// What `iscsi-rootd status` shows: the topology judged against the configuration (the findings
/// and the overall severity). A value built by a pure function; its renderers are
/// `StatusReport+Text` (the terminal), `+JSON` (`--json`) and `+Nagios` (`--nagios`);
/// `--prometheus` is `MetricsReport`'s.
public struct StatusReport: Sendable {
    public let topology: Topology
    public let configuration: Configuration
    public let findings: [Finding]
    /// The daemon's state file: nil when there is none, a failure when it cannot be used.
    public let daemon: Result<DaemonStatus, StateFileError>?
    /// The firmware's boot record (iBFT), when the firmware left one.
    public let firmware: FirmwareBoot?

    public init(topology: Topology, configuration: Configuration, daemon: Result<DaemonStatus, StateFileError>? = nil,
                firmware: FirmwareBoot? = nil) {
        self.topology = topology
        self.configuration = configuration
        self.daemon = daemon
        self.firmware = firmware
        var findings = HealthCheck(configuration: configuration).findings(topology)
        if let mismatch = FirmwareBoot.RootComparison(firmware, topology: topology)?.finding { findings.append(mismatch) }
        switch daemon {
        case .success(let status):
            findings += status.findings
            // A path's stall is a warning of its own; all of a map's at once stall what it carries.
            let stalled = Set(status.running && status.sameBoot ? status.snapshot.stalls.map(\.disk) : [])
            for health in MapHealth.all(topology) where health.everyPathStalled(stalled) {
                findings.append(Finding(health.isRoot ? .critical : .warning, health.map.name, health.allStalledMessage,
                                        concernsRoot: health.isRoot))
            }
        case .failure(let error): findings.append(Finding(.warning, "daemon", error.description))
        case nil: break
        }
        self.findings = Finding.rootFirst(findings)
    }

    var daemonStatus: DaemonStatus? {
        if case .success(let status) = daemon { return status }
        return nil
    }

    /// The worst finding; the exit code of `status`.
    public var overall: Severity { HealthCheck.overall(findings) }
}
