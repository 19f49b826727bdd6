/// The root node's record (or, without one, iscsid.conf's defaults) as iscsid uses it to log in again:
/// NOPs off, a replacement timeout of at least a day, and `node.startup = onboot` so that no
/// `iscsiadm --logoutall` at shutdown logs the root out. For a multipath path: NOPs on and a
/// replacement timeout of 5 to 15 s instead.
///
/// What iscsid does with a session it did not make (iscsistart's, from ip= or from the firmware's iBFT;
/// open-iscsi's iscsid.c sync_session and idbm_rec_read): when it starts it adopts every session in sysfs,
/// with the node record at exactly the session's target, portal, tpgt and iface, or, when there is none,
/// with iscsid.conf's defaults and the negotiated values; it re-logs the session in with those settings
/// then and after every connection error. `iscsiadm -m node --logoutall` skips a session it finds no
/// record for, and a record with `node.discovery_type = fw` (`iscsiadm -m discovery -t fw`), whatever its
/// node.startup. An iBFT root therefore needs no record to survive shutdown, but without one iscsid's
/// re-logins use iscsid.conf's timers.
struct NodeRecordCheck {
    let system: FileTree
    let session: ISCSISession
    /// A multipath path of the root: the multipath recipe (NOPs on, replacement_timeout 5 to 15 s).
    var isPath = false
    /// The firmware's boot record, when there is one: a session it names is the firmware's.
    var firmware: FirmwareBoot? = nil

    var item: AuditItem {
        let title = isPath ? "node record of root path \(session.name)" : "root node record"
        guard let target = session.targetName.value, let connection = session.connections.first,
              let address = connection.persistentAddress.value, let port = connection.persistentPort.value,
              let tpgt = session.tpgt.value else {
            return AuditItem(id: "node-record", title: title, verdict: .unknown,
                             detail: "target, portal or tpgt of \(session.name) unknown: cannot find its node record")
        }
        let iface = session.ifaceName.value ?? "default"
        let record: NodeRecord
        var findings: [CheckFinding] = []
        if let found = NodeRecord.find(in: system, target: target, address: address, port: port, tpgt: tpgt, iface: iface) {
            record = found
        } else if let reason = NodeRecord.unreadableDatabase(in: system) {
            return AuditItem(id: "node-record", title: title, verdict: .unknown, detail: reason)
        } else if case .success(let text) = system.read("etc/iscsi/iscsid.conf") {
            record = NodeRecord(path: "/etc/iscsi/iscsid.conf", text: text)
            findings.append(missingRecord(target: target, address: address, port: port, tpgt: tpgt, iface: iface))
        } else {
            return AuditItem(id: "node-record", title: title, verdict: .fail,
                             detail: "no node record for \(target) at \(address):\(port),\(tpgt) and no /etc/iscsi/iscsid.conf",
                             fix: isPath
                                ? "iscsiadm -m node -o new -T \(target) -p \(portalText(address, port)), then set \(NodeRecord.noopOutInterval) = \(Configuration.multipathNopInterval), \(NodeRecord.noopOutTimeout) = \(Configuration.multipathNopTimeout), \(NodeRecord.replacementTimeout) = \(Configuration.multipathRecoveryTimeout) and \(NodeRecord.startup) = onboot in it (-o update -n KEY -v VALUE)"
                                : "iscsiadm -m node -o new -T \(target) -p \(portalText(address, port)), then set the root settings (see \(InstallLayout(system: system).example("iscsi-root-node.sh")))")
        }
        let isRecord = record.path != "/etc/iscsi/iscsid.conf"
        let update = "iscsiadm -m node -T \(target) -p \(portalText(address, port)) -o update -n"
        let replacement = record.values[NodeRecord.replacementTimeout]
        if isPath {
            // open-iscsi README, "iSCSI settings for dm-multipath": NOPs on, a short replacement_timeout.
            let nops = SessionRecipe.multipathPath.nopValues
            for (key, wanted) in [(NodeRecord.noopOutInterval, nops.interval), (NodeRecord.noopOutTimeout, nops.timeout)]
                where (record.values[key].flatMap { Int(bounded: $0, in: Int.sysfsRange) } ?? 1) <= 0 {
                findings.append(CheckFinding(.warn, "\(key) = \(record.values[key] ?? "?") (multipath path: with NOPs off a dead path is noticed only when a command times out)",
                                        fix: "\(update) \(key) -v \(wanted)"))
            }
            if let seconds = replacement.flatMap({ Int(bounded: $0, in: Int.sysfsRange) }), seconds > Configuration.multipathRecoveryTimeoutLimit || seconds < 0 {
                findings.append(CheckFinding(.fail, "\(NodeRecord.replacementTimeout) = \(seconds) (multipath path: after a re-login its I/O waits that long instead of failing over, until multipathd sets fast_io_fail_tmo)",
                                        fix: "\(update) \(NodeRecord.replacementTimeout) -v \(Configuration.multipathRecoveryTimeout)"))
            } else if replacement == nil {
                findings.append(CheckFinding(.warn, "\(NodeRecord.replacementTimeout) unset (open-iscsi default 120; multipath path: I/O waits 120 s instead of failing over until multipathd sets fast_io_fail_tmo)",
                                        fix: "\(update) \(NodeRecord.replacementTimeout) -v \(Configuration.multipathRecoveryTimeout)"))
            }
        } else {
            for key in [NodeRecord.noopOutInterval, NodeRecord.noopOutTimeout] where record.values[key] != "0" {
                findings.append(CheckFinding(.warn, "\(key) = \(record.values[key] ?? "unset (open-iscsi default, not 0)") (NOPs can declare a busy link dead)",
                                        fix: "\(update) \(key) -v 0"))
            }
            if (replacement.flatMap { Int(bounded: $0, in: Int.sysfsRange) } ?? 0) < Configuration.recommendedRecoveryTimeout {
                findings.append(CheckFinding(.fail, "\(NodeRecord.replacementTimeout) = \(replacement ?? "unset (open-iscsi default 120)") (after a re-login, I/O on / fails once an outage outlasts it)",
                                        fix: "\(update) \(NodeRecord.replacementTimeout) -v \(Configuration.recommendedRecoveryTimeout)"))
            }
        }
        let startup = record.values[NodeRecord.startup]
        // Without a record --logoutall skips the session, and it never logs out a node from the firmware.
        if isRecord && startup != "onboot" && !record.isFromFirmware {
            findings.append(CheckFinding(.fail, "\(NodeRecord.startup) = \(startup ?? "unset") (iscsiadm --logoutall at shutdown logs the root session out)",
                                    fix: "\(update) \(NodeRecord.startup) -v onboot"))
        }
        let item = AuditItem(id: "node-record", title: title, findings: findings,
                             okDetail: isPath
                                ? "\(record.path): NOPs \(record.values[NodeRecord.noopOutInterval] ?? "?")/\(record.values[NodeRecord.noopOutTimeout] ?? "?"), replacement_timeout \(replacement ?? ""), startup onboot (multipath path)"
                                : "\(record.path): NOPs 0/0, replacement_timeout \(replacement ?? ""), \(record.isFromFirmware ? "from the firmware (node.discovery_type = fw: --logoutall leaves it)" : "startup onboot")")
        guard item.verdict != .ok else { return item }
        return AuditItem(id: item.id, title: title, verdict: item.verdict, detail: "\(record.path): \(item.detail)", fix: item.fix)
    }

