/// The daemon's view at one moment, as one value: each tracker fills its part
/// (`RecoveryTracker.record(into:at:)`, `PathTracker`, `StallTracker`, `DamageTracker`,
/// `NetworkWatch.record`), the engine the rest; the state file, the metrics, `STATUS=` and `status`
/// all read it. Written to `<state-dir>/state.json` and read back through one schema
/// (`DaemonSnapshot+Schema.swift`). Readable by anyone: it never holds secrets.
///
/// Every member has a default: what a reader keeps when the file's member is unusable.
public struct DaemonSnapshot: Sendable, Hashable {
    public static let fileName = "state.json"

    public struct Config: Sendable, Hashable {
        public var files: [String] = []
        /// 0: unknown.
        public var timeout = 0
        public var scheduler = ""
        public var types: [Int] = []
        public var verifyInterval = 0.0
        public var stallThreshold = 0.0
        public var recoveryTimeout = ""
    }

    public struct Episode: Sendable, Hashable {
        public var session = ""
        public var target: String?
        public var root = false
        public var cause = ""
        public var startedMicroseconds: Int64 = 0
        public var startedBeforeDaemon = false
        public var ioFailingSinceMicroseconds: Int64?
        public var endedMicroseconds: Int64?
        public var seconds = 0.0
        /// Seconds until I/O fails while open: a number, "never" (`.infinity`), or nil once ended.
        public var secondsLeft: Double?
    }

    /// A multipath path down (PathTracker).
    public struct PathEpisode: Sendable, Hashable {
        public var map = ""
        public var disk = ""
        public var session: String?
        public var portal: String?
        public var root = false
        public var cause = ""
        public var startedMicroseconds: Int64 = 0
        public var startedBeforeDaemon = false
        public var endedMicroseconds: Int64?
        public var seconds = 0.0
    }

    public struct Stall: Sendable, Hashable {
        public var disk = ""
        public var sinceMicroseconds: Int64 = 0
        public var seconds = 0.0
        /// Requests in flight: the kernel's unsigned count (reads + writes), up to `UInt32.max` as written.
        public var inflight = 0
        public var root = false
        /// The session of the disk, for `STATUS=` (absent in files written before it).
        public var session: String?
    }

    public struct Damage: Sendable, Hashable {
        public var device = ""
        public var mountPoints: [String] = []
        public var root = false
        public var sinceMicroseconds: Int64 = 0
        public var cause = ""
        public var afterRecoveryTimeoutOf: String?
        public var message = ""
    }

    public struct Event: Sendable, Hashable {
        public var timeMicroseconds: Int64 = 0
        public var kind = ""
        public var priority = 6
        public var message = ""
    }

    /// The network under the root sessions (`NetworkWatch.record`).
    public struct Network: Sendable, Hashable {
        /// One root session's way to its portal.
        public struct Path: Sendable, Hashable {
            public var session = ""
            public var root = false
            public var portal: String?
            public var localAddress: String?
            public var interface: String?
            /// The kernel's route, as `NetworkWatch.describe` writes it.
            public var route = ""
            public var reachable = true
            public var problems: [String] = []
        }

        /// A time a root session's path was cut.
        public struct Episode: Sendable, Hashable {
            public var session = ""
            public var root = false
            public var interface: String?
            public var cause = ""
            public var startedMicroseconds: Int64 = 0
            public var cutOff = false
            public var losses = 0
            public var restoredMicroseconds: Int64?
            public var endedMicroseconds: Int64?
            public var seconds = 0.0
            /// The stalls and recoveries tied to it.
            public var consequences: [String] = []
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

    /// One session's `RecoveryStatistics.Counts`.
    public struct Recovery: Sendable, Hashable {
        public struct Bucket: Sendable, Hashable {
            public var le = 0.0
            public var count = 0
        }

        public var session = ""
        public var episodes = 0
        public var finished = 0
        public var secondsSum = 0.0
        /// Cumulative, by upper bound.
        public var buckets: [Bucket] = []
    }

    /// `memory` in the file: VmLck and VmRSS.
    public struct Memory: Sendable, Hashable {
        public var lockedKiB: Int?
        public var residentKiB: Int?
    }

    public var memory: Memory {
        get { Memory(lockedKiB: lockedKiB, residentKiB: residentKiB) }
        set { (lockedKiB, residentKiB) = (newValue.lockedKiB, newValue.residentKiB) }
    }

