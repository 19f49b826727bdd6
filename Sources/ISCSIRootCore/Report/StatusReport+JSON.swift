/// `status --json`: the report as one JSON object (its keys are documented in docs/commands.md).
extension StatusReport {
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
            ("firmware", firmwareJSON),
        ]
        if let status = daemonStatus {
            members.append(("daemon", .object([("running", .bool(status.running)), ("same_boot", .bool(status.sameBoot)),
                                               ("stale", status.stale.map { stale in
                                                   .object([("seconds", .integer(stale.seconds)),
                                                            ("cannot_write", .optional(stale.cannotWrite)),
                                                            ("message", .string(stale.message))])
                                               } ?? .null),
                                               ("warnings", .array(status.warnings.map(JSONValue.string))),
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
            ("meets_recommendation", .bool(SessionRecipe(session, in: topology).isMet(by: session))),
        ])
    }

    func diskJSON(_ device: SCSIDevice) -> JSONValue {
        let policy = configuration.disk
        let stall = device.disk.flatMap { daemonStatus?.stallsByDisk[$0.name] } ?? .null
        return .object([
            ("name", .string(device.displayName)),
            ("hctl", .string(device.hctl.description)),
            ("session", .optional(device.sessionNumber.map { ISCSISession.name($0) })),
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
            ("overlay", .optional(chain.overlay)),
            ("stack", .array(chain.stack.map(stackedLayerJSON))),
            ("untraced", .optional(chain.untraced)),
        ])
    }

    func stackedLayerJSON(_ layer: StackedLayer) -> JSONValue {
        let ownerType: String
        switch layer.owner {
        case .overlay: ownerType = "overlay"
        case .loop: ownerType = "loop"
        }
        return .object([
            ("of", .string(layer.owner.description)),
            ("of_type", .string(ownerType)),
            ("role", .string(layer.role.rawValue)),
            ("path", .string(layer.path)),
            ("mount_point", .optional(layer.holder?.mountPoint)),
            ("fstype", .optional(layer.holder?.fileSystem)),
            ("source", .optional(layer.holder?.source)),
            ("block", .optional(layer.block)),
            ("untraced", .optional(layer.untraced)),
        ])
    }

    /// The iBFT beside the root session: null when the firmware left none.
    var firmwareJSON: JSONValue {
        guard let comparison = FirmwareBoot.RootComparison(firmware, topology: topology) else { return .null }
        let firmware = comparison.firmware
        return .object([
            ("initiator", .optional(firmware.initiatorName)),
            ("targets", .array(firmware.targets.map { target in
                .object([
                    ("index", .int(target.index)),
                    ("name", .optional(target.name)),
                    ("address", .optional(target.address)),
                    ("port", .optional(target.port)),
                    ("lun", .optional(target.lun)),
                    ("lun_bytes", .optional(target.lunText)),
                    ("nic", .optional(target.nicIndex)),
                ])
            })),
            ("nics", .array(firmware.nics.map { nic in
                .object([
                    ("index", .int(nic.index)),
                    ("mac", .optional(nic.mac)),
                    ("interface", .optional(nic.interface)),
                    ("address", .optional(nic.address)),
                    ("prefix_length", .optional(nic.prefixLength)),
                    ("gateway", .optional(nic.gateway)),
                    ("dhcp_server", .optional(nic.dhcpServer)),
                    ("origin", .optional(nic.origin)),
                    ("configuration", .string(nic.addressOrigin.label)),
                ])
            })),
            ("root_session", .optional(comparison.session?.name)),
            ("root_target", .optional(comparison.target?.index)),
            ("root_matches", comparison.matches.map(JSONValue.bool) ?? .null),
            ("differences", .array(comparison.differences.map(JSONValue.string))),
        ])
    }

    func findingJSON(_ finding: Finding) -> JSONValue {
        .object([
            ("severity", .string(finding.severity.jsonName)),
            ("subject", .string(finding.subject)),
            ("message", .string(finding.message)),
        ])
    }
}
