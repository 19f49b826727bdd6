/// What `iscsi-rootd status` shows: the topology judged against the configuration.
/// Built by a pure function; rendered as text or JSON.
public struct StatusReport: Sendable {
    public let topology: Topology
    public let configuration: Configuration
    public let findings: [Finding]
    /// The daemon's state file: nil when there is none, a failure when it cannot be used.
    public let daemon: Result<DaemonStatus, StateFileError>?

    public init(topology: Topology, configuration: Configuration, daemon: Result<DaemonStatus, StateFileError>? = nil) {
        self.topology = topology
        self.configuration = configuration
        self.daemon = daemon
        var findings = HealthCheck(configuration: configuration).findings(topology)
        switch daemon {
        case .success(let status):
            findings += status.findings
            // A path's stall is a warning of its own; all of a map's at once stall what it carries.
            let stalled = Set(status.running && status.sameBoot ? status.file.stalls.map(\.disk) : [])
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

    // MARK: JSON

    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("version", .string(ISCSIRootVersion.current)),
            ("overall", .string(overall.jsonName)),
            ("root", rootJSON),
            ("sessions", .array(topology.sessions.map(sessionJSON))),
            ("disks", .array(topology.iscsiDevices.map(diskJSON))),
            ("other_devices", .array(topology.devices.filter { !$0.isISCSI }.map(otherDeviceJSON))),
            ("storage", .array(topology.chains.map(chainJSON))),
            ("findings", .array(findings.map(findingJSON))),
        ]
        if let status = daemonStatus {
            members.append(("daemon", .object([("running", .bool(status.running)), ("same_boot", .bool(status.sameBoot)),
                                               ("state", status.state)])))
        } else {
            members.append(("daemon", .null))
        }
        return .object(members)
    }

    var rootJSON: JSONValue {
        guard let root = topology.root else { return .null }
        return .object([
            ("source", .string(root.source)),
            ("disk", .optional(root.disks.first)),
            ("session", .optional(topology.sessions(of: root).first?.name)),
            ("iscsi", .bool(!topology.sessions(of: root).isEmpty)),
            ("multipath", multipathJSON(root)),
        ])
    }

    /// The chain's (first) dm-multipath map with its paths, or null.
    func multipathJSON(_ chain: StorageChain) -> JSONValue {
        guard let map = topology.maps(of: chain).first else { return .null }
        let health = MapHealth(map, topology: topology)
        return .object([
            ("name", .string(map.name)),
            ("wwid", .string(map.wwid)),
            ("dm", .string(map.dm)),
            ("queue_if_no_path", map.queueing.queues.map(JSONValue.bool) ?? .null),
            ("paths_up", .int(health.up.count)),
            ("paths_total", .int(health.paths.count)),
            ("paths", .array(health.paths.map { path in
                .object([
                    ("disk", .string(path.disk)),
                    ("hctl", .optional(path.device?.hctl.description)),
                    ("session", .optional(path.session?.name)),
                    ("portal", .optional(path.session?.portal)),
                    ("state", .optional(path.device?.state.value?.description)),
                    ("session_state", .optional(path.session?.state.value?.description)),
                    ("up", .bool(path.isUp)),
                ])
            })),
        ])
    }

    func sessionJSON(_ session: ISCSISession) -> JSONValue {
        let host = session.hostNumber.flatMap(topology.host)
        return .object([
            ("name", .string(session.name)),
            ("state", .optional(session.state.value?.description)),
            ("target", .optional(session.targetName.value)),
            ("portal", .optional(session.portal)),
            ("tpgt", .optional(session.tpgt.value)),
            ("recovery_tmo", .optional(session.recoveryTimeout.value?.jsonValue)),
            ("host", .optional(host?.name)),
            ("host_state", .optional(host?.state.value?.description)),
            ("iface", .optional(session.ifaceName.value)),
            ("connections", .array(session.connections.map { connection in
                .object([
                    ("name", .string(connection.name)),
                    ("state", .optional(connection.state.value?.description)),
                    ("portal", .optional(connection.portal)),
                    ("ping_tmo", .optional(connection.pingTimeout.value)),
                    ("recv_tmo", .optional(connection.receiveTimeout.value)),
                ])
            })),
            ("carries", .array(topology.criticalUses(ofSession: session.number).map { .string($0.description) })),
            ("role", .string(topology.isPathSession(session.number) ? "path" : "direct")),
            ("meets_recommendation", .bool(meetsRecommendation(session))),
        ])
    }

