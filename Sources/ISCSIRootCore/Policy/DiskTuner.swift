import SystemPackage

/// A disk setting the policy manages.
public enum DiskSetting: String, Sendable, Hashable, CaseIterable {
    case timeout
    case scheduler
}

/// What happened to one setting of one disk.
public enum TuningResult: Sendable, Hashable {
    /// Already as wanted; nothing written.
    case unchanged(String)
    /// Written and read back.
    case changed(from: String, to: String)
    /// Would be written (dry run).
    case wouldChange(from: String, to: String)
    /// Not done, with the reason (errno text, the schedulers offered, "vanished" …).
    case failed(String)
}

/// One line of `apply`: a disk, a setting, what happened.
public struct TuningOutcome: Sendable, Hashable {
    public let disk: String
    public let hctl: HCTL
    public let sessionNumber: Int?
    public let setting: DiskSetting
    public let result: TuningResult

    public init(disk: String, hctl: HCTL, sessionNumber: Int?, setting: DiskSetting, result: TuningResult) {
        self.disk = disk
        self.hctl = hctl
        self.sessionNumber = sessionNumber
        self.setting = setting
        self.result = result
    }
}

/// The only code that writes disk settings: reads the current value, writes only when it
/// differs, and reads back to verify.
public struct DiskTuner: Sendable {
    public let sysfs: FileTree
    public let policy: DiskPolicy

    public init(sysfs: FileTree, policy: DiskPolicy) {
        self.sysfs = sysfs
        self.policy = policy
    }

    /// Tunes every device the policy applies to.
    public func tune(_ devices: [SCSIDevice], dryRun: Bool = false) -> [TuningOutcome] {
        devices.filter(policy.applies).flatMap { tune($0, dryRun: dryRun) }
    }

    /// Tunes one device: its command timeout, and its scheduler when it has a block device.
    public func tune(_ device: SCSIDevice, dryRun: Bool = false) -> [TuningOutcome] {
        func outcome(_ setting: DiskSetting, _ result: TuningResult) -> TuningOutcome {
            TuningOutcome(disk: device.displayName, hctl: device.hctl, sessionNumber: device.sessionNumber,
                          setting: setting, result: result)
        }
        var outcomes = [outcome(.timeout, tuneTimeout(device, dryRun: dryRun))]
        if let disk = device.disk {
            outcomes.append(outcome(.scheduler, tuneScheduler(device, disk: disk, dryRun: dryRun)))
        }
        return outcomes
    }

    func tuneTimeout(_ device: SCSIDevice, dryRun: Bool) -> TuningResult {
        let path = "\(device.devpath)/timeout"
        let wanted = String(policy.timeout)
        let current: String
        switch sysfs.read(path) {
        case .success(let text): current = text.trimmingWhitespace
        case .failure(let error): return .failed(Self.readFailure(error))
        }
        if current == wanted { return .unchanged(wanted) }
        if dryRun { return predictWrite(path, from: current, to: wanted) }
        if case .failure(let error) = sysfs.write(path, wanted) { return .failed(Self.writeFailure(error, wanted)) }
        switch sysfs.read(path) {
        case .success(let text) where text.trimmingWhitespace == wanted: return .changed(from: current, to: wanted)
        case .success(let text): return .failed("wrote \(wanted) but \(path) reads back '\(text.trimmingWhitespace)'")
        case .failure(let error): return .failed(Self.readFailure(error))
        }
    }

    func tuneScheduler(_ device: SCSIDevice, disk: BlockDisk, dryRun: Bool) -> TuningResult {
        let path = "\(device.devpath)/block/\(disk.name)/queue/scheduler"
        let wanted = policy.scheduler
        let current: Scheduler
        switch readScheduler(path) {
        case .success(let scheduler): current = scheduler
        case .failure(let reason): return .failed(reason.description)
        }
        let currentName = current.selected ?? "unknown"
        if currentName == wanted { return .unchanged(wanted) }
        guard current.available.contains(wanted) else {
            return .failed("scheduler '\(wanted)' is not offered by the kernel for \(disk.name); offered: "
                + current.available.joined(separator: ", "))
        }
        if dryRun { return predictWrite(path, from: currentName, to: wanted) }
        if case .failure(let error) = sysfs.write(path, wanted) { return .failed(Self.writeFailure(error, wanted)) }
        switch readScheduler(path) {
        case .success(let after) where after.selected == wanted: return .changed(from: currentName, to: wanted)
        case .success(let after): return .failed("wrote \(wanted) but \(path) reads back '\(after.selected ?? "unknown")'")
        case .failure(let reason): return .failed(reason.description)
        }
    }

    /// A dry run's answer: "would change", or the failure the write would meet (EACCES for a
    /// user who may not write the attribute, EROFS …), checked with the caller's effective ids.
    func predictWrite(_ path: String, from current: String, to wanted: String) -> TuningResult {
        if case .failure(let error) = sysfs.checkWritable(path) { return .failed(Self.writeFailure(error, wanted)) }
        return .wouldChange(from: current, to: wanted)
    }

    private func readScheduler(_ path: String) -> Result<Scheduler, ReasonText> {
        switch sysfs.read(path) {
        case .success(let text):
            guard let scheduler = Scheduler(sysfs: text) else { return .failure(ReasonText("\(path) is unparsable: '\(text)'")) }
            return .success(scheduler)
        case .failure(let error):
            return .failure(ReasonText(Self.readFailure(error)))
        }
    }

    static func readFailure(_ error: FileError) -> String {
        if error.errno == .noSuchFileOrDirectory { return "device vanished (\(error.path) is gone)" }
        return "cannot read \(error.path): \(error.reason)"
    }

    static func writeFailure(_ error: FileError, _ value: String) -> String {
        if error.errno == .noSuchFileOrDirectory { return "device vanished (\(error.path) is gone)" }
        return "cannot write \(value) to \(error.path): \(error.reason)"
    }
}

/// A failure reason as an Error, for `Result`.
struct ReasonText: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
