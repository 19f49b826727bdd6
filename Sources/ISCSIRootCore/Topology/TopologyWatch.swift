/// The cheap look that tells whether a full scan could find something the daemon's poll acts on:
/// the names in the directories where sessions, connections, hosts, SCSI devices and block devices
/// (disks, partitions, device-mapper maps) come and go, the `state` of every session, connection,
/// host and iSCSI device (a failure or a recovery changes them and sends no uevent), the
/// recovery_tmo of the sessions carrying `/`, `/usr` or swap (the root timers the poll keeps), the
/// `slaves` of every multipath map and stacked layer under a storage chain (multipathd taking a path
/// out of a map changes no listing above), and the mount and swap tables (the storage chains). One directory listing per class and one read
/// per attribute: about a tenth of a full scan's system calls at 64 disks.
///
/// Two watches of the same topology are equal when none of this changed. A watch lists what it read
/// for the topology it was given, so one taken for an older topology differs from the next one
/// whenever sessions or devices came or went: a change costs at most one more full scan, never a
/// missed one.
public struct TopologyWatch: Sendable, Equatable {
    /// Each path read, with its text (names for a directory) or why it could not be read.
    public let readings: [Entry]

    public struct Entry: Sendable, Equatable {
        public let path: String
        public let value: String
    }

    /// The directories whose entries come and go with sessions, connections, hosts and devices.
    static let listedDirectories = ["class/iscsi_session", "class/iscsi_connection", "class/scsi_host",
                                    "class/scsi_device", "class/block"]
}

extension TopologyScanner {
    /// Reads the watch for `topology` (the last full scan's): see `TopologyWatch`.
    public func watch(_ topology: Topology) -> TopologyWatch {
        var readings: [TopologyWatch.Entry] = []
        for directory in TopologyWatch.listedDirectories {
            readings.append(.init(path: directory, value: sysfs.list(directory).joined(separator: " ")))
        }
        func read(_ tree: FileTree, _ path: String) {
            switch tree.read(path, limit: 64 << 20) {
            case .success(let text): readings.append(.init(path: path, value: text))
            case .failure(let error): readings.append(.init(path: path, value: "unreadable: \(error.reason)"))
            }
        }
        for session in topology.sessions {
            let dir = "class/iscsi_session/\(ISCSISession.name(session.number))"
            read(sysfs, "\(dir)/state")
            if !topology.isPathSession(session.number), !topology.criticalUses(ofSession: session.number).isEmpty {
                read(sysfs, "\(dir)/recovery_tmo")
            }
            for connection in session.connections { read(sysfs, "class/iscsi_connection/\(connection.name)/state") }
        }
        for host in topology.hosts { read(sysfs, "class/scsi_host/host\(host.number)/state") }
        for device in topology.iscsiDevices { read(sysfs, "\(device.devpath)/state") }
        var stacked = topology.maps.map(\.dm)
        for chain in topology.chains {
            for layer in chain.layers where !layer.below.isEmpty && layer.kind != .partition && !stacked.contains(layer.name) {
                stacked.append(layer.name)
            }
        }
        for name in stacked {
            readings.append(.init(path: "class/block/\(name)/slaves", value: sysfs.list("class/block/\(name)/slaves").joined(separator: " ")))
        }
        read(system, "proc/self/mountinfo")
        read(system, "proc/swaps")
        return TopologyWatch(readings: readings)
    }
}
