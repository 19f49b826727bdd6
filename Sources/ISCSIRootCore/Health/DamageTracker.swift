/// A file system found dead during an outage. Sticky: it stays until reboot, because the kernel
/// keeps it dead even when the session logs in again and sysfs looks healthy.
public struct FileSystemDamage: Sendable, Hashable {
    /// The file system's block device (`sda`, `sda2`, `dm-0`).
    public let device: String
    public let mountPoints: [String]
    public let carriesRoot: Bool
    /// When it was first seen (wall clock, microseconds since the epoch).
    public let sinceMicroseconds: Int64
    /// "journal aborted", "EXT4-fs error", "ext4 errors_count 0 → 3" …
    public let cause: String
    /// The session whose recovery timeout came before it, when one did.
    public let afterRecoveryTimeoutOf: String?

    public init(device: String, mountPoints: [String], carriesRoot: Bool, sinceMicroseconds: Int64, cause: String,
                afterRecoveryTimeoutOf: String?) {
        self.device = device
        self.mountPoints = mountPoints
        self.carriesRoot = carriesRoot
        self.sinceMicroseconds = sinceMicroseconds
        self.cause = cause
        self.afterRecoveryTimeoutOf = afterRecoveryTimeoutOf
    }

    /// "root file system damaged at T (after recovery timeout of session1); writes since T are lost; reboot".
    public var message: String {
        let what = carriesRoot ? "root file system" : "file system on \(mountPoints.first ?? device)"
        let after = afterRecoveryTimeoutOf.map { " (after recovery timeout of \($0))" } ?? ""
        let time = WallClock.format(microseconds: sinceMicroseconds)
        return "\(what) damaged at \(time)\(after): \(cause) on \(device); writes since \(time) are lost; reboot"
    }
}

/// Follows kernel log records and ext4 error counters for iSCSI disks: re-emits storage errors as
/// structured entries (KERNEL_SEQNUM, DEVICE, ISCSI_SESSION, MOUNT_POINT) and keeps sticky damage.
public struct DamageTracker: Sendable {
    /// Damaged file systems by device, sticky.
    public private(set) var damage: [String: FileSystemDamage] = [:]
    /// The last kernel record handled (persisted so a restart does not re-alarm).
    public private(set) var lastSequence: UInt64?
    /// ext4 `errors_count` when first seen this boot, by device.
    public private(set) var ext4Baseline: [String: Int] = [:]
    private var recoveryTimeouts: [Int: Int64] = [:]
    private var recentSignals: [String: Duration] = [:]
    private var suppressed: [String: Int] = [:]
    /// Repeats of one signal on one device within this window are counted, not re-emitted.
    public let repeatWindow: Duration

    public init(repeatWindow: Duration = .seconds(10), damage: [FileSystemDamage] = [], lastSequence: UInt64? = nil,
                ext4Baseline: [String: Int] = [:]) {
        self.repeatWindow = repeatWindow
        self.damage = Dictionary(damage.map { ($0.device, $0) }, uniquingKeysWith: { first, _ in first })
        self.lastSequence = lastSequence
        self.ext4Baseline = ext4Baseline
    }

    /// What a restarted daemon carries over from the view its predecessor wrote this boot: sticky
    /// damage, the last kernel record handled, the ext4 error baselines. Another boot's view (or
    /// none) starts afresh.
    public init(carriedOver previous: DaemonSnapshot?, bootID: String) {
        guard let previous, previous.bootID == bootID else {
            self.init()
            return
        }
        self.init(damage: previous.damage.map { item in
            FileSystemDamage(device: item.device, mountPoints: item.mountPoints, carriesRoot: item.root,
                             sinceMicroseconds: item.sinceMicroseconds, cause: item.cause,
                             afterRecoveryTimeoutOf: item.afterRecoveryTimeoutOf)
        }, lastSequence: previous.kernelSequence, ext4Baseline: previous.ext4Baseline)
    }

    /// Its part of the daemon's view: the damage (root first), the last kernel record, the baselines.
    public func record(into snapshot: inout DaemonSnapshot) {
        snapshot.damage = damaged.map { damage in
            DaemonSnapshot.Damage(device: damage.device, mountPoints: damage.mountPoints, root: damage.carriesRoot,
                                  sinceMicroseconds: damage.sinceMicroseconds, cause: damage.cause,
                                  afterRecoveryTimeoutOf: damage.afterRecoveryTimeoutOf, message: damage.message)
        }
        snapshot.kernelSequence = lastSequence
        snapshot.ext4Baseline = ext4Baseline
    }

    /// Damage, root first.
    public var damaged: [FileSystemDamage] {
        damage.values.sorted { a, b in a.carriesRoot != b.carriesRoot ? a.carriesRoot : a.device < b.device }
    }