    func diskJSON(_ device: SCSIDevice) -> JSONValue {
        let policy = configuration.disk
        let stall = device.disk.flatMap { daemonStatus?.stallsByDisk[$0.name] } ?? .null
        return .object([
            ("name", .string(device.displayName)),
            ("hctl", .string(device.hctl.description)),
            ("session", .optional(device.sessionNumber.map { "session\($0)" })),
            ("type", .optional(device.type.value)),
            ("state", .optional(device.state.value?.description)),
            ("timeout", .optional(device.timeout.value)),
            ("scheduler", .optional(device.disk?.scheduler.value?.selected)),
            ("tuned", policy.applies(to: device) ? .bool(policy.isTuned(device)) : .null),
            ("vendor", .optional(device.vendor.value)),
            ("model", .optional(device.model.value)),
            ("partitions", .array((device.disk?.partitions ?? []).map(JSONValue.string))),
            ("carries", .array((device.disk.map { topology.uses(ofDisk: $0.name) } ?? []).map { .string($0.description) })),
            ("stall", stall),
        ])
    }

    func otherDeviceJSON(_ device: SCSIDevice) -> JSONValue {
        .object([
            ("name", .optional(device.disk?.name)),
            ("hctl", .string(device.hctl.description)),
            ("type", .optional(device.type.value)),
            ("vendor", .optional(device.vendor.value)),
            ("model", .optional(device.model.value)),
        ])
    }

    func chainJSON(_ chain: StorageChain) -> JSONValue {
        .object([
            ("use", .string(chain.use.description)),
            ("source", .string(chain.source)),
            ("fstype", .string(chain.fileSystem)),
            ("path", .array(chain.path.map(JSONValue.string))),
            ("disks", .array(chain.disks.map(JSONValue.string))),
            ("sessions", .array(topology.sessions(of: chain).map { .string($0.name) })),
            ("multipath", multipathJSON(chain)),
        ])
    }

    func findingJSON(_ finding: Finding) -> JSONValue {
        .object([
            ("severity", .string(finding.severity.jsonName)),
            ("subject", .string(finding.subject)),
            ("message", .string(finding.message)),
        ])
    }

    /// The recipe of its role: for a direct session NOPs off and recovery_tmo at least the
    /// recommendation (or off); for a multipath path NOPs on and recovery_tmo at most 15 s.
    public func meetsRecommendation(_ session: ISCSISession) -> Bool {
        guard let timeout = session.recoveryTimeout.value else { return false }
        if topology.isPathSession(session.number) {
            return session.nopsEnabled && Configuration.isMultipathRecoveryTimeout(timeout)
        }
        return !session.nopsEnabled
            && RecoveryTimeoutPolicy.atLeast(Configuration.recommendedRecoveryTimeout).isMet(by: timeout)
    }

    // MARK: Text

