import SystemPackage

/// `<state-dir>/state.json`: the one table per record of `DaemonSnapshot` (key, where the value
/// lives, its range) that both `json` and `read(json:)` are made from (`StateSchema`). The file
/// survives daemon restarts (`RuntimeDirectoryPreserve=restart`), so reading never crashes and
/// never refuses the whole file for one member: a bad member is a warning naming it and keeps its
/// default; the rest, the damage record above all, is kept.
extension DaemonSnapshot {
    // MARK: Ranges (each the type of what the value counts)

    /// Microseconds since the epoch: 1970 to the year 9999.
    static let wallRange: ClosedRange<Int64> = 0...253_402_300_799_999_999
    /// Durations in seconds: up to about 31 700 years, so that whole seconds fit any Int.
    static let secondsRange: ClosedRange<Double> = 0...1e12
    /// What the daemon counts itself (corrections, episodes, losses).
    static let countRange: ClosedRange<Int> = 0...Int.max
    /// A kernel `unsigned int` (u32): requests in flight, ext4 `errors_count`.
    static let kernelU32Range: ClosedRange<Int> = 0...Int(UInt32.max)
    /// A process ID (`pid_t`), 0 for unknown (every default is a value the writer writes as is).
    static let pidRange: ClosedRange<Int32> = 0...Int32.max

    // MARK: Codecs

    static var wall: StateCodec<Int64> { .integer(wallRange) }
    static var seconds: StateCodec<Double> { .seconds(secondsRange) }
    static var strings: StateCodec<[String]> { .array(.string) }

    /// Seconds until I/O fails: a number (negative when overdue), "never" (`.infinity`), or null.
    static var secondsLeft: StateCodec<Double?> {
        let number = StateCodec<Double>.seconds(-secondsRange.upperBound...secondsRange.upperBound)
        return StateCodec(encode: { left in
            guard let left else { return .null }
            return left == .infinity ? .string("never") : number.encode(left)
        }) { member, warnings in
            if member.value == .null { return .some(nil) }
            if member.value == .string("never") { return .some(.infinity) }
            return number.decode(member, &warnings).map { .some($0) }
        }
    }

    // MARK: Tables

    static let configTable = StateSchema(Config(), [
        .init("files", \.files, strings),
        .init("timeout", \.timeout, .integer(0...86400)),
        .init("scheduler", \.scheduler, .string),
        .init("types", \.types, .array(.integer(0...31))),
        .init("verify_interval", \.verifyInterval, seconds),
        .init("stall_threshold", \.stallThreshold, seconds),
        .init("recovery_timeout", \.recoveryTimeout, .string),
    ])

    static let episodeTable = StateSchema(Episode(), [
        .init("session", \.session, .string),
        .init("target", \.target, .optional(.string)),
        .init("root", \.root, .bool),
        .init("cause", \.cause, .string),
        .init("started_usec", \.startedMicroseconds, wall),
        .init("started_before_daemon", \.startedBeforeDaemon, .bool),
        .init("io_failing_since_usec", \.ioFailingSinceMicroseconds, .optional(wall)),
        .init("ended_usec", \.endedMicroseconds, .optional(wall)),
        .init("seconds", \.seconds, seconds),
        .init("seconds_left", \.secondsLeft, secondsLeft),
    ])

    static let pathEpisodeTable = StateSchema(PathEpisode(), [
        .init("map", \.map, .string),
        .init("disk", \.disk, .string),
        .init("session", \.session, .optional(.string)),
        .init("portal", \.portal, .optional(.string)),
        .init("root", \.root, .bool),
        .init("cause", \.cause, .string),
        .init("started_usec", \.startedMicroseconds, wall),
        .init("started_before_daemon", \.startedBeforeDaemon, .bool),
        .init("ended_usec", \.endedMicroseconds, .optional(wall)),
        .init("seconds", \.seconds, seconds),
    ])

    static let stallTable = StateSchema(Stall(), [
        .init("disk", \.disk, .string),
        .init("since", \.sinceMicroseconds, wall),
        .init("seconds", \.seconds, seconds),
        .init("inflight", \.inflight, .integer(kernelU32Range)),
        .init("root", \.root, .bool),
        .init("session", \.session, .optional(.string), absentInOlderFiles: true),
    ])

    static let damageTable = StateSchema(Damage(), [
        .init("device", \.device, .string),
        .init("mount_points", \.mountPoints, strings),
        .init("root", \.root, .bool),
        .init("since_usec", \.sinceMicroseconds, wall),
        .init("cause", \.cause, .string),
        .init("after_recovery_timeout_of", \.afterRecoveryTimeoutOf, .optional(.string)),
        .init("message", \.message, .string),
    ])

    static let memoryTable = StateSchema(Memory(), [
        .init("locked_kib", \.lockedKiB, .optional(.integer(countRange))),
        .init("resident_kib", \.residentKiB, .optional(.integer(countRange))),
    ])

    static let eventTable = StateSchema(Event(), [
        .init("time_usec", \.timeMicroseconds, wall),
        .init("kind", \.kind, .string),
        .init("priority", \.priority, .integer(0...7)),
        .init("message", \.message, .string),
    ])

    static let networkPathTable = StateSchema(Network.Path(), [
        .init("session", \.session, .string),
        .init("root", \.root, .bool),
        .init("portal", \.portal, .optional(.string)),
        .init("local_address", \.localAddress, .optional(.string)),
        .init("interface", \.interface, .optional(.string)),
        .init("route", \.route, .string),
        .init("reachable", \.reachable, .bool),
        .init("problems", \.problems, strings),
    ])

