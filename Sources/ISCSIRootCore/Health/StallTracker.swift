/// I/O standing still on one disk: requests in flight, none completing.
public struct StallEpisode: Sendable, Hashable {
    public let disk: String
    public let hctl: HCTL
    public let session: Int?
    public let carries: [StorageUse]
    /// When requests last made progress: the stall's start, known to within half the sampling
    /// interval in which it began (see `StallTracker`).
    public let since: Moment
    public internal(set) var inflight: Int
    public internal(set) var ended: Moment?

    public func duration(at now: Moment) -> Duration { (ended ?? now).since(since) }
}

/// Finds stalls: requests in flight while the completion counters do not move for `threshold`.
/// A slow disk whose completions move is not stalled. Pure: samples and time are given.
///
/// Samples are seconds apart while a disk is idle (quarter seconds while requests are in flight,
/// `Daemon.loop`), so the moment progress stopped is known only to lie between two samples: after
/// the one that still saw progress (completions moving, or nothing in flight) and at or before the
/// first that saw requests standing still. It is taken as the middle of that interval: off by at
/// most half of it either way, where taking its end made a stall on a disk idle before (the root
/// in the e2e's c-outage) show up to a whole idle interval late.
public struct StallTracker: Sendable {
    struct Progress: Sendable {
        var completions: UInt64
        var lastMoved: Moment
        /// When this disk was sampled last, and whether it was making progress then.
        var sampled: Moment
        var moving: Bool
    }

    private var progress: [String: Progress] = [:]
    /// Stalls going on now, by disk name.
    public private(set) var stalls: [String: StallEpisode] = [:]

    public init() {}

    /// Feeds one sample per disk; returns stall start and end events.
    public mutating func update(_ samples: [(device: SCSIDevice, sample: IOSample)], topology: Topology,
                                threshold: Duration, at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        var seen = 0
        for (device, sample) in samples {
            guard let disk = device.disk?.name else { continue }
            seen += 1
            // A multipath path's stall is not the root's: the map fails its I/O over to another path.
            // Looked up only for an event: every disk is sampled every second.
            var carries: [StorageUse] { device.isMultipathPath ? [] : topology.uses(ofDisk: disk).filter(\.isCritical) }
            var record = progress[disk] ?? Progress(completions: sample.completions, lastMoved: now, sampled: now, moving: false)
            let moved = sample.completions != record.completions || sample.inflight == 0
            if moved || record.moving {
                // Idle now: nothing can stand still before this sample. Requests in flight after
                // progress: it stopped somewhere since the previous sample.
                let half = now.since(record.sampled) / 2
                let stopped = sample.inflight == 0 ? now
                    : Moment(monotonic: now.monotonic - half, wallMicroseconds: now.wallMicroseconds - half.microseconds)
                record = Progress(completions: sample.completions, lastMoved: stopped, sampled: now, moving: sample.inflight == 0)
            }
            record.sampled = now
            if moved {
                if var stall = stalls.removeValue(forKey: disk) {
                    let carries = carries
                    stall.ended = now
                    var fields = Self.fields(device, topology: topology, carries: carries, inflight: sample.inflight)
                    fields[.durationMicroseconds] = String(stall.duration(at: now).microseconds)
                    events.append(HealthEvent(.ioStallCleared,
                        "\(carries.isEmpty ? "" : "root ")I/O to \(disk) flows again after \(stall.duration(at: now).humanReadable) stalled",
                        fields: fields, at: now))
                }
            } else if now.since(record.lastMoved) >= threshold {
                if stalls[disk] == nil {
                    let carries = carries
                    stalls[disk] = StallEpisode(disk: disk, hctl: device.hctl, session: device.sessionNumber,
                                                carries: carries, since: record.lastMoved, inflight: sample.inflight)
                    let session = device.sessionNumber.flatMap(topology.session)
                    events.append(HealthEvent(.ioStalled,
                        Self.stallMessage(disk: disk, root: !carries.isEmpty, duration: now.since(record.lastMoved),
                                          session: session, timeout: device.timeout.value),
                        fields: Self.fields(device, topology: topology, carries: carries, inflight: sample.inflight),
                        at: now))
                } else {
                    stalls[disk]?.inflight = sample.inflight
                }
            }
            progress[disk] = record
        }
        // Each disk is sampled once: as many records as disks seen means none is gone. The set of
        // names is made only then (not for every sample of every disk, every second).
        if progress.count != seen {
            let present = Set(samples.compactMap(\.device.disk?.name))
            for disk in progress.keys where !present.contains(disk) {
                progress[disk] = nil
                stalls[disk] = nil
            }
        }
        return events
    }

    /// Its part of the daemon's view: the stalls going on, by disk.
    public func record(into snapshot: inout DaemonSnapshot, at now: Moment) {
        snapshot.stalls = stalls.values.sorted { $0.disk < $1.disk }.map { stall in
            DaemonSnapshot.Stall(disk: stall.disk, sinceMicroseconds: now.wallMicroseconds - stall.duration(at: now).microseconds,
                                 seconds: DaemonSnapshot.seconds(stall.duration(at: now)), inflight: stall.inflight,
                                 root: !stall.carries.isEmpty, session: stall.session.map { ISCSISession.name($0) })
        }
    }

    /// "root I/O stalled 12 s — session1 still LOGGED_IN: NOPs are off, the kernel has not noticed; SCSI timeout 90 s".
    public static func stallMessage(disk: String, root: Bool, duration: Duration,
                                    session: ISCSISession?, timeout: Int?) -> String {
        var text = "\(root ? "root " : "")I/O to \(disk) stalled \(duration.humanReadable)"
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
            fields.merge(topology.journalFields(of: session, carries: carries)) { a, _ in a }
        }
        if !carries.isEmpty { fields[.root] = "1" }
        return fields
    }
}
