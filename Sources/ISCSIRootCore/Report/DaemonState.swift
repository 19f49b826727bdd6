/// The daemon's own view, written atomically to `<state-dir>/state.json` on every change and
/// read by `status`. Readable by anyone: it never holds secrets.
public struct DaemonState: Sendable {
    public static let fileName = "state.json"

    public var pid: Int32
    /// `/proc/sys/kernel/random/boot_id`: state from another boot is ignored.
    public var bootID: String
    public var startedMicroseconds: Int64
    public var updatedMicroseconds: Int64 = 0
    /// "udev", or "polling" with the reason.
    public var deviceEvents: String
    /// "netlink", or "polling only" with the reason.
    public var sessionEvents: String
    public var pollInterval: Duration = .seconds(5)
    public var configuration: Configuration
    public var configurationFiles: [String]
    public var statusLine = ""
    public var openEpisodes: [RecoveryEpisode] = []
    public var finishedEpisodes: [RecoveryEpisode] = []
    public var stalls: [StallEpisode] = []
    public var damage: [FileSystemDamage] = []
    public var kernelSequence: UInt64?
    public var ext4Baseline: [String: Int] = [:]
    public var corrections = 0
    public var tuningFailures = 0
    public var auditProblems: [String] = []
    /// VmLck and VmRSS in KiB, read once the daemon is up (it locks all its memory).
    public var lockedKiB: Int?
    public var residentKiB: Int?
    /// Newest last.
    public var recentEvents: [HealthEvent] = []

    public init(pid: Int32, bootID: String, startedMicroseconds: Int64, deviceEvents: String, sessionEvents: String,
                configuration: Configuration, configurationFiles: [String]) {
        self.pid = pid
        self.bootID = bootID
        self.startedMicroseconds = startedMicroseconds
        self.deviceEvents = deviceEvents
        self.sessionEvents = sessionEvents
        self.configuration = configuration
        self.configurationFiles = configurationFiles
    }

    /// The state file's JSON; `now` turns open episodes and stalls into seconds.
    public func json(at now: Moment) -> JSONValue {
        .object([
            ("pid", .int(Int(pid))),
            ("boot_id", .string(bootID)),
            ("started_usec", .int(Int(startedMicroseconds))),
            ("updated_usec", .int(Int(updatedMicroseconds))),
            ("device_events", .string(deviceEvents)),
            ("session_events", .string(sessionEvents)),
            ("poll_interval", .double(Double(pollInterval.microseconds) / 1e6)),
            ("status_line", .string(statusLine)),
            ("config", .object([
                ("files", .array(configurationFiles.map(JSONValue.string))),
                ("timeout", .int(configuration.disk.timeout)),
                ("scheduler", .string(configuration.disk.scheduler)),
                ("types", .array(configuration.disk.types.sorted().map(JSONValue.int))),
                ("verify_interval", .double(Double(configuration.verifyInterval.microseconds) / 1e6)),
                ("stall_threshold", .double(Double(configuration.stallThreshold.microseconds) / 1e6)),
                ("recovery_timeout", .string(configuration.recoveryTimeout.description)),
            ])),
            ("episodes", .array((openEpisodes + finishedEpisodes.reversed()).map { episodeJSON($0, now: now) })),
            ("stalls", .array(stalls.map { stall in
                .object([
                    ("disk", .string(stall.disk)),
                    ("since", .int(Int(now.wallMicroseconds - stall.duration(at: now).microseconds))),
                    ("seconds", .double(Double(stall.duration(at: now).microseconds) / 1e6)),
                    ("inflight", .int(stall.inflight)),
                    ("root", .bool(!stall.carries.isEmpty)),
                ])
            })),
            ("damage", .array(damage.map(Self.damageJSON))),
            ("kernel_seqnum", kernelSequence.map { .int(Int($0)) } ?? .null),
            ("ext4_baseline", .object(ext4Baseline.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("corrections", .int(corrections)),
            ("tuning_failures", .int(tuningFailures)),
            ("audit_problems", .array(auditProblems.map(JSONValue.string))),
            ("memory", .object([("locked_kib", .optional(lockedKiB)), ("resident_kib", .optional(residentKiB))])),
            ("recent_events", .array(recentEvents.map { event in
                .object([
                    ("time_usec", .int(Int(event.at.wallMicroseconds))),
                    ("kind", .string(event.kind.rawValue)),
                    ("priority", .int(event.kind.priority)),
                    ("message", .string(event.message)),
                ])
            })),
        ])
    }

    func episodeJSON(_ episode: RecoveryEpisode, now: Moment) -> JSONValue {
        let wall = { (moment: Moment?) -> JSONValue in moment.map { .int(Int($0.wallMicroseconds)) } ?? .null }
        return .object([
            ("session", .string("session\(episode.session)")),
            ("target", .optional(episode.target)),
            ("root", .bool(!episode.carries.isEmpty)),
            ("cause", .string(episode.cause)),
            ("started_usec", wall(episode.started)),
            ("started_before_daemon", .bool(episode.startedBeforeObservation)),
            ("io_failing_since_usec", wall(episode.lost)),
            ("ended_usec", wall(episode.ended)),
            ("seconds", .double(Double(episode.elapsed(at: now).microseconds) / 1e6)),
            ("seconds_left", episode.isOpen ? (episode.timeLeft(at: now).map { .double(Double($0.microseconds) / 1e6) } ?? .string("never")) : .null),
        ])
    }

    static func damageJSON(_ damage: FileSystemDamage) -> JSONValue {
        .object([
            ("device", .string(damage.device)),
            ("mount_points", .array(damage.mountPoints.map(JSONValue.string))),
            ("root", .bool(damage.carriesRoot)),
            ("since_usec", .int(Int(damage.sinceMicroseconds))),
            ("cause", .string(damage.cause)),
            ("after_recovery_timeout_of", .optional(damage.afterRecoveryTimeoutOf)),
            ("message", .string(damage.message)),
        ])
    }

    /// What must outlive a daemon restart within one boot: sticky damage, the last kernel record
    /// handled, ext4 error baselines. Nil for another boot's (or an unreadable) file.
    public static func carriedOver(from json: JSONValue, bootID: String)
        -> (damage: [FileSystemDamage], kernelSequence: UInt64?, ext4Baseline: [String: Int])? {
        guard json["boot_id"]?.stringValue == bootID else { return nil }
        let damage = (json["damage"]?.arrayValue ?? []).compactMap { item -> FileSystemDamage? in
            guard let device = item["device"]?.stringValue, let since = item["since_usec"]?.intValue,
                  let cause = item["cause"]?.stringValue else { return nil }
            return FileSystemDamage(device: device,
                                    mountPoints: (item["mount_points"]?.arrayValue ?? []).compactMap(\.stringValue),
                                    carriesRoot: item["root"]?.boolValue ?? false, sinceMicroseconds: Int64(since),
                                    cause: cause, afterRecoveryTimeoutOf: item["after_recovery_timeout_of"]?.stringValue)
        }
        var baseline: [String: Int] = [:]
        if case .object(let members)? = json["ext4_baseline"] {
            for (device, value) in members { if let count = value.intValue { baseline[device] = count } }
        }
        return (damage, json["kernel_seqnum"]?.intValue.map { UInt64($0) }, baseline)
    }
}
