import SystemPackage

/// The schema of `<state-dir>/state.json`: one typed value that the daemon writes and `status`
/// and a restarted daemon read, through the same code (`json` and `init(json:)`). Every value read
/// is range-checked: the file survives daemon restarts (`RuntimeDirectoryPreserve=restart`), so
/// one bad value must be a clear error naming it, never a crash loop.
public struct DaemonStateFile: Sendable, Hashable {
    public struct Config: Sendable, Hashable {
        public var files: [String]
        public var timeout: Int
        public var scheduler: String
        public var types: [Int]
        public var verifyInterval: Double
        public var stallThreshold: Double
        public var recoveryTimeout: String
    }

    public struct Episode: Sendable, Hashable {
        public var session: String
        public var target: String?
        public var root: Bool
        public var cause: String
        public var startedMicroseconds: Int64
        public var startedBeforeDaemon: Bool
        public var ioFailingSinceMicroseconds: Int64?
        public var endedMicroseconds: Int64?
        public var seconds: Double
        /// Seconds until I/O fails while open: a number, "never" (`.infinity`), or nil once ended.
        public var secondsLeft: Double?
    }

    /// A multipath path down (PathTracker).
    public struct PathEpisode: Sendable, Hashable {
        public var map: String
        public var disk: String
        public var session: String?
        public var portal: String?
        public var root: Bool
        public var cause: String
        public var startedMicroseconds: Int64
        public var startedBeforeDaemon: Bool
        public var endedMicroseconds: Int64?
        public var seconds: Double
    }

    public struct Stall: Sendable, Hashable {
        public var disk: String
        public var sinceMicroseconds: Int64
        public var seconds: Double
        public var inflight: Int
        public var root: Bool
    }

    public struct Damage: Sendable, Hashable {
        public var device: String
        public var mountPoints: [String]
        public var root: Bool
        public var sinceMicroseconds: Int64
        public var cause: String
        public var afterRecoveryTimeoutOf: String?
        public var message: String
    }

    public struct Event: Sendable, Hashable {
        public var timeMicroseconds: Int64
        public var kind: String
        public var priority: Int
        public var message: String
    }

    /// The network under the root sessions (`NetworkWatch.record`).
    public struct Network: Sendable, Hashable {
        /// One root session's way to its portal.
        public struct Path: Sendable, Hashable {
            public var session: String
            public var root: Bool
            public var portal: String?
            public var localAddress: String?
            public var interface: String?
            /// The kernel's route, as `NetworkWatch.describe` writes it.
            public var route: String
            public var reachable: Bool
            public var problems: [String]
        }

        /// A time a root session's path was cut.
        public struct Episode: Sendable, Hashable {
            public var session: String
            public var root: Bool
            public var interface: String?
            public var cause: String
            public var startedMicroseconds: Int64
            public var cutOff: Bool
            public var losses: Int
            public var restoredMicroseconds: Int64?
            public var endedMicroseconds: Int64?
            public var seconds: Double
            /// The stalls and recoveries tied to it.
            public var consequences: [String]
        }

        /// "rtnetlink", or "off" with the reason.
        public var events: String
        public var sessions: [Path]
        public var episodes: [Episode]

        public init(events: String = "off", sessions: [Path] = [], episodes: [Episode] = []) {
            self.events = events
            self.sessions = sessions
            self.episodes = episodes
        }
    }

    public var pid: Int32
    public var bootID: String
    public var startedMicroseconds: Int64
    public var updatedMicroseconds: Int64
    public var deviceEvents: String
    public var sessionEvents: String
    public var pollInterval: Double
    public var statusLine: String
    public var config: Config
    public var episodes: [Episode]
    public var pathEpisodes: [PathEpisode]
    public var stalls: [Stall]
    public var damage: [Damage]
    public var kernelSequence: UInt64?
    public var ext4Baseline: [String: Int]
    public var corrections: Int
    public var tuningFailures: Int
    public var auditProblems: [String]
    public var lockedKiB: Int?
    public var residentKiB: Int?
    public var recentEvents: [Event]
    public var network = Network()
    /// For the metrics (missing in a file from before them: read as unknown, never, none).
    public var version = ISCSIRootVersion.current
    public var lastPollMicroseconds: Int64?
    public var recovery: [Recovery] = []

