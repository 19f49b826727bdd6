/// One multipath path down: from the first look that saw it down to the first that saw it up again.
public struct PathEpisode: Sendable, Hashable {
    public let map: String
    public let disk: String
    public let session: String?
    public let portal: String?
    /// The critical uses (/, /usr, swap) on the map when it started.
    public let carries: [StorageUse]
    public let started: Moment
    /// Why the path counted as down: "session FAILED, blocked".
    public let cause: String
    /// It was already down when the daemon started: the real start is earlier.
    public let startedBeforeObservation: Bool
    public internal(set) var ended: Moment?

    public func elapsed(at now: Moment) -> Duration { (ended ?? now).since(started) }
    public var isOpen: Bool { ended == nil }
}

/// Turns successive topologies into path episodes and journal events for dm-multipath maps: a path
/// down (`rootDegraded`), back (`pathRestored`), every path of a map down (`noPathLeft`). Path
/// sessions are judged here, not by `RecoveryTracker`: their FAILED and FREE are failover doing its
/// job, not the root's I/O failing. Pure: time is given.
public struct PathTracker: Sendable {
    /// Open episodes by `map/disk`.
    public private(set) var open: [String: PathEpisode] = [:]
    /// Finished episodes, newest last, at most `historyLimit`.
    public private(set) var finished: [PathEpisode] = []
    public let historyLimit: Int
    /// Maps with no path left (by name), reported once until a path returns.
    public private(set) var mapsWithoutPath: Set<String> = []
    private var observedOnce = false

    public init(historyLimit: Int = 20) {
        self.historyLimit = historyLimit
    }

    /// Open episodes, root maps first.
    public var openEpisodes: [PathEpisode] {
        open.values.sorted { a, b in
            if a.carries.isEmpty != b.carries.isEmpty { return !a.carries.isEmpty }
            return (a.map, a.disk) < (b.map, b.disk)
        }
    }

    public mutating func update(_ topology: Topology, at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        var present = Set<String>()
        for health in MapHealth.all(topology) where !health.paths.isEmpty {
            for path in health.paths {
                let key = "\(health.map.name)/\(path.disk)"
                present.insert(key)
                var fields = Self.fields(health, path: path)
                if !path.isUp, open[key] == nil {
                    open[key] = PathEpisode(map: health.map.name, disk: path.disk, session: path.session?.name,
                                            portal: path.session?.portal, carries: health.carries, started: now,
                                            cause: path.downReason, startedBeforeObservation: !observedOnce)
                    let who = health.isRoot ? "root degraded" : "\(health.map.name) degraded"
                    events.append(HealthEvent(.rootDegraded,
                        "\(who): \(health.count) of \(health.map.name) (\(path.label) down: \(path.downReason))",
                        fields: fields, at: now))
                } else if path.isUp, var episode = open.removeValue(forKey: key) {
                    episode.ended = now
                    remember(episode)
                    fields[.durationMicroseconds] = String(episode.elapsed(at: now).microseconds)
                    events.append(HealthEvent(.pathRestored,
                        "\(path.label) of \(health.map.name) is back after \(episode.elapsed(at: now).humanReadable): \(health.count) up",
                        fields: fields, at: now))
                }
            }
            if health.hasNoPath {
                if mapsWithoutPath.insert(health.map.name).inserted {
                    var fields = Self.fields(health, path: nil)
                    fields[.device] = health.paths.map(\.disk).joined(separator: " ")
                    fields[.session] = health.paths.compactMap { $0.session?.name }.joined(separator: " ")
                    fields[.portal] = health.paths.compactMap { $0.session?.portal }.joined(separator: " ")
                    events.append(HealthEvent(.noPathLeft, health.noPathMessage, fields: fields, at: now))
                }
            } else {
                mapsWithoutPath.remove(health.map.name)
            }
        }
        for key in open.keys where !present.contains(key) {
            if var episode = open.removeValue(forKey: key) {
                episode.ended = now
                remember(episode)
            }
        }
        mapsWithoutPath = mapsWithoutPath.filter { name in topology.maps.contains { $0.name == name } }
        observedOnce = true
        return events
    }

    /// Its part of the daemon's view: open path episodes (root first), then finished ones, newest first.
    public func record(into snapshot: inout DaemonSnapshot, at now: Moment) {
        snapshot.pathEpisodes = (openEpisodes + finished.reversed()).map { episode in
            DaemonSnapshot.PathEpisode(
                map: episode.map, disk: episode.disk, session: episode.session, portal: episode.portal,
                root: !episode.carries.isEmpty, cause: episode.cause, startedMicroseconds: episode.started.wallMicroseconds,
                startedBeforeDaemon: episode.startedBeforeObservation, endedMicroseconds: episode.ended?.wallMicroseconds,
                seconds: DaemonSnapshot.seconds(episode.elapsed(at: now)))
        }
    }

    private mutating func remember(_ episode: PathEpisode) {
        finished.append(episode)
        if finished.count > historyLimit { finished.removeFirst(finished.count - historyLimit) }
    }

    /// MULTIPATH_MAP, PATHS_UP, PATHS_TOTAL, ROOT and, for one path, DEVICE, SCSI_DEVICE, STATE and its session's fields.
    static func fields(_ health: MapHealth, path: MultipathPath?) -> [JournalField: String] {
        var fields: [JournalField: String] = [
            .multipathMap: health.map.name, .pathsUp: String(health.up.count), .pathsTotal: String(health.paths.count),
        ]
        if health.isRoot { fields[.root] = "1" }
        guard let path else { return fields }
        fields[.device] = path.disk
        if let device = path.device {
            fields[.scsiDevice] = device.hctl.description
            fields[.state] = device.state.value?.description ?? "unknown"
        }
        if let session = path.session {
            // ROOT is the map's; a path session's own carries nothing.
            fields.merge(JournalField.identifying(session, host: nil, carries: [])) { a, _ in a }
        }
        return fields
    }
}
