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
    /// Multipath paths down, per path.
    public var openPathEpisodes: [PathEpisode] = []
    public var finishedPathEpisodes: [PathEpisode] = []
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
    /// `NetworkWatch.record`: each root session's path to its portal and the episodes it was cut.
    public var network = DaemonStateFile.Network()
    /// When the last full look at sysfs succeeded.
    public var lastPollMicroseconds: Int64?
    /// Recovery episodes and their durations per session, for the metrics.
    public var recoveryStatistics = RecoveryStatistics()

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
    public func json(at now: Moment) -> JSONValue { file(at: now).json }

    /// The state file's contents; `now` turns open episodes and stalls into seconds.
    public func file(at now: Moment) -> DaemonStateFile {
        let seconds = { (duration: Duration) -> Double in Double(duration.microseconds) / 1e6 }
        var file = DaemonStateFile(
            pid: pid, bootID: bootID, startedMicroseconds: startedMicroseconds, updatedMicroseconds: updatedMicroseconds,
            deviceEvents: deviceEvents, sessionEvents: sessionEvents, pollInterval: seconds(pollInterval),
            statusLine: statusLine,
            config: .init(files: configurationFiles, timeout: configuration.disk.timeout,
                          scheduler: configuration.disk.scheduler, types: configuration.disk.types.sorted(),
                          verifyInterval: seconds(configuration.verifyInterval),
                          stallThreshold: seconds(configuration.stallThreshold),
                          recoveryTimeout: configuration.recoveryTimeout.description),
            episodes: (openEpisodes + finishedEpisodes.reversed()).map { episode in
                DaemonStateFile.Episode(
                    session: ISCSISession.name(episode.session), target: episode.target, root: !episode.carries.isEmpty,
                    cause: episode.cause, startedMicroseconds: episode.started.wallMicroseconds,
                    startedBeforeDaemon: episode.startedBeforeObservation,
                    ioFailingSinceMicroseconds: episode.lost?.wallMicroseconds,
                    endedMicroseconds: episode.ended?.wallMicroseconds, seconds: seconds(episode.elapsed(at: now)),
                    secondsLeft: episode.isOpen ? (episode.timeLeft(at: now).map(seconds) ?? .infinity) : nil)
            },
            pathEpisodes: (openPathEpisodes + finishedPathEpisodes.reversed()).map { episode in
                DaemonStateFile.PathEpisode(
                    map: episode.map, disk: episode.disk, session: episode.session, portal: episode.portal,
                    root: !episode.carries.isEmpty, cause: episode.cause, startedMicroseconds: episode.started.wallMicroseconds,
                    startedBeforeDaemon: episode.startedBeforeObservation, endedMicroseconds: episode.ended?.wallMicroseconds,
                    seconds: seconds(episode.elapsed(at: now)))
            },
            stalls: stalls.map { stall in
                DaemonStateFile.Stall(disk: stall.disk,
                                      sinceMicroseconds: now.wallMicroseconds - stall.duration(at: now).microseconds,
                                      seconds: seconds(stall.duration(at: now)), inflight: stall.inflight,
                                      root: !stall.carries.isEmpty)
            },
            damage: damage.map { damage in
                DaemonStateFile.Damage(device: damage.device, mountPoints: damage.mountPoints, root: damage.carriesRoot,
                                       sinceMicroseconds: damage.sinceMicroseconds, cause: damage.cause,
                                       afterRecoveryTimeoutOf: damage.afterRecoveryTimeoutOf, message: damage.message)
            },
            kernelSequence: kernelSequence, ext4Baseline: ext4Baseline, corrections: corrections,
            tuningFailures: tuningFailures, auditProblems: auditProblems, lockedKiB: lockedKiB, residentKiB: residentKiB,
            recentEvents: recentEvents.map { event in
                DaemonStateFile.Event(timeMicroseconds: event.at.wallMicroseconds, kind: event.kind.rawValue,
                                      priority: event.kind.priority, message: event.message)
            }, network: network)
        file.lastPollMicroseconds = lastPollMicroseconds
        file.recovery = recoveryStatistics.fileEntries
        return file
    }

    /// What must outlive a daemon restart within one boot: sticky damage, the last kernel record
    /// handled, ext4 error baselines. Nil for another boot's file.
    public static func carriedOver(from file: DaemonStateFile, bootID: String)
        -> (damage: [FileSystemDamage], kernelSequence: UInt64?, ext4Baseline: [String: Int])? {
        guard file.bootID == bootID else { return nil }
        let damage = file.damage.map { item in
            FileSystemDamage(device: item.device, mountPoints: item.mountPoints, carriesRoot: item.root,
                             sinceMicroseconds: item.sinceMicroseconds, cause: item.cause,
                             afterRecoveryTimeoutOf: item.afterRecoveryTimeoutOf)
        }
        return (damage, file.kernelSequence, file.ext4Baseline)
    }
}