    /// 0: unknown (a reader whose file's pid is unusable); never a process that could be alive.
    public var pid: Int32 = 0
    /// `/proc/sys/kernel/random/boot_id`: state from another boot is ignored.
    public var bootID = ""
    public var startedMicroseconds: Int64 = 0
    /// When the daemon wrote this view (the state file is written at least once a poll interval):
    /// `status` calls a view older than `staleAfter` stale.
    public var updatedMicroseconds: Int64 = 0
    /// "udev", or "polling" with the reason.
    public var deviceEvents = ""
    /// "netlink", or "polling only" with the reason.
    public var sessionEvents = ""
    /// The poll interval in force when written, seconds: at most this long until the next write.
    public var pollInterval = 0.0
    public var statusLine = ""
    public var config = Config()
    /// Open episodes (root first), then finished ones, newest first.
    public var episodes: [Episode] = []
    public var pathEpisodes: [PathEpisode] = []
    public var stalls: [Stall] = []
    /// Sticky for the boot, root first.
    public var damage: [Damage] = []
    /// The last kernel log record handled: the kernel's u64.
    public var kernelSequence: UInt64?
    /// ext4 `errors_count` (a u32 superblock field) when first seen this boot, by device.
    public var ext4Baseline: [String: Int] = [:]
    public var corrections = 0
    public var tuningFailures = 0
    public var auditProblems: [String] = []
    /// VmLck and VmRSS in KiB, read once the daemon is up (it locks all its memory).
    public var lockedKiB: Int?
    public var residentKiB: Int?
    /// Newest last, at most `recentEventLimit`.
    public var recentEvents: [Event] = []
    public var network = Network()
    /// For the metrics (missing in a file from before them: read as unknown, never, none).
    public var version = ISCSIRootVersion.current
    /// When the last full look at sysfs succeeded.
    public var lastPollMicroseconds: Int64?
    public var recovery: [Recovery] = []

    public static let recentEventLimit = 30

    public init() {}

    public init(pid: Int32, bootID: String, startedMicroseconds: Int64, updatedMicroseconds: Int64 = 0,
                deviceEvents: String, sessionEvents: String, pollInterval: Double = 0, statusLine: String = "",
                config: Config? = nil, episodes: [Episode] = [], pathEpisodes: [PathEpisode] = [],
                stalls: [Stall] = [], damage: [Damage] = [], kernelSequence: UInt64? = nil,
                ext4Baseline: [String: Int] = [:], corrections: Int = 0, tuningFailures: Int = 0,
                auditProblems: [String] = [], lockedKiB: Int? = nil, residentKiB: Int? = nil,
                recentEvents: [Event] = [], network: Network = Network()) {
        self.pid = pid
        self.bootID = bootID
        self.startedMicroseconds = startedMicroseconds
        self.updatedMicroseconds = updatedMicroseconds
        self.deviceEvents = deviceEvents
        self.sessionEvents = sessionEvents
        self.pollInterval = pollInterval
        self.statusLine = statusLine
        self.config = config ?? Config()
        self.episodes = episodes
        self.pathEpisodes = pathEpisodes
        self.stalls = stalls
        self.damage = damage
        self.kernelSequence = kernelSequence
        self.ext4Baseline = ext4Baseline
        self.corrections = corrections
        self.tuningFailures = tuningFailures
        self.auditProblems = auditProblems
        self.lockedKiB = lockedKiB
        self.residentKiB = residentKiB
        self.recentEvents = recentEvents
        self.network = network
    }

    /// The configuration in force and the files it came from.
    public mutating func note(_ configuration: Configuration, files: [String]) {
        config = Config(files: files, timeout: configuration.disk.timeout, scheduler: configuration.disk.scheduler,
                        types: configuration.disk.types.sorted(), verifyInterval: Self.seconds(configuration.verifyInterval),
                        stallThreshold: Self.seconds(configuration.stallThreshold),
                        recoveryTimeout: configuration.recoveryTimeout.description)
    }

    /// A journal entry, kept among the recent events.
    public mutating func note(_ event: HealthEvent) {
        recentEvents.append(Event(timeMicroseconds: event.at.wallMicroseconds, kind: event.kind.rawValue,
                                  priority: event.kind.priority, message: event.message))
        if recentEvents.count > Self.recentEventLimit { recentEvents.removeFirst(recentEvents.count - Self.recentEventLimit) }
    }

    /// A duration as the snapshot holds it: seconds.
    public static func seconds(_ duration: Duration) -> Double { Double(duration.microseconds) / 1e6 }

    /// Seconds back to a duration, to the microsecond.
    public static func duration(_ seconds: Double) -> Duration {
        .microseconds(Int64((seconds * 1e6).rounded()))
    }
}

