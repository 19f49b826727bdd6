/// One outage of one session: from the first sign (session FAILED, host in recovery, a disk
/// blocked) to LOGGED_IN again, noting when I/O started to fail (FREE, transport-offline).
public struct RecoveryEpisode: Sendable, Hashable {
    public let session: Int
    public let target: String?
    /// The critical uses (/, /usr, swap) on the session's disks when it started.
    public let carries: [StorageUse]
    public let started: Moment
    /// What was seen first: "session FAILED", "sda blocked", "host2 recovery".
    public let cause: String
    public let recoveryTimeout: RecoveryTimeout?
    /// The session was already in trouble when the daemon started: the real start is earlier.
    public let startedBeforeObservation: Bool
    public internal(set) var lost: Moment?
    public internal(set) var ended: Moment?

    /// How long it has lasted (until `now`, or until it ended).
    public func elapsed(at now: Moment) -> Duration { (ended ?? now).since(started) }

    /// Time left before I/O errors: recovery_tmo − elapsed; nil when the timeout is off or unknown,
    /// zero once I/O fails.
    public func timeLeft(at now: Moment) -> Duration? {
        if lost != nil { return .zero }
        guard case .seconds(let seconds) = recoveryTimeout else { return nil }
        let left = Duration.seconds(seconds) - elapsed(at: now)
        return left > .zero ? left : .zero
    }

    public var isOpen: Bool { ended == nil }
}

/// Turns successive topologies into recovery episodes and journal events for direct sessions
/// (multipath path sessions are `PathTracker`'s). Pure: time is given.
/// The kernel sends no event when sessions or disks change state, so this works on polled
/// snapshots.
public struct RecoveryTracker: Sendable {
    /// Open episodes by session number.
    public private(set) var open: [Int: RecoveryEpisode] = [:]
    /// Finished episodes, newest last, at most `historyLimit`.
    public private(set) var finished: [RecoveryEpisode] = []
    public let historyLimit: Int
    /// Episodes and their durations per session, for the metrics.
    public private(set) var statistics = RecoveryStatistics()
    private var lastSessionStates: [Int: String] = [:]
    private var observedOnce = false

    public init(historyLimit: Int = 20) {
        self.historyLimit = historyLimit
    }

    /// Open episodes, root sessions first.
    public var openEpisodes: [RecoveryEpisode] {
        open.values.sorted { a, b in
            if a.carries.isEmpty != b.carries.isEmpty { return !a.carries.isEmpty }
            return a.session < b.session
        }
    }

    /// Compares `topology` with what was seen before and returns what changed, root sessions first.
    public mutating func update(_ topology: Topology, at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        let devicesBySession = Dictionary(grouping: topology.iscsiDevices, by: { $0.sessionNumber ?? -1 })
        // Path sessions are PathTracker's: their FAILED and FREE are multipath failing over.
        let sessions = topology.sessions.filter { !topology.isPathSession($0.number) }.sorted { a, b in
            let aRoot = !topology.criticalUses(ofSession: a.number).isEmpty
            let bRoot = !topology.criticalUses(ofSession: b.number).isEmpty
            return aRoot != bRoot ? aRoot : a.number < b.number
        }
        for session in sessions {
            events += update(session, devices: devicesBySession[session.number] ?? [], topology: topology, at: now)
        }
        let present = Set(topology.sessions.map(\.number))
        for number in open.keys where !present.contains(number) {
            if var episode = open.removeValue(forKey: number) {
                episode.ended = now
                remember(episode)
            }
        }
        lastSessionStates = lastSessionStates.filter { present.contains($0.key) }
        statistics.keep(present: present)
        observedOnce = true
        return events
    }