    static let networkEpisodeTable = StateSchema(Network.Episode(), [
        .init("session", \.session, .string),
        .init("root", \.root, .bool),
        .init("interface", \.interface, .optional(.string)),
        .init("cause", \.cause, .string),
        .init("started_usec", \.startedMicroseconds, wall),
        .init("cut_off", \.cutOff, .bool),
        .init("losses", \.losses, .integer(countRange)),
        .init("restored_usec", \.restoredMicroseconds, .optional(wall)),
        .init("ended_usec", \.endedMicroseconds, .optional(wall)),
        .init("seconds", \.seconds, seconds),
        .init("consequences", \.consequences, strings),
    ])

    static let networkTable = StateSchema(Network(), [
        .init("events", \.events, .string),
        .init("sessions", \.sessions, .array(networkPathTable.codec)),
        .init("episodes", \.episodes, .array(networkEpisodeTable.codec)),
    ])

    static let bucketTable = StateSchema(Recovery.Bucket(), [
        .init("le", \.le, seconds),
        .init("count", \.count, .integer(countRange)),
    ])

    static let recoveryCountsTable = StateSchema(Recovery(), [
        .init("session", \.session, .string),
        .init("episodes", \.episodes, .integer(countRange)),
        .init("finished", \.finished, .integer(countRange)),
        .init("seconds_sum", \.secondsSum, seconds),
        .init("buckets", \.buckets, .array(bucketTable.codec)),
    ])

    /// The whole file. Members marked `absentInOlderFiles` came later: a file without them is read
    /// with their defaults and no warning.
    static let fileTable = StateSchema(DaemonSnapshot(), [
        .init("pid", \.pid, .integer(pidRange)),
        .init("boot_id", \.bootID, .string),
        .init("started_usec", \.startedMicroseconds, wall),
        .init("updated_usec", \.updatedMicroseconds, wall),
        .init("device_events", \.deviceEvents, .string),
        .init("session_events", \.sessionEvents, .string),
        .init("poll_interval", \.pollInterval, seconds),
        .init("status_line", \.statusLine, .string),
        .init("config", \.config, configTable.codec),
        .init("episodes", \.episodes, .array(episodeTable.codec)),
        .init("path_episodes", \.pathEpisodes, .array(pathEpisodeTable.codec), absentInOlderFiles: true),
        .init("stalls", \.stalls, .array(stallTable.codec)),
        .init("damage", \.damage, .array(damageTable.codec)),
        .init("kernel_seqnum", \.kernelSequence, .optional(.integer(0...UInt64.max))),
        .init("ext4_baseline", \.ext4Baseline, .dictionary(.integer(kernelU32Range))),
        .init("corrections", \.corrections, .integer(countRange)),
        .init("tuning_failures", \.tuningFailures, .integer(countRange)),
        .init("audit_problems", \.auditProblems, strings),
        .init("memory", \.memory, memoryTable.codec),
        .init("recent_events", \.recentEvents, .array(eventTable.codec)),
        .init("network", \.network, networkTable.codec, absentInOlderFiles: true),
        .init("version", \.version, .string, absentInOlderFiles: true),
        .init("last_poll_usec", \.lastPollMicroseconds, .optional(wall), absentInOlderFiles: true),
        .init("recovery", \.recovery, .array(recoveryCountsTable.codec), absentInOlderFiles: true),
    ])

    // MARK: Writing and reading

    public var json: JSONValue { Self.fileTable.json(self) }

    /// Reads every member the daemon writes, each range-checked on its own: what cannot be used is
    /// a warning naming it (`episodes[0].seconds: 1e+300 is not within 0.0...1000000000000.0`) and
    /// keeps its default. Nil (with the warning) when `json` is not an object at all.
    public static func read(json: JSONValue) -> (snapshot: DaemonSnapshot, warnings: [String])? {
        var warnings: [String] = []
        guard let snapshot = fileTable.read(StateMember(json, ""), warnings: &warnings) else { return nil }
        return (snapshot, warnings)
    }

    /// The state file is small (30 events, 20 past episodes, one entry per open episode, stall and
    /// damaged file system); anything larger is not one.
    public static let maximumSize = 16 << 20

    /// Reads `<directory>/state.json`: nil when there is none; an error naming the file when it is
    /// unreadable, not a regular file (a link is not followed), too large, or not a JSON object;
    /// else the snapshot and a warning (naming the file) for each member that could not be used.
    public static func read(directory: String) -> Result<(snapshot: DaemonSnapshot, warnings: [String]), StateFileError>? {
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + fileName
        let text: String
        switch FileTree.absolute.read(path, limit: maximumSize, followLinks: false) {
        case .success(let contents): text = contents
        case .failure(let error) where error.errno == .noSuchFileOrDirectory && error.detail == nil: return nil
        case .failure(let error): return .failure(StateFileError(description: "cannot read \(path): \(error.reason)"))
        }
        guard let json = JSONValue(parsing: text) else {
            return .failure(StateFileError(description: "\(path) is not a daemon state file (not JSON)"))
        }
        guard let (snapshot, warnings) = read(json: json) else {
            return .failure(StateFileError(description: "\(path) is not a daemon state file (not a JSON object)"))
        }
        return .success((snapshot, warnings.map { "\(path): \($0) (ignored)" }))
    }
}
