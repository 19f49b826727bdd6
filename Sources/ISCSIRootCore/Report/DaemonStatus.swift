/// The daemon's state file as `status` sees it: whether the daemon runs, and what it knows that a
/// one-shot look at sysfs cannot (episodes, stalls, damaged file systems).
public struct DaemonStatus: Sendable {
    /// The whole state file, shown as `daemon` in `status --json`.
    public let state: JSONValue
    /// The daemon's pid is alive.
    public let running: Bool
    /// The file is from this boot.
    public let sameBoot: Bool

    /// Reads `<stateDirectory>/state.json`; nil when there is none (the daemon never ran).
    /// A file that cannot be parsed is reported as such.
    public static func read(stateDirectory: String, system: FileTree) -> Result<DaemonStatus, StateFileError>? {
        let path = stateDirectory.hasSuffix("/") ? stateDirectory + DaemonState.fileName : stateDirectory + "/" + DaemonState.fileName
        let text: String
        switch FileTree(root: "").read(path) {
        case .success(let contents): text = contents
        case .failure(let error) where error.errno == .noSuchFileOrDirectory: return nil
        case .failure(let error): return .failure(StateFileError(description: "cannot read \(path): \(error.reason)"))
        }
        guard let state = JSONValue(parsing: text), let pid = state["pid"]?.intValue else {
            return .failure(StateFileError(description: "\(path) is not a daemon state file"))
        }
        let bootID = system.attribute("proc/sys/kernel/random/boot_id").value
        let sameBoot = bootID == nil || state["boot_id"]?.stringValue == bootID
        let running = sameBoot && system.exists("proc/\(pid)")
        return .success(DaemonStatus(state: state, running: running, sameBoot: sameBoot))
    }

    /// Findings only the daemon can know: damage (this boot, even if the daemon stopped) and, while it
    /// runs, stalled I/O.
    public var findings: [Finding] {
        guard sameBoot else { return [] }
        var findings: [Finding] = []
        for damage in state["damage"]?.arrayValue ?? [] {
            findings.append(Finding(.critical, damage["device"]?.stringValue ?? "?",
                                    damage["message"]?.stringValue ?? "file system damaged",
                                    concernsRoot: damage["root"]?.boolValue ?? false))
        }
        if running {
            for stall in state["stalls"]?.arrayValue ?? [] {
                let root = stall["root"]?.boolValue ?? false
                let seconds = Int(stall["seconds"]?.doubleValue ?? 0)
                findings.append(Finding(root ? .critical : .warning, stall["disk"]?.stringValue ?? "?",
                    "I/O stalled \(seconds) s with \(stall["inflight"]?.intValue ?? 0) requests in flight (as of the daemon's last look)",
                    concernsRoot: root))
            }
        }
        return findings
    }

    /// `stall` objects by disk name, for `disks[].stall` in `status --json`.
    public var stallsByDisk: [String: JSONValue] {
        guard running else { return [:] }
        var result: [String: JSONValue] = [:]
        for stall in state["stalls"]?.arrayValue ?? [] {
            guard let disk = stall["disk"]?.stringValue else { continue }
            result[disk] = .object([("since", stall["since"] ?? .null), ("seconds", stall["seconds"] ?? .null),
                                    ("inflight", stall["inflight"] ?? .null)])
        }
        return result
    }

    /// The daemon's part of the text output.
    public var lines: [String] {
        var lines: [String] = []
        let pid = state["pid"]?.intValue ?? 0
        let started = state["started_usec"]?.intValue.map { WallClock.format(microseconds: Int64($0)) } ?? "?"
        let updated = state["updated_usec"]?.intValue.map { WallClock.format(microseconds: Int64($0)) } ?? "?"
        if !sameBoot {
            return ["daemon: not running (state file from another boot)"]
        }
        if running {
            lines.append("daemon: running, pid \(pid), since \(started); \(state["device_events"]?.stringValue ?? "?"), \(state["session_events"]?.stringValue ?? "?")")
            if let line = state["status_line"]?.stringValue, !line.isEmpty { lines.append("daemon says: \(line)") }
        } else {
            lines.append("daemon: NOT RUNNING (pid \(pid) is gone; state as of \(updated))")
        }
        let corrections = state["corrections"]?.intValue ?? 0
        let failures = state["tuning_failures"]?.intValue ?? 0
        if corrections + failures > 0 { lines.append("daemon: \(corrections) drift corrections, \(failures) tuning failures") }
        for episode in (state["episodes"]?.arrayValue ?? []).prefix(5) {
            let session = episode["session"]?.stringValue ?? "?"
            let seconds = Int(episode["seconds"]?.doubleValue ?? 0)
            let cause = episode["cause"]?.stringValue ?? "?"
            if episode["ended_usec"] == .null {
                let left = episode["seconds_left"].map { $0.stringValue ?? "\(Int($0.doubleValue ?? 0)) s" } ?? "?"
                lines.append("outage: \(session) in recovery for \(seconds) s (\(cause)); I/O errors in \(left)")
            } else {
                let ended = episode["ended_usec"]?.intValue.map { WallClock.format(microseconds: Int64($0)) } ?? "?"
                lines.append("past outage: \(session) \(seconds) s (\(cause)), ended \(ended)")
            }
        }
        for event in (state["recent_events"]?.arrayValue ?? []).suffix(5) {
            let time = event["time_usec"]?.intValue.map { WallClock.format(microseconds: Int64($0)) } ?? "?"
            lines.append("event \(time): \(event["message"]?.stringValue ?? "")")
        }
        return lines
    }
}

/// A state file that exists but cannot be used.
public struct StateFileError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