    private mutating func update(_ session: ISCSISession, devices: [SCSIDevice], topology: Topology,
                                 at now: Moment) -> [HealthEvent] {
        let host = session.hostNumber.flatMap(topology.host)
        let state = session.state.value
        let carries = topology.criticalUses(ofSession: session.number)
        let previousState = lastSessionStates[session.number]
        lastSessionStates[session.number] = state?.description ?? "unknown"

        var recoverySigns: [String] = []
        var lossSigns: [String] = []
        switch state {
        case .failed: recoverySigns.append("session FAILED")
        // A new session is FREE until its login completes: only FREE after LOGGED_IN or FAILED is a loss.
        case .free where previousState == "LOGGED_IN" || previousState == "FAILED" || open[session.number] != nil:
            lossSigns.append("session FREE (recovery timed out)")
        default: break
        }
        if case .value(.recovery(let hostState)) = host?.state { recoverySigns.append("\(host!.name) \(hostState)") }
        for device in devices {
            switch device.state.value {
            case .blocked: recoverySigns.append("\(device.displayName) blocked")
            case .transportOffline: lossSigns.append("\(device.displayName) transport-offline")
            case .offline: lossSigns.append("\(device.displayName) offline")
            default: break
            }
        }

        var fields = topology.journalFields(of: session, carries: carries)
        fields[.state] = state?.description ?? "unknown"
        if let previousState { fields[.previousState] = previousState }
        let name = ISCSISession.name(session.number, root: !carries.isEmpty)
        var events: [HealthEvent] = []

        if open[session.number] == nil, !(recoverySigns.isEmpty && lossSigns.isEmpty) {
            let episode = RecoveryEpisode(
                session: session.number, target: session.targetName.value, carries: carries, started: now,
                cause: (recoverySigns + lossSigns)[0], recoveryTimeout: session.recoveryTimeout.value,
                startedBeforeObservation: !observedOnce, lost: nil, ended: nil)
            open[session.number] = episode
            statistics.episodeStarted(session: session.number)
            let left = episode.recoveryTimeout.map { $0 == .off ? "never (recovery_tmo off)" : "in \($0) s" } ?? "at an unknown time"
            events.append(HealthEvent(.sessionFailed,
                "\(name) in recovery (\(episode.cause)): I/O waits; I/O errors \(left)",
                fields: fields, at: now))
            if !carries.isEmpty {
                events.append(HealthEvent(.rootAtRisk,
                    "\(carries.listed) at risk: \(session.name) to \(session.targetName.value ?? "?") is in recovery",
                    fields: fields, at: now))
            }
        }
        if var episode = open[session.number] {
            if episode.lost == nil, !lossSigns.isEmpty {
                episode.lost = now
                open[session.number] = episode
                var lostFields = fields
                lostFields[.durationMicroseconds] = String(episode.elapsed(at: now).microseconds)
                events.append(HealthEvent(.ioFailing,
                    "\(name): I/O is failing (\(lossSigns.joined(separator: ", "))) after \(episode.elapsed(at: now).humanReadable) in recovery",
                    fields: lostFields, at: now))
            }
            let healthy = state == .loggedIn && recoverySigns.isEmpty && lossSigns.isEmpty
            if healthy {
                episode.ended = now
                open[session.number] = nil
                remember(episode)
                var endFields = fields
                endFields[.durationMicroseconds] = String(episode.elapsed(at: now).microseconds)
                let lostNote = episode.lost.map { " (I/O failed from \($0.since(episode.started).humanReadable) on)" } ?? ""
                events.append(HealthEvent(.sessionRecovered,
                    "\(name) recovered: LOGGED_IN after \(episode.elapsed(at: now).humanReadable)\(lostNote)",
                    fields: endFields, at: now))
            }
        }
        return events
    }

    /// An open episode's time left: "never" (`.infinity`) only when recovery_tmo is off; nil when it is
    /// unknown, so the view, the state file and the metrics say unknown rather than never.
    private func secondsLeft(_ episode: RecoveryEpisode, at now: Moment) -> Double? {
        if let left = episode.timeLeft(at: now) { return DaemonSnapshot.seconds(left) }
        return episode.recoveryTimeout == .off ? .infinity : nil
    }

    /// Its part of the daemon's view: open episodes (root first), then finished ones, newest
    /// first; the counters behind the metrics.
    public func record(into snapshot: inout DaemonSnapshot, at now: Moment) {
        snapshot.episodes = (openEpisodes + finished.reversed()).map { episode in
            DaemonSnapshot.Episode(
                session: ISCSISession.name(episode.session), target: episode.target, root: !episode.carries.isEmpty,
                cause: episode.cause, startedMicroseconds: episode.started.wallMicroseconds,
                startedBeforeDaemon: episode.startedBeforeObservation,
                ioFailingSinceMicroseconds: episode.lost?.wallMicroseconds, endedMicroseconds: episode.ended?.wallMicroseconds,
                seconds: DaemonSnapshot.seconds(episode.elapsed(at: now)),
                secondsLeft: episode.isOpen ? secondsLeft(episode, at: now) : nil)
        }
        snapshot.recovery = statistics.snapshot
    }

    private mutating func remember(_ episode: RecoveryEpisode) {
        finished.append(episode)
        statistics.episodeEnded(episode)
        if finished.count > historyLimit { finished.removeFirst(finished.count - historyLimit) }
    }
}
