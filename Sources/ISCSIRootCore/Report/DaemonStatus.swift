/// The daemon's state file as `status` sees it: whether the daemon runs, and what it knows that a
/// one-shot look at sysfs cannot (episodes, stalls, damaged file systems).
public struct DaemonStatus: Sendable {
    /// The state file, range-checked.
    public let file: DaemonStateFile
    /// The daemon's pid is alive.
    public let running: Bool
    /// The file is from this boot.
    public let sameBoot: Bool

    /// The whole state file, shown as `daemon.state` in `status --json` (written by the same code
    /// as the file, from the checked values).
    public var state: JSONValue { file.json }

    /// Reads `<stateDirectory>/state.json`; nil when there is none (the daemon never ran).
    /// A file that cannot be used is reported as such, naming the value.
    public static func read(stateDirectory: String, system: FileTree) -> Result<DaemonStatus, StateFileError>? {
        switch DaemonStateFile.read(directory: stateDirectory) {
        case nil: return nil
        case .failure(let error)?: return .failure(error)
        case .success(let file)?:
            let bootID = system.attribute("proc/sys/kernel/random/boot_id").value
            let sameBoot = bootID == nil || file.bootID == bootID
            let running = sameBoot && system.exists("proc/\(file.pid)")
            return .success(DaemonStatus(file: file, running: running, sameBoot: sameBoot))
        }
    }

    /// Findings only the daemon can know: damage (this boot, even if the daemon stopped) and, while it
    /// runs, stalled I/O and root sessions cut off from their portals.
    public var findings: [Finding] {
        guard sameBoot else { return [] }
        var findings = file.damage.map { Finding(.critical, $0.device, $0.message, concernsRoot: $0.root) }
        if running {
            for path in file.network.sessions where !path.reachable {
                findings.append(Finding(path.root ? .critical : .warning, path.session,
                    "cannot reach its portal \(path.portal ?? "?"): \(path.problems.joined(separator: "; ")) (as of the daemon's last look)",
                    concernsRoot: path.root))
            }
            for stall in file.stalls {
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
        for stall in file.stalls {
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
            lines.append("daemon: running, pid \(file.pid), since \(WallClock.format(microseconds: file.startedMicroseconds)); \(file.deviceEvents), \(file.sessionEvents)")
            if !file.statusLine.isEmpty { lines.append("daemon says: \(file.statusLine)") }
        } else {
            lines.append("daemon: NOT RUNNING (pid \(file.pid) is gone; state as of \(WallClock.format(microseconds: file.updatedMicroseconds)))")
        }
        if file.corrections + file.tuningFailures > 0 {
            lines.append("daemon: \(file.corrections) drift corrections, \(file.tuningFailures) tuning failures")
        }
        for episode in file.episodes.prefix(5) {
            if let ended = episode.endedMicroseconds {
                lines.append("past outage: \(episode.session) \(Int(episode.seconds)) s (\(episode.cause)), ended \(WallClock.format(microseconds: ended))")
            } else {
                let left = episode.secondsLeft.map { $0.isInfinite ? "never" : "\(Int($0)) s" } ?? "?"
                lines.append("outage: \(episode.session) in recovery for \(Int(episode.seconds)) s (\(episode.cause)); I/O errors in \(left)")
            }
        }
        for episode in file.pathEpisodes.prefix(5) {
            let path = "\(episode.disk) via \(episode.session ?? "?") of \(episode.map)"
            if let ended = episode.endedMicroseconds {
                lines.append("past path outage: \(path) \(Int(episode.seconds)) s (\(episode.cause)), back \(WallClock.format(microseconds: ended))")
            } else {
                lines.append("path down: \(path) for \(Int(episode.seconds)) s (\(episode.cause))")
            }
        }
        if running {
            for path in file.network.sessions {
                lines.append("network: \(path.session) from \(path.localAddress ?? "unknown address") on \(path.interface ?? "unknown interface") to \(path.portal ?? "?"): route \(path.route)")
            }
        }
        for episode in file.network.episodes.prefix(3) {
            let flaps = episode.losses > 1 ? ", lost \(episode.losses) times" : ""
            if episode.cutOff {
                lines.append("network outage: \(episode.session) cut off for \(Int(episode.seconds)) s (\(episode.cause)\(flaps))")
            } else {
                let back = episode.restoredMicroseconds.map { WallClock.format(microseconds: $0) } ?? "?"
                lines.append("past network outage: \(episode.session) \(Int(episode.seconds)) s (\(episode.cause)\(flaps)), back \(back)")
            }
        }
        for event in file.recentEvents.suffix(5) {
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