    /// Human output for an 80-column terminal; `color` only on a tty. Every line is escaped
    /// (`escapedForDisplay`: sysfs strings reach it) before the colour is added.
    public func text(color: Bool) -> String {
        let style = TextStyle(enabled: color)
        var lines: [String] = []
        var severityLines: [(line: Int, severity: Severity)] = [(0, overall)]
        lines.append("\(overall): \(summary)")
        lines.append("")
        lines += rootLines
        if !topology.sessions.isEmpty {
            lines.append("")
            for session in sessionsRootFirst { lines += sessionLines(session) }
        }
        let disks = topology.iscsiDevices
        if !disks.isEmpty {
            lines.append("")
            var table = [["DISK", "H:C:T:L", "TYPE", "STATE", "TIMEOUT", "SCHEDULER", "TUNED", "SESSION", "CARRIES"]]
            for device in disks {
                let policy = configuration.disk
                let uses = device.disk.map { topology.uses(ofDisk: $0.name) } ?? []
                table.append([
                    device.displayName, device.hctl.description, device.type.value.map(SCSIPeripheralType.name) ?? "?",
                    device.state.value?.description ?? "unknown",
                    device.timeout.value.map { "\($0) s" } ?? "?",
                    device.disk.map { $0.scheduler.value?.selected ?? "?" } ?? "-",
                    policy.applies(to: device) ? (policy.isTuned(device) ? "yes" : "no") : "-",
                    device.sessionNumber.map { "session\($0)" } ?? "-",
                    uses.isEmpty ? "-" : uses.map(\.description).joined(separator: ","),
                ])
            }
            // Two spaces between columns when the table fits 80 columns, else one.
            let spaced = Self.columns(table)
            lines += spaced.contains { $0.count > 80 } ? Self.columns(table, separator: " ") : spaced
        }
        let others = topology.devices.filter { !$0.isISCSI }
        if !others.isEmpty {
            lines.append("")
            lines.append("Not iSCSI, never touched: " + others.map { device in
                "\(device.disk.map { "\($0.name) " } ?? "")\(device.hctl) \(device.type.value.map(SCSIPeripheralType.name) ?? "?")"
            }.joined(separator: ", "))
        }
        if !findings.isEmpty {
            lines.append("")
            for finding in findings {
                severityLines.append((lines.count, finding.severity))
                lines.append("\(finding.severity) \(finding.subject): \(finding.message)")
            }
        }
        switch daemon {
        case .success(let status):
            lines.append("")
            lines += status.lines
        case .failure(let error):
            lines.append("")
            lines.append("daemon: \(error)")
        case nil:
            lines.append("")
            lines.append("daemon: no state file (iscsi-rootd run has not run this boot)")
        }
        lines = lines.map(\.escapedForDisplay)
        for (index, severity) in severityLines {
            lines[index] = style.severity(severity) + lines[index].dropFirst(severity.description.count)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var summary: String {
        if let reason = topology.unreadable { return reason }
        let sessions = topology.sessions.count
        let devices = topology.iscsiDevices
        let disks = devices.filter(\.isDisk)
        let tunable = devices.filter(configuration.disk.applies)
        let tuned = tunable.filter(configuration.disk.isTuned).count
        let rootText: String
        if let root = topology.root {
            rootText = topology.sessions(of: root).isEmpty ? (root.untraced != nil ? "root unknown" : "root not on iSCSI")
                : topology.maps(of: root).first.map { map in
                    "root on iSCSI multipath \(map.name) (\(MapHealth(map, topology: topology).count))"
                } ?? "root on iSCSI"
        } else {
            rootText = "root unknown"
        }
        let paths = disks.filter(\.isMultipathPath).count
        let pathText = paths == 0 ? "" : " (\(paths) multipath path\(paths == 1 ? "" : "s"), left to multipathd)"
        return "\(rootText), \(sessions) session\(sessions == 1 ? "" : "s"), \(disks.count) iSCSI disk\(disks.count == 1 ? "" : "s")\(pathText), \(tuned) of \(tunable.count) tuned"
    }

    var sessionsRootFirst: [ISCSISession] {
        topology.sessions.filter { !topology.criticalUses(ofSession: $0.number).isEmpty }
            + topology.sessions.filter { topology.criticalUses(ofSession: $0.number).isEmpty }
    }

    /// `/ on sda2 ← sda (2:0:0:0) ← session1 iqn… @ 10.0.0.1:3260`, one line per critical use; a map
    /// ends the line with its paths (`/ on mpatha-part2 ← mpatha, 2 of 2 paths: sda via session1 @ …, …`),
    /// and several devices below one (LVM, md) are listed in brackets joined by `+`.
    var rootLines: [String] {
        let critical = topology.chains.filter(\.use.isCritical)
        if critical.isEmpty { return ["/ : not found in mountinfo"] }
        return critical.map { chain in
            guard let top = chain.path.first else {
                return "\(chain.use) on \(chain.source) ← " + (chain.untraced.map { "not traced: \($0)" } ?? "(no block device)")
            }
            var line = "\(chain.use) on \(describe(top, in: chain))"
            if topology.sessions(of: chain).isEmpty { line += " ← " + (chain.untraced.map { "not traced: \($0)" } ?? "not iSCSI") }
            return line
        }
    }

    /// A device and everything below it, as text.
    func describe(_ name: String, in chain: StorageChain, depth: Int = 0) -> String {
        guard depth < 16, let layer = chain.layer(name) else { return name }
        if layer.kind == .multipath, let map = topology.maps.first(where: { $0.dm == name }) {
            let health = MapHealth(map, topology: topology)
            return "\(map.name), \(health.count): \(health.pathList)"
        }
        if let device = topology.device(disk: name) {
            guard let number = device.sessionNumber, let session = topology.session(number) else {
                return "\(name) (\(device.hctl))"
            }
            return "\(name) (\(device.hctl)) ← \(session.name) \(session.targetName.value ?? "?") @ \(session.portal ?? "?")"
        }
        let below = layer.below.map { describe($0, in: chain, depth: depth + 1) }
        switch below.count {
        case 0: return layer.displayName
        case 1: return "\(layer.displayName) ← \(below[0])"
        default: return "\(layer.displayName) ← " + below.map { "[\($0)]" }.joined(separator: " + ")
        }
    }

    func sessionLines(_ session: ISCSISession) -> [String] {
        let host = session.hostNumber.flatMap(topology.host)
        let uses = topology.criticalUses(ofSession: session.number)
        let state = session.state.value?.description ?? "unknown (\(session.state.unknownReason ?? ""))"
        let connections = session.connections.map {
            "\($0.name) \($0.state.value?.description ?? "unknown")"
        }.joined(separator: ", ")
        let nops = session.connections.map {
            "\($0.pingTimeout.value.map(String.init) ?? "?")/\($0.receiveTimeout.value.map(String.init) ?? "?")"
        }.joined(separator: ",")
        return [
            "\(session.name)  \(state)  \(session.targetName.value ?? "target unknown")",
            "  portal \(session.portal ?? "unknown")  \(host.map { "\($0.name) \($0.state.value?.description ?? "unknown")" } ?? "host unknown")  \(connections.isEmpty ? "no connection" : connections)",
            "  recovery_tmo \(session.recoveryTimeout.value.map { $0 == .off ? "off" : "\($0) s" } ?? "unknown")  NOPs \(nops.isEmpty ? "-" : nops) s  "
                + "\(topology.isPathSession(session.number) ? "multipath path" : "root") settings: \(meetsRecommendation(session) ? "met" : "not met")"
                + (uses.isEmpty ? "" : "  carries \(uses.map(\.description).joined(separator: ", "))"),
        ]
    }

    /// Left-aligned columns separated by two spaces (or `separator`).
    static func columns(_ rows: [[String]], separator: String = "  ") -> [String] {
        guard let width = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: separator)
        }
    }
}

/// ANSI colour for severities, only when writing to a terminal.
struct TextStyle {
    let enabled: Bool

    func severity(_ severity: Severity) -> String {
        guard enabled else { return severity.description }
        let code = switch severity {
        case .ok: "32"
        case .warning: "33"
        case .critical: "1;31"
        case .unknown: "35"
        }
        return "\u{1B}[\(code)m\(severity)\u{1B}[0m"
    }
}