    // MARK: Ranges

    /// Microseconds since the epoch: 1970 to the year 9999.
    static let wallRange: ClosedRange<Int64> = 0...253_402_300_799_999_999
    /// Durations in seconds: up to about 31 700 years, so that whole seconds fit any Int.
    static let secondsRange: ClosedRange<Double> = 0...1e12
    static let countRange: ClosedRange<Int> = 0...Int(Int32.max)

    // MARK: Writing

    public var json: JSONValue {
        let wall = { (value: Int64?) -> JSONValue in value.map { .int(Int($0)) } ?? .null }
        let members: [(String, JSONValue)] = [
            ("pid", .int(Int(pid))),
            ("boot_id", .string(bootID)),
            ("started_usec", .int(Int(startedMicroseconds))),
            ("updated_usec", .int(Int(updatedMicroseconds))),
            ("device_events", .string(deviceEvents)),
            ("session_events", .string(sessionEvents)),
            ("poll_interval", .double(pollInterval)),
            ("status_line", .string(statusLine)),
            ("config", .object([
                ("files", .array(config.files.map(JSONValue.string))),
                ("timeout", .int(config.timeout)),
                ("scheduler", .string(config.scheduler)),
                ("types", .array(config.types.map(JSONValue.int))),
                ("verify_interval", .double(config.verifyInterval)),
                ("stall_threshold", .double(config.stallThreshold)),
                ("recovery_timeout", .string(config.recoveryTimeout)),
            ])),
            ("episodes", .array(episodes.map { episode in
                .object([
                    ("session", .string(episode.session)),
                    ("target", .optional(episode.target)),
                    ("root", .bool(episode.root)),
                    ("cause", .string(episode.cause)),
                    ("started_usec", wall(episode.startedMicroseconds)),
                    ("started_before_daemon", .bool(episode.startedBeforeDaemon)),
                    ("io_failing_since_usec", wall(episode.ioFailingSinceMicroseconds)),
                    ("ended_usec", wall(episode.endedMicroseconds)),
                    ("seconds", .double(episode.seconds)),
                    ("seconds_left", episode.secondsLeft.map { $0.isInfinite ? .string("never") : .double($0) } ?? .null),
                ])
            })),
            ("path_episodes", .array(pathEpisodes.map { episode in
                .object([
                    ("map", .string(episode.map)),
                    ("disk", .string(episode.disk)),
                    ("session", .optional(episode.session)),
                    ("portal", .optional(episode.portal)),
                    ("root", .bool(episode.root)),
                    ("cause", .string(episode.cause)),
                    ("started_usec", wall(episode.startedMicroseconds)),
                    ("started_before_daemon", .bool(episode.startedBeforeDaemon)),
                    ("ended_usec", wall(episode.endedMicroseconds)),
                    ("seconds", .double(episode.seconds)),
                ])
            })),
            ("stalls", .array(stalls.map { stall in
                .object([
                    ("disk", .string(stall.disk)),
                    ("since", .int(Int(stall.sinceMicroseconds))),
                    ("seconds", .double(stall.seconds)),
                    ("inflight", .int(stall.inflight)),
                    ("root", .bool(stall.root)),
                ])
            })),
            ("damage", .array(damage.map { damage in
                .object([
                    ("device", .string(damage.device)),
                    ("mount_points", .array(damage.mountPoints.map(JSONValue.string))),
                    ("root", .bool(damage.root)),
                    ("since_usec", .int(Int(damage.sinceMicroseconds))),
                    ("cause", .string(damage.cause)),
                    ("after_recovery_timeout_of", .optional(damage.afterRecoveryTimeoutOf)),
                    ("message", .string(damage.message)),
                ])
            })),
            ("kernel_seqnum", kernelSequence.map { .int(Int($0)) } ?? .null),
            ("ext4_baseline", .object(ext4Baseline.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("corrections", .int(corrections)),
            ("tuning_failures", .int(tuningFailures)),
            ("audit_problems", .array(auditProblems.map(JSONValue.string))),
            ("memory", .object([("locked_kib", .optional(lockedKiB)), ("resident_kib", .optional(residentKiB))])),
            ("recent_events", .array(recentEvents.map { event in
                .object([
                    ("time_usec", .int(Int(event.timeMicroseconds))),
                    ("kind", .string(event.kind)),
                    ("priority", .int(event.priority)),
                    ("message", .string(event.message)),
                ])
            })),
            ("network", networkJSON),
        ]
        return .object(members + metricsMembers)
    }

    var networkJSON: JSONValue {
        let wall = { (value: Int64?) -> JSONValue in value.map { .int(Int($0)) } ?? .null }
        return .object([
            ("events", .string(network.events)),
            ("sessions", .array(network.sessions.map { path in
                .object([
                    ("session", .string(path.session)),
                    ("root", .bool(path.root)),
                    ("portal", .optional(path.portal)),
                    ("local_address", .optional(path.localAddress)),
                    ("interface", .optional(path.interface)),
                    ("route", .string(path.route)),
                    ("reachable", .bool(path.reachable)),
                    ("problems", .array(path.problems.map(JSONValue.string))),
                ])
            })),
            ("episodes", .array(network.episodes.map { episode in
                .object([
                    ("session", .string(episode.session)),
                    ("root", .bool(episode.root)),
                    ("interface", .optional(episode.interface)),
                    ("cause", .string(episode.cause)),
                    ("started_usec", wall(episode.startedMicroseconds)),
                    ("cut_off", .bool(episode.cutOff)),
                    ("losses", .int(episode.losses)),
                    ("restored_usec", wall(episode.restoredMicroseconds)),
                    ("ended_usec", wall(episode.endedMicroseconds)),
                    ("seconds", .double(episode.seconds)),
                    ("consequences", .array(episode.consequences.map(JSONValue.string))),
                ])
            })),
        ])
    }

}

extension DaemonStateFile {
    /// Reads and range-checks every member the daemon writes; the error names the first bad one
    /// (`episodes[0].seconds: 1e+300 is not within 0.0...1e+12`).
    public init(json: JSONValue) throws(StateFileError) {
        let root = Member(json, "")
        pid = Int32(try root["pid"].int(in: 1...Int(Int32.max)))
        bootID = try root["boot_id"].string()
        startedMicroseconds = try root["started_usec"].wall()
        updatedMicroseconds = try root["updated_usec"].wall()
        deviceEvents = try root["device_events"].string()
        sessionEvents = try root["session_events"].string()
        pollInterval = try root["poll_interval"].seconds()
        statusLine = try root["status_line"].string()
        let config = root["config"]
        self.config = Config(
            files: try config["files"].strings(),
            timeout: try config["timeout"].int(in: 1...86400),
            scheduler: try config["scheduler"].string(),
            types: try config["types"].array().map { item throws(StateFileError) in try item.int(in: 0...31) },
            verifyInterval: try config["verify_interval"].seconds(),
            stallThreshold: try config["stall_threshold"].seconds(),
            recoveryTimeout: try config["recovery_timeout"].string())
        episodes = try root["episodes"].array().map { item throws(StateFileError) in
            Episode(session: try item["session"].string(), target: try item["target"].optionalString(),
                    root: try item["root"].bool(), cause: try item["cause"].string(),
                    startedMicroseconds: try item["started_usec"].wall(),
                    startedBeforeDaemon: try item["started_before_daemon"].bool(),
                    ioFailingSinceMicroseconds: try item["io_failing_since_usec"].optionalWall(),
                    endedMicroseconds: try item["ended_usec"].optionalWall(), seconds: try item["seconds"].seconds(),
                    secondsLeft: try item["seconds_left"].secondsLeft())
        }
        // Absent in files written before multipath paths were tracked.
        pathEpisodes = root["path_episodes"].value == nil ? [] : try root["path_episodes"].array().map { item throws(StateFileError) in
            PathEpisode(map: try item["map"].string(), disk: try item["disk"].string(),
                        session: try item["session"].optionalString(), portal: try item["portal"].optionalString(),
                        root: try item["root"].bool(), cause: try item["cause"].string(),
                        startedMicroseconds: try item["started_usec"].wall(),
                        startedBeforeDaemon: try item["started_before_daemon"].bool(),
                        endedMicroseconds: try item["ended_usec"].optionalWall(), seconds: try item["seconds"].seconds())
        }
        stalls = try root["stalls"].array().map { item throws(StateFileError) in
            Stall(disk: try item["disk"].string(), sinceMicroseconds: try item["since"].wall(),
                  seconds: try item["seconds"].seconds(), inflight: try item["inflight"].int(in: Self.countRange),
                  root: try item["root"].bool())
        }
        damage = try root["damage"].array().map { item throws(StateFileError) in
            Damage(device: try item["device"].string(), mountPoints: try item["mount_points"].strings(),
                   root: try item["root"].bool(), sinceMicroseconds: try item["since_usec"].wall(),
                   cause: try item["cause"].string(),
                   afterRecoveryTimeoutOf: try item["after_recovery_timeout_of"].optionalString(),
                   message: try item["message"].string())
        }
        kernelSequence = try root["kernel_seqnum"].optionalInt(in: 0...Int.max).map { UInt64($0) }
        var baseline: [String: Int] = [:]
        for (device, value) in try root["ext4_baseline"].members() { baseline[device] = try value.int(in: Self.countRange) }
        ext4Baseline = baseline
        corrections = try root["corrections"].int(in: 0...Int.max)
        tuningFailures = try root["tuning_failures"].int(in: 0...Int.max)
        auditProblems = try root["audit_problems"].strings()
        lockedKiB = try root["memory"]["locked_kib"].optionalInt(in: 0...Int(Int32.max))
        residentKiB = try root["memory"]["resident_kib"].optionalInt(in: 0...Int(Int32.max))
        version = root["version"].value == nil ? "unknown" : try root["version"].string()
        lastPollMicroseconds = root["last_poll_usec"].value == nil ? nil : try root["last_poll_usec"].optionalWall()
        recovery = root["recovery"].value == nil ? [] : try root["recovery"].array().map { item throws(StateFileError) in
            Recovery(session: try item["session"].string(), episodes: try item["episodes"].int(in: Self.countRange),
                     finished: try item["finished"].int(in: Self.countRange), secondsSum: try item["seconds_sum"].seconds(),
                     buckets: try item["buckets"].array().map { bucket throws(StateFileError) in
                         Recovery.Bucket(le: try bucket["le"].seconds(), count: try bucket["count"].int(in: Self.countRange))
                     })
        }
        recentEvents = try root["recent_events"].array().map { item throws(StateFileError) in
            Event(timeMicroseconds: try item["time_usec"].wall(), kind: try item["kind"].string(),
                  priority: try item["priority"].int(in: 0...7), message: try item["message"].string())
        }
        // A file written before the daemon watched the network has none.
        let network = root["network"]
        if network.value != nil {
            self.network = Network(
                events: try network["events"].string(),
                sessions: try network["sessions"].array().map { item throws(StateFileError) in
                    Network.Path(session: try item["session"].string(), root: try item["root"].bool(),
                                 portal: try item["portal"].optionalString(),
                                 localAddress: try item["local_address"].optionalString(),
                                 interface: try item["interface"].optionalString(), route: try item["route"].string(),
                                 reachable: try item["reachable"].bool(), problems: try item["problems"].strings())
                },
                episodes: try network["episodes"].array().map { item throws(StateFileError) in
                    Network.Episode(session: try item["session"].string(), root: try item["root"].bool(),
                                    interface: try item["interface"].optionalString(), cause: try item["cause"].string(),
                                    startedMicroseconds: try item["started_usec"].wall(), cutOff: try item["cut_off"].bool(),
                                    losses: try item["losses"].int(in: Self.countRange),
                                    restoredMicroseconds: try item["restored_usec"].optionalWall(),
                                    endedMicroseconds: try item["ended_usec"].optionalWall(),
                                    seconds: try item["seconds"].seconds(), consequences: try item["consequences"].strings())
                })
        }
    }
}

/// One member of the state file on its way to a typed value, with its path for error messages.
private struct Member {
    let value: JSONValue?
    let path: String

    init(_ value: JSONValue?, _ path: String) {
        self.value = value
        self.path = path
    }

    subscript(key: String) -> Member {
        Member(value?[key], path.isEmpty ? key : "\(path).\(key)")
    }

    func fail(_ what: String) -> StateFileError {
        StateFileError(description: "\(path): \(value.map { "\($0.serialized().prefix(40))" } ?? "missing") \(what)")
    }

    func string() throws(StateFileError) -> String {
        guard let text = value?.stringValue else { throw fail("is not a string") }
        return text
    }

    func optionalString() throws(StateFileError) -> String? {
        if value == .null { return nil }
        return try string()
    }

    func bool() throws(StateFileError) -> Bool {
        guard let flag = value?.boolValue else { throw fail("is not true or false") }
        return flag
    }

    func int(in range: ClosedRange<Int>) throws(StateFileError) -> Int {
        guard case .int(let number)? = value else { throw fail("is not an integer") }
        guard range.contains(number) else { throw fail("is not within \(range)") }
        return number
    }

    func optionalInt(in range: ClosedRange<Int>) throws(StateFileError) -> Int? {
        if value == .null { return nil }
        return try int(in: range)
    }

    func wall() throws(StateFileError) -> Int64 {
        Int64(try int(in: Int(DaemonStateFile.wallRange.lowerBound)...Int(DaemonStateFile.wallRange.upperBound)))
    }

    func optionalWall() throws(StateFileError) -> Int64? {
        if value == .null { return nil }
        return try wall()
    }

    func seconds(in range: ClosedRange<Double> = DaemonStateFile.secondsRange) throws(StateFileError) -> Double {
        guard let number = value?.doubleValue, number.isFinite else { throw fail("is not a number of seconds") }
        guard range.contains(number) else { throw fail("is not within \(range)") }
        return number
    }

    func secondsLeft() throws(StateFileError) -> Double? {
        if value == .null { return nil }
        if value == .string("never") { return .infinity }
        return try seconds(in: -DaemonStateFile.secondsRange.upperBound...DaemonStateFile.secondsRange.upperBound)
    }

    func array() throws(StateFileError) -> [Member] {
        guard let items = value?.arrayValue else { throw fail("is not an array") }
        return items.enumerated().map { Member($1, "\(path)[\($0)]") }
    }

    func strings() throws(StateFileError) -> [String] {
        try array().map { item throws(StateFileError) in try item.string() }
    }

    func members() throws(StateFileError) -> [(String, Member)] {
        guard case .object(let members)? = value else { throw fail("is not an object") }
        return members.map { ($0, Member($1, "\(path).\($0)")) }
    }
}

extension DaemonStateFile {
    /// The state file is small (30 events, 20 past episodes, one entry per open episode, stall and
    /// damaged file system); anything larger is not one.
    public static let maximumSize = 16 << 20

    /// Reads `<directory>/state.json`: nil when there is none; an error naming the file when it is
    /// unreadable, not a regular file (a link is not followed), too large, not JSON, or a value is
    /// out of range.
    public static func read(directory: String) -> Result<DaemonStateFile, StateFileError>? {
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + DaemonState.fileName
        let text: String
        switch FileTree.absolute.read(path, limit: maximumSize, followLinks: false) {
        case .success(let contents): text = contents
        case .failure(let error) where error.errno == .noSuchFileOrDirectory && error.detail == nil: return nil
        case .failure(let error): return .failure(StateFileError(description: "cannot read \(path): \(error.reason)"))
        }
        guard let json = JSONValue(parsing: text) else {
            return .failure(StateFileError(description: "\(path) is not a daemon state file (not JSON)"))
        }
        do {
            return .success(try DaemonStateFile(json: json))
        } catch {
            return .failure(StateFileError(description: "\(path) is not a usable daemon state file: \(error)"))
        }
    }
}