    /// No record where iscsid looks: what iscsid does instead, and the record to make. For the firmware's
    /// session the record comes from the iBFT (`-m discovery -t fw`), which writes tpgt 1: a target with
    /// another tpgt needs the record made by hand at the session's tpgt.
    func missingRecord(target: String, address: String, port: Int, tpgt: Int, iface: String) -> CheckFinding {
        let others = NodeRecord.otherPortalGroups(in: system, target: target, address: address, port: port, tpgt: tpgt)
        let elsewhere = others.isEmpty ? "" : " (\(others.joined(separator: ", ")) is for another tpgt: iscsid never reads it)"
        let adopted = "iscsid adopts the session when it starts, with /etc/iscsi/iscsid.conf's defaults, and logs it in again with them after every connection error; iscsiadm --logoutall skips it"
        let portal = portalText(address, port)
        let settings = isPath ? "the multipath path settings below" : "the root settings (see \(InstallLayout(system: system).example("iscsi-root-node.sh")) or below)"
        let firmwareTarget = firmware.flatMap { firmware in
            firmware.targets.first { $0.name == target && $0.address.map { FirmwareBoot.sameAddress($0, address) } == true && ($0.port ?? port) == port }
        }
        guard let firmwareTarget else {
            return CheckFinding(.warn, "no node record for \(target) at \(address):\(port),\(tpgt) iface \(iface)\(elsewhere) (a session made by iscsistart); \(adopted)",
                                fix: "iscsiadm -m node -o new -T \(target) -p \(portal), then \(settings)")
        }
        let make = tpgt == 1
            ? "iscsiadm -m discovery -t fw (records the iBFT's targets, tpgt 1, node.discovery_type = fw), then \(settings) with -p \(portal),1"
            : "iscsiadm -m node -o new -T \(target) -p \(portal),\(tpgt) (iscsiadm -m discovery -t fw would write tpgt 1, which iscsid does not read for this tpgt-\(tpgt) session), then \(settings)"
        return CheckFinding(.warn, "no node record for \(target) at \(address):\(port),\(tpgt) iface \(iface)\(elsewhere): the session is the firmware's (iBFT \(firmwareTarget.directoryName), logged in by iscsistart -b or the initramfs); \(adopted)",
                            fix: make)
    }

    func portalText(_ address: String, _ port: Int) -> String {
        address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
