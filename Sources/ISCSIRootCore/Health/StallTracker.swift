/// One reading of a disk's I/O counters: requests in flight and requests completed so far.
public struct IOSample: Sendable, Hashable {
    public let inflight: Int
    /// Reads + writes + discards + flushes completed (`stat` fields 1, 5, 12, 16).
    public let completions: UInt64

    public init(inflight: Int, completions: UInt64) {
        self.inflight = inflight
        self.completions = completions
    }

    /// Reads `inflight` ("reads writes") and `stat` of a block device directory; nil when unreadable.
    public static func read(_ sysfs: FileTree, blockDirectory dir: String) -> IOSample? {
        guard case .success(let inflightText) = sysfs.read("\(dir)/inflight"),
              case .success(let statText) = sysfs.read("\(dir)/stat") else { return nil }
        let inflight = inflightText.split(separator: " ").compactMap { Int(sysfs: $0) }
        let stat = statText.split(separator: " ").compactMap { UInt64(bounded: $0, in: 0...UInt64.max) }
        guard inflight.count == 2, stat.count >= 11 else { return nil }
        return IOSample(inflight: inflight[0] + inflight[1], completions: completions(stat))
    }

    /// Every block device's sample from the text of `/proc/diskstats` (the kernel's iostats.rst:
    /// `major minor name` and then the counters of `stat`, in the same order, its ninth the
    /// requests in flight), by device name. One read of one file for all disks: what the daemon
    /// samples each second. Malformed lines are skipped.
    public static func parseDiskstats(_ text: String) -> [String: IOSample] {
        var samples: [String: IOSample] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 14 else { continue }
            let counters = fields.dropFirst(3).compactMap { UInt64($0) }
            guard counters.count == fields.count - 3, let inflight = Int(exactly: counters[8]) else { continue }
            samples[String(fields[2])] = IOSample(inflight: inflight, completions: completions(counters))
        }
        return samples
    }

    /// Reads + writes + discards + flushes completed: `stat` fields 1, 5, 12 and 16 (the last two
    /// only on kernels that have them).
    static func completions(_ stat: [UInt64]) -> UInt64 {
        [0, 4, 11, 15].filter { $0 < stat.count }.reduce(UInt64(0)) { $0 &+ stat[$1] }
    }
}

/// I/O standing still on one disk: requests in flight, none completing.
public struct StallEpisode: Sendable, Hashable {
    public let disk: String
    public let hctl: HCTL
    public let session: Int?
    public let carries: [StorageUse]
    /// When completions last moved (the stall's real start).
    public let since: Moment
    public internal(set) var inflight: Int
    public internal(set) var ended: Moment?

    public func duration(at now: Moment) -> Duration { (ended ?? now).since(since) }
}

/// Finds stalls: requests in flight while the completion counters do not move for `threshold`.
/// A slow disk whose completions move is not stalled. Pure: samples and time are given.
public struct StallTracker: Sendable {
    struct Progress: Sendable {
        var completions: UInt64
        var lastMoved: Moment
    }

    private var progress: [String: Progress] = [:]
    /// Stalls going on now, by disk name.
    public private(set) var stalls: [String: StallEpisode] = [:]

    public init() {}

    /// Feeds one sample per disk; returns stall start and end events.
    public mutating func update(_ samples: [(device: SCSIDevice, sample: IOSample)], topology: Topology,
                                threshold: Duration, at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        var seen = Set<String>()
        for (device, sample) in samples {
            guard let disk = device.disk?.name else { continue }
            seen.insert(disk)
            // A multipath path's stall is not the root's: the map fails its I/O over to another path.
            let carries = device.isMultipathPath ? [] : topology.uses(ofDisk: disk).filter(\.isCritical)
            var record = progress[disk] ?? Progress(completions: sample.completions, lastMoved: now)
            let moved = sample.completions != record.completions || sample.inflight == 0
            if moved {
                record = Progress(completions: sample.completions, lastMoved: now)
                if var stall = stalls.removeValue(forKey: disk) {
                    stall.ended = now
                    var fields = Self.fields(device, topology: topology, carries: carries, inflight: sample.inflight)
                    fields[.durationMicroseconds] = String(stall.duration(at: now).microseconds)
                    events.append(HealthEvent(.ioStallCleared,
                        "\(carries.isEmpty ? "" : "root ")I/O to \(disk) flows again after \(stall.duration(at: now).humanReadable) stalled",
                        fields: fields, at: now))
                }
            } else if now.since(record.lastMoved) >= threshold {
                if stalls[disk] == nil {
                    stalls[disk] = StallEpisode(disk: disk, hctl: device.hctl, session: device.sessionNumber,
                                                carries: carries, since: record.lastMoved, inflight: sample.inflight)
                    let session = device.sessionNumber.flatMap(topology.session)
                    events.append(HealthEvent(.ioStalled,
                        Self.stallMessage(disk: disk, carries: carries, duration: now.since(record.lastMoved),
                                          session: session, timeout: device.timeout.value),
                        fields: Self.fields(device, topology: topology, carries: carries, inflight: sample.inflight),
                        at: now))
                } else {
                    stalls[disk]?.inflight = sample.inflight
                }
            }
            progress[disk] = record
        }
        for disk in progress.keys where !seen.contains(disk) {
            progress[disk] = nil
            stalls[disk] = nil
        }
        return events
    }

    /// "root I/O stalled 12 s — session1 still LOGGED_IN: NOPs are off, the kernel has not noticed; SCSI timeout 90 s".
    public static func stallMessage(disk: String, carries: [StorageUse], duration: Duration,
                                    session: ISCSISession?, timeout: Int?) -> String {
        var text = "\(carries.isEmpty ? "" : "root ")I/O to \(disk) stalled \(duration.humanReadable)"
        if let session, session.state.value == .loggedIn {
            text += " — \(session.name) still LOGGED_IN"
            text += session.nopsEnabled ? "" : ": NOPs are off, the kernel has not noticed"
        }
        if let timeout { text += "; SCSI timeout \(timeout) s" }
        return text
    }

    static func fields(_ device: SCSIDevice, topology: Topology, carries: [StorageUse], inflight: Int) -> [JournalField: String] {
        var fields: [JournalField: String] = [.scsiDevice: device.hctl.description, .inflight: String(inflight)]
        if let disk = device.disk?.name { fields[.device] = disk }
        if let session = device.sessionNumber.flatMap(topology.session) {
            fields.merge(RecoveryTracker.fields(session, host: session.hostNumber.flatMap(topology.host), carries: carries)) { a, _ in a }
        }
        if !carries.isEmpty { fields[.root] = "1" }
        return fields
    }
}