    /// Handles one kernel record. `live` is false for records from before the daemon started:
    /// they still set damage (the file system is still dead) but are not re-emitted one by one.
    public mutating func observe(_ record: KernelRecord, topology: Topology, at now: Moment, live: Bool) -> [HealthEvent] {
        if let lastSequence, record.sequence <= lastSequence { return [] }
        lastSequence = record.sequence
        // A user-space record ("echo 'EXT4-fs error (device sda)' > /dev/kmsg") is no evidence.
        guard record.isFromKernel, let signal = KernelStorageSignal(message: record.message),
              let target = StorageTarget(signal: signal, topology: topology) else { return [] }
        // Both clocks are within Int64 (the parser bounds the timestamp); a record from the future is now.
        let age = max(0, now.monotonic.microseconds - Int64(clamping: record.timestampMicroseconds))
        let recordWall = now.wallMicroseconds - min(age, max(0, now.wallMicroseconds))
        if case .recoveryTimedOut(let session, _) = signal { recoveryTimeouts[session] = recordWall }
        var events: [HealthEvent] = []
        if live {
            let key = "\(signal.kindName) \(target.device ?? target.session.map { ISCSISession.name($0) } ?? "")"
            if let last = recentSignals[key], now.monotonic - last < repeatWindow {
                suppressed[key, default: 0] += 1
            } else {
                recentSignals[key] = now.monotonic
                let repeats = suppressed.removeValue(forKey: key).map { " (\($0) more like it before)" } ?? ""
                var fields = target.fields
                fields[.kernelSequenceNumber] = String(record.sequence)
                events.append(HealthEvent(.kernelStorageError, "kernel: \(record.message.trimmingWhitespace)\(repeats)",
                                          fields: fields, at: now))
            }
        }
        if signal.damagesFileSystem, let device = target.device {
            events += markDamaged(device: device, target: target, cause: signal.kindName
                + (live ? "" : " (logged before iscsi-rootd started)"), sinceMicroseconds: recordWall,
                sequence: record.sequence, at: now)
        }
        return events
    }

    /// Compares ext4 `errors_count` of file systems on iSCSI disks with the first value seen this boot.
    public mutating func observeExt4(errorCounts: [String: Int], topology: Topology, at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        for (device, count) in errorCounts.sorted(by: { $0.key < $1.key }) {
            guard let baseline = ext4Baseline[device] else {
                ext4Baseline[device] = count
                continue
            }
            if count > baseline, let target = StorageTarget(device: device, topology: topology) {
                events += markDamaged(device: device, target: target, cause: "ext4 errors_count \(baseline) → \(count)",
                                      sinceMicroseconds: now.wallMicroseconds, sequence: nil, at: now)
            }
        }
        return events
    }

    private mutating func markDamaged(device: String, target: StorageTarget, cause: String, sinceMicroseconds: Int64,
                                      sequence: UInt64?, at now: Moment) -> [HealthEvent] {
        guard damage[device] == nil else { return [] }
        let afterTimeout = target.session.flatMap { session in
            recoveryTimeouts[session].map { _ in ISCSISession.name(session) }
        }
        let entry = FileSystemDamage(device: device, mountPoints: target.mountPoints, carriesRoot: target.carriesRoot,
                                     sinceMicroseconds: sinceMicroseconds, cause: cause, afterRecoveryTimeoutOf: afterTimeout)
        damage[device] = entry
        var fields = target.fields
        if let sequence { fields[.kernelSequenceNumber] = String(sequence) }
        return [HealthEvent(.fileSystemDamaged, entry.message, fields: fields, at: now)]
    }
}

/// What a kernel signal or device name points at: disk, session, mount points.
struct StorageTarget {
    let device: String?
    let session: Int?
    let mountPoints: [String]
    let carriesRoot: Bool
    let fields: [JournalField: String]

    init?(signal: KernelStorageSignal, topology: Topology) {
        switch signal {
        case .connectionError(let session, _), .recoveryTimedOut(let session, _):
            guard let found = topology.session(session) else { return nil }
            let carries = topology.criticalUses(ofSession: session)
            self.init(device: nil, session: session, mountPoints: carries.map(\.description), carriesRoot: !carries.isEmpty,
                      fields: topology.journalFields(of: found, carries: carries))
        case .rejectingOffline(let hctl):
            guard let device = topology.devices.first(where: { $0.hctl == hctl && $0.isISCSI }),
                  let name = device.disk?.name else { return nil }
            self.init(device: name, topology: topology)
        case .ioError(let device), .fileSystemError(let device), .journalAborted(let device),
             .remountedReadOnly(let device), .xfsShutdown(let device):
            self.init(device: device, topology: topology)
        }
    }

    /// A block device (disk, partition or device-mapper) that rests on an iSCSI disk.
    init?(device: String, topology: Topology) {
        let chains = topology.chains.filter { $0.path.contains(device) }
        var disks = chains.flatMap(\.disks)
        if disks.isEmpty {
            // A partition or disk that carries no mount: sda2 → sda.
            let base = String(device.reversed().drop(while: \.isNumber).reversed())
            disks = [device, base].filter { topology.device(disk: $0) != nil }
        }
        guard let scsi = disks.lazy.compactMap({ topology.device(disk: $0) }).first(where: \.isISCSI) else { return nil }
        let mountPoints = chains.map(\.use.description)
        var fields: [JournalField: String] = [.device: device, .scsiDevice: scsi.hctl.description]
        if let session = scsi.sessionNumber.flatMap(topology.session) {
            fields.merge(topology.journalFields(of: session, carries: topology.criticalUses(ofSession: session.number))) { a, _ in a }
        }
        if let mount = mountPoints.first { fields[.mountPoint] = mount }
        self.init(device: device, session: scsi.sessionNumber, mountPoints: mountPoints,
                  carriesRoot: chains.contains { $0.use.isCritical }, fields: fields)
    }

    init(device: String?, session: Int?, mountPoints: [String], carriesRoot: Bool, fields: [JournalField: String]) {
        self.device = device
        self.session = session
        self.mountPoints = mountPoints
        self.carriesRoot = carriesRoot
        self.fields = fields
    }
}

extension KernelStorageSignal {
    /// A short name for messages and rate limiting.
    public var kindName: String {
        switch self {
        case .connectionError(_, let error): "connection error \(error)"
        case .recoveryTimedOut: "session recovery timed out"
        case .rejectingOffline: "I/O rejected (device offline)"
        case .ioError: "I/O error"
        case .fileSystemError: "file system error"
        case .journalAborted: "journal aborted"
        case .remountedReadOnly: "remounted read-only"
        case .xfsShutdown: "XFS shutdown"
        }
    }
}
