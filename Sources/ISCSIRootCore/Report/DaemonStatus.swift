/// The daemon's state file as `status` sees it: whether the daemon runs, whether its view is
/// current, and what it knows that a one-shot look at sysfs cannot (episodes, stalls, damaged file
/// systems).
public struct DaemonStatus: Sendable {
    /// The daemon's last view, range-checked member by member.
    public let snapshot: DaemonSnapshot
    /// The daemon's pid is alive.
    public let running: Bool
    /// The file is from this boot.
    public let sameBoot: Bool
    /// Members of the file that could not be used, each named (their defaults were kept).
    public let warnings: [String]
    /// How old the view is, when the daemon runs and it is older than the daemon's own promise
    /// (`staleAfter`): it has stopped writing. Nil while the view is current.
    public let stale: Staleness?

    /// A view the daemon should have replaced by now.
    public struct Staleness: Sendable, Hashable {
        public let seconds: Int64
        /// Why the file system under the state directory cannot take the file ("full",
        /// "read-only"), when that is why; nil: it could, so the daemon is not answering.
        public let cannotWrite: String?
        public let directory: String

        /// "daemon's view is 42 s old: it cannot write its state (/run/iscsi-rootd is full)".
        public var message: String {
            "daemon's view is \(seconds) s old: " + (cannotWrite.map { "it cannot write its state (\(directory) is \($0))" }
                ?? "it is not answering (its process runs but writes no state)")
        }
    }

    public init(snapshot: DaemonSnapshot, running: Bool, sameBoot: Bool, warnings: [String] = [], stale: Staleness? = nil) {
        self.snapshot = snapshot
        self.running = running
        self.sameBoot = sameBoot
        self.warnings = warnings
        self.stale = stale
    }

    /// The whole state file, shown as `daemon.state` in `status --json` (written by the same code
    /// as the file, from the checked values).
    public var state: JSONValue { snapshot.json }

    /// Seconds after its last write when a running daemon's view is stale: it writes at least once
    /// a poll interval (the one in force, which it writes too), so three of them and two seconds
    /// of slack for a slow scan have passed without a write only when it cannot write or is stuck.
    public static func staleAfter(pollInterval: Double) -> Int64 {
        Int64(3 * min(max(pollInterval, 1), DaemonSnapshot.secondsRange.upperBound)) + 2
    }

    /// Reads `<stateDirectory>/state.json`; nil when there is none (the daemon never ran).
    /// A file that cannot be used at all is reported as such; a member that cannot, as a warning
    /// naming it. `nowMicroseconds` (wall clock) dates the view.
    public static func read(stateDirectory: String, system: FileTree, nowMicroseconds: Int64)
        -> Result<DaemonStatus, StateFileError>? {
        switch DaemonSnapshot.read(directory: stateDirectory) {
        case nil: return nil
        case .failure(let error)?: return .failure(error)
        case .success(let (snapshot, warnings))?:
            let bootID = system.attribute("proc/sys/kernel/random/boot_id").value
            let sameBoot = bootID == nil || snapshot.bootID == bootID
            let running = sameBoot && snapshot.pid > 0 && system.exists("proc/\(snapshot.pid)")
            var stale: Staleness?
            let age = nowMicroseconds / 1_000_000 - snapshot.updatedMicroseconds / 1_000_000
            if running, age > staleAfter(pollInterval: snapshot.pollInterval) {
                let bytes = snapshot.json.serialized(pretty: true).utf8.count
                stale = Staleness(seconds: age, cannotWrite: FileTree.absolute.cannotTakeWrites(stateDirectory, bytes: bytes),
                                  directory: stateDirectory)
            }
            return .success(DaemonStatus(snapshot: snapshot, running: running, sameBoot: sameBoot, warnings: warnings,
                                         stale: stale))
        }
    }

