/// `status`: the report as text for a terminal.
extension StatusReport {
    /// Human output for an 80-column terminal; `color` only on a tty. Every line is escaped
    /// (`escapedForDisplay`: sysfs strings reach it) before the colour is added.
    public func text(color: Bool) -> String {
        let style = TextStyle(enabled: color)
        var lines: [String] = []
        var severityLines: [(line: Int, severity: Severity)] = [(0, overall)]
        lines.append("\(overall): \(summary)")
        lines.append("")
        lines += rootLines
        if let comparison = FirmwareBoot.RootComparison(firmware, topology: topology) { lines.append(comparison.line) }
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
                    device.sessionNumber.map { ISCSISession.name($0) } ?? "-",
                    uses.isEmpty ? "-" : uses.map(\.description).joined(separator: ","),
                ])
            }
            // Two spaces between columns when the table fits 80 columns, else one.
            let spaced = TextTable.columns(table)
            lines += spaced.contains { $0.count > 80 } ? TextTable.columns(table, separator: " ") : spaced
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
    /// several devices below one (LVM, md) are listed in brackets joined by `+`, and stacked file
    /// systems name each layer (`/ on overlay ← lower /run/rootfsbase on sda2 ← …; upper /run/overlayfs
    /// on tmpfs`, `/ on loop0 ← file /run/initramfs/live/rootfs.img on sda1 ← …`).
    var rootLines: [String] {
        let critical = topology.chains.filter(\.use.isCritical)
        if critical.isEmpty { return ["/ : not found in mountinfo"] }
        return critical.map { chain in
            let onISCSI = !topology.sessions(of: chain).isEmpty
            if let overlay = chain.overlay {
                // Each layer says where it rests, or why it cannot be traced.
                let line = "\(chain.use) on overlay ← \(describeStack(of: .overlay(overlay), in: chain, depth: 0))"
                return onISCSI || chain.untraced != nil ? line : line + " (not iSCSI)"
            }
            guard let top = chain.path.first else {
                return "\(chain.use) on \(chain.source) ← " + (chain.untraced.map { "not traced: \($0)" } ?? "(no block device)")
            }
            var line = "\(chain.use) on \(describe(top, in: chain))"
            if !onISCSI {
                if chain.stack.isEmpty {
                    line += " ← " + (chain.untraced.map { "not traced: \($0)" } ?? "not iSCSI")
                } else if chain.untraced == nil {
                    line += " (not iSCSI)"
                }
            }
            return line
        }
    }

    /// The stacked layers of an overlay or loop device, each down to what it rests on:
    /// `lower /run/rootfsbase on sda2 ← sda (2:0:0:0) ← session1 …; upper /run/overlayfs on tmpfs`,
    /// in brackets when nested and more than one.
    func describeStack(of owner: StackedLayer.Owner, in chain: StorageChain, depth: Int) -> String {
        guard depth < 16 else { return "…" }
        let parts = chain.stackedLayers(of: owner).map { describe(stacked: $0, in: chain, depth: depth + 1) }
        if parts.isEmpty { return "(no layer)" }
        return parts.count == 1 || depth == 0 ? parts.joined(separator: "; ") : "[" + parts.joined(separator: "; ") + "]"
    }

    func describe(stacked layer: StackedLayer, in chain: StorageChain, depth: Int) -> String {
        let head = "\(layer.role.rawValue) \(layer.path)"
        guard let holder = layer.holder else { return "\(head): not traced: \(layer.untraced ?? "no mount holds it")" }
        if let block = layer.block { return "\(head) on \(describe(block, in: chain, depth: depth + 1))" }
        if holder.fileSystem == "overlay" {
            return "\(head) on overlay ← \(describeStack(of: .overlay(holder.mountPoint), in: chain, depth: depth + 1))"
        }
        if let reason = layer.untraced { return "\(head) on \(holder.source): not traced: \(reason)" }
        return "\(head) on \(holder.fileSystem)"
    }

    /// A device and everything below it, as text.
    func describe(_ name: String, in chain: StorageChain, depth: Int = 0) -> String {
        guard depth < 16, let layer = chain.layer(name) else { return name }
        if layer.kind == .loop { return "\(name) ← \(describeStack(of: .loop(name), in: chain, depth: depth + 1))" }
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
        return [
            "\(session.name)  \(state)  \(session.targetName.value ?? "target unknown")",
            "  portal \(session.portal ?? "unknown")  \(host.map { "\($0.name) \($0.state.value?.description ?? "unknown")" } ?? "host unknown")  \(connections.isEmpty ? "no connection" : connections)",
            "  recovery_tmo \(session.recoveryTimeout.value.map { $0 == .off ? "off" : "\($0) s" } ?? "unknown")  \(SessionRecipe.nopTimersColumn(session))  "
                + "\(topology.isPathSession(session.number) ? "multipath path" : "root") settings: \(SessionRecipe(session, in: topology).isMet(by: session) ? "met" : "not met")"
                + (uses.isEmpty ? "" : "  carries \(uses.listed)"),
        ]
    }
}