    /// Findings only the daemon can know: damage (this boot, even if the daemon stopped) and, while it
    /// runs, stalled I/O and root sessions cut off from their portals.
    /// A stale view makes the verdict UNKNOWN at best: what only the daemon knows (stalls, damage,
    /// episodes) may have changed since.
    public var findings: [Finding] {
        var findings = warnings.map { Finding(.warning, "daemon", $0) }
        if let stale { findings.append(Finding(.unknown, "daemon", stale.message)) }
        guard sameBoot else { return findings }
        findings += snapshot.damage.map { Finding(.critical, $0.device, $0.message, concernsRoot: $0.root) }
        if running {
            for path in snapshot.network.sessions where !path.reachable {
                findings.append(Finding(path.root ? .critical : .warning, path.session,
                    "cannot reach its portal \(path.portal ?? "?"): \(path.problems.joined(separator: "; ")) (as of the daemon's last look)",
                    concernsRoot: path.root))
            }
            for stall in snapshot.stalls {
                findings.append(Finding(stall.root ? .critical : .warning, stall.disk,
                    "I/O stalled \(Int(stall.seconds)) s with \(stall.inflight) requests in flight (as of the daemon's last look)",
                    concernsRoot: stall.root))
            }
        }
        return findings
    }

    /// `stall` objects by disk name, for `disks[].stall` in `status --json`.
    public var stallsByDisk: [String: JSONValue] {
        guard running else { return [:] }
        var result: [String: JSONValue] = [:]
        for stall in snapshot.stalls {
            result[stall.disk] = .object([("since", .int(Int(stall.sinceMicroseconds))), ("seconds", .double(stall.seconds)),
                                          ("inflight", .int(stall.inflight))])
        }
        return result
    }

    /// The daemon's part of the text output.
    public var lines: [String] {
        if !sameBoot {
            return ["daemon: not running (state file from another boot)"]
        }
        var lines: [String] = []
        if running {
            lines.append("daemon: running, pid \(snapshot.pid), since \(WallClock.format(microseconds: snapshot.startedMicroseconds)); \(snapshot.deviceEvents), \(snapshot.sessionEvents)")
            if let stale { lines.append(stale.message + " (as of \(WallClock.format(microseconds: snapshot.updatedMicroseconds)))") }
            if !snapshot.statusLine.isEmpty { lines.append("daemon says: \(snapshot.statusLine)") }
        } else {
            lines.append("daemon: NOT RUNNING (pid \(snapshot.pid) is gone; state as of \(WallClock.format(microseconds: snapshot.updatedMicroseconds)))")
        }
        if snapshot.corrections > 0 || snapshot.tuningFailures > 0 {
            lines.append("daemon: \(snapshot.corrections) drift corrections, \(snapshot.tuningFailures) tuning failures")
        }
        for episode in snapshot.episodes.prefix(5) {
            if let ended = episode.endedMicroseconds {
                lines.append("past outage: \(episode.session) \(Int(episode.seconds)) s (\(episode.cause)), ended \(WallClock.format(microseconds: ended))")
            } else {
                let left = episode.secondsLeft.map { $0.isInfinite ? "never" : "\(Int($0)) s" } ?? "?"
                lines.append("outage: \(episode.session) in recovery for \(Int(episode.seconds)) s (\(episode.cause)); I/O errors in \(left)")
            }
        }
        for episode in snapshot.pathEpisodes.prefix(5) {
            let path = "\(episode.disk) via \(episode.session ?? "?") of \(episode.map)"
            if let ended = episode.endedMicroseconds {
                lines.append("past path outage: \(path) \(Int(episode.seconds)) s (\(episode.cause)), back \(WallClock.format(microseconds: ended))")
            } else {
                lines.append("path down: \(path) for \(Int(episode.seconds)) s (\(episode.cause))")
            }
        }
        if running {
            for path in snapshot.network.sessions {
                lines.append("network: \(path.session) from \(path.localAddress ?? "unknown address") on \(path.interface ?? "unknown interface") to \(path.portal ?? "?"): route \(path.route)")
            }
        }
        for episode in snapshot.network.episodes.prefix(3) {
            let flaps = episode.losses > 1 ? ", lost \(episode.losses) times" : ""
            if episode.cutOff {
                lines.append("network outage: \(episode.session) cut off for \(Int(episode.seconds)) s (\(episode.cause)\(flaps))")
            } else {
                let back = episode.restoredMicroseconds.map { WallClock.format(microseconds: $0) } ?? "?"
                lines.append("past network outage: \(episode.session) \(Int(episode.seconds)) s (\(episode.cause)\(flaps)), back \(back)")
            }
        }
        for event in snapshot.recentEvents.suffix(5) {
            lines.append("event \(WallClock.format(microseconds: event.timeMicroseconds)): \(event.message)")
        }
        return lines
    }
}

/// A state file that exists but cannot be used.
public struct StateFileError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}
