import ISCSIRootCore

/// How `run` was asked to watch.
public struct DaemonOptions: Sendable {
    public enum UdevMode: String, Sendable, CaseIterable {
        case auto, on, off
    }

    public typealias NetworkMode = UdevMode

    public var sysfs: FileTree
    public var system: FileTree
    public var configFile: String?
    public var stateDirectory: String
    public var udev: UdevMode
    /// Whether to watch this network namespace's links, addresses and routes (rtnetlink): `auto`
    /// only when `--sysfs` is the live /sys, `on` also for a test tree (whose namespace is the
    /// simulated client's), `off` never.
    public var network: NetworkMode = .auto
    /// The base poll interval when all is well; polling is faster while anything is not.
    public var pollInterval: Duration
    /// `/dev/kmsg`, or a file or pipe of records (tests); nil: no kernel log.
    public var kernelLog: String?
    /// Where the critical transitions are written as they happen (`/dev/console`); nil: nowhere.
    public var console: String?

    /// Whether `--sysfs` is the running kernel's /sys: only then do udev and NETLINK_ISCSI events
    /// describe the tree being watched.
    public var watchesLiveSysfs: Bool { sysfs.isLiveSysfs }

    /// Why the network watch is off, said once at start; nil: it is on.
    public var networkOffReason: String? {
        switch network {
        case .on: nil
        case .off: "--network off"
        case .auto: watchesLiveSysfs ? nil : "--sysfs \(sysfs.root) is not the live /sys"
        }
    }

    /// The tree whose `proc/diskstats` holds the I/O counters of the disks under `sysfs`: `--root`
    /// when it is the same kind of tree (both the running system's, or both a test tree), nil when
    /// they differ (the live diskstats would describe other disks under the same names).
    public var diskstats: FileTree? { watchesLiveSysfs == system.isLiveRoot ? system : nil }

    public init(sysfs: FileTree, system: FileTree, configFile: String?, stateDirectory: String, udev: UdevMode,
                pollInterval: Duration, kernelLog: String?) {
        self.sysfs = sysfs
        self.system = system
        self.configFile = configFile
        self.stateDirectory = stateDirectory
        self.udev = udev
        self.pollInterval = pollInterval
        self.kernelLog = kernelLog
    }
}

/// The daemon's judgement and actions, one input at a time, on the event loop's thread alone:
/// scans, tunes, tracks episodes, stalls and damage, and reports through the logger, the notifier
/// and the state file. Time comes in with each call.
struct DaemonEngine {
    let options: DaemonOptions
    let logger: Logger
    let notifier: Notifier
    private(set) var configuration: Configuration
    /// The daemon's view: identity, counters and recent events kept here, the trackers' parts
    /// filled in by `takeSnapshot` before each use (STATUS=, the state file, the metrics).
    private(set) var snapshot: DaemonSnapshot
    private(set) var topology: Topology
    private var recovery = RecoveryTracker()
    private var collisions = CollisionWatch()
    private var paths = PathTracker()
    private var stallTracker = StallTracker()
    private var damageTracker: DamageTracker
    /// SCSI devices seen, with their disk: sd probes asynchronously, so a disk can appear after its device.
    private(set) var knownDevices: [HCTL: String?] = [:]
    private var rootTimers = RootSessionTimers()
    private var lastStatusLine = ""
    /// Why the state file cannot be written, while it cannot: said once when it starts, once when it ends.
    private(set) var stateFileFailure: String?
    /// `[Metrics] TextfileDirectory=`'s file, when set.
    private var metricsFile: MetricsFile?
    /// `--console`, when set.
    private let console: ConsoleLog?
    /// Whether the last write of `<state-dir>/status` failed (said once, and again when it works).
    private var viewFailing = false
    /// The firmware's boot record (iBFT), read once at start: the firmware wrote it before Linux ran.
    private(set) var firmware: FirmwareBoot?
    /// `/metrics` on the sockets systemd passed (iscsi-rootd-metrics.socket), when it passed any.
    var metricsEndpoint: MetricsEndpoint?
    private(set) var lastPoll: Moment
    /// When sysfs was last scanned in full (start, a full poll, the drift sweep), and when a poll
    /// last did all its work on a fresh scan.
    private(set) var lastScan: Moment
    private(set) var lastFullPoll: Moment
    /// What the last full poll's watch read: an idle poll that reads the same does not rescan.
    private var lastWatch: TopologyWatch?
    private(set) var lastIOSample: Moment
    /// Whether the last I/O sample found requests in flight on an iSCSI disk: only then can a stall
    /// begin, so only then are the counters sampled four times a second (`Daemon.loop`).
    private(set) var ioInFlight = false
    private(set) var lastVerify: Moment
    /// Whether new and vanished disks are found by rescanning (no udev).
    let discoversByPolling: Bool
    /// The network under the root sessions (DaemonEngine+Network.swift); nil `routeQuery`: not watched.
    var network = NetworkWatch()
    var routeQuery: RouteNetlinkQuery?
    var networkDue = false
    var lastNetworkCheck: Moment
    var networkEvents = "off"

    init(options: DaemonOptions, configuration: Configuration, configurationFiles: [String], logger: Logger,
         notifier: Notifier, deviceEvents: String, sessionEvents: String, discoversByPolling: Bool,
         pid: Int32, bootID: String, at now: Moment) {
        self.options = options
        self.logger = logger
        self.notifier = notifier
        self.configuration = configuration
        self.discoversByPolling = discoversByPolling
        snapshot = DaemonSnapshot(pid: pid, bootID: bootID, startedMicroseconds: now.wallMicroseconds,
                                  deviceEvents: deviceEvents, sessionEvents: sessionEvents)
        snapshot.note(configuration, files: configurationFiles)
        // A restart within the boot (Restart=always, RuntimeDirectoryPreserve=restart) carries the
        // damage over; a member of the old file that cannot be used is named and left out, the rest kept.
        var previous: DaemonSnapshot?
        switch StateFile(directory: options.stateDirectory).read() {
        case .success(let (file, warnings))?:
            previous = file
            for warning in warnings { logger.warning("previous state: \(warning)") }
        case .failure(let error)?: logger.warning("the previous state is not carried over: \(error)")
        case nil: break
        }
        damageTracker = DamageTracker(carriedOver: previous, bootID: bootID)
        topology = Topology(sessions: [], hosts: [], devices: [], chains: [])
        metricsFile = configuration.textfileDirectory.map { MetricsFile(directory: $0) }
        console = options.console.map { ConsoleLog(path: $0) }
        lastPoll = now
        lastScan = now
        lastFullPoll = now
        lastIOSample = now
        lastVerify = now
        lastNetworkCheck = now
    }

    var scanner: TopologyScanner { TopologyScanner(sysfs: options.sysfs, system: options.system) }

    // MARK: Start

    /// Coldplug: tune every iSCSI disk, set root timers, take baselines, read the kernel log backlog.
    /// - Parameter coldplug: the SCSI devices libudev listed (udev mode); nil: the sysfs scan's.
    mutating func start(coldplug: [HCTL]?, kernelBacklog: [KernelRecord], at now: Moment) {
        topology = scanner.scan()
        firmware = FirmwareBoot.read(sysfs: options.sysfs)
        if let reason = topology.unreadable {
            logger.error("sysfs unreadable: \(reason)")
        }
        var devices = topology.devices
        if let coldplug {
            let sessions = Set(topology.sessions.map(\.number))
            devices = coldplug.compactMap { scanner.readDevice(hctl: $0, iscsiSessions: sessions, detail: .tuning) }
        }
        knownDevices = Self.disksByDevice(devices)
        report(tuning: DiskTuner(sysfs: options.sysfs, policy: configuration.disk).tune(devices), drift: false, at: now)
        tuneSessions(at: now)
        lastWatch = scanner.watch(topology)
        topology = scanner.scan()
        lastScan = now
        if topology.unreadable == nil { snapshot.lastPollMicroseconds = now.wallMicroseconds }
        report(recovery.update(topology, at: now), at: now)
        checkNetwork(at: now)
        report(paths.update(topology, at: now), at: now)
        sampleIO(at: now)
        report(damageTracker.observeExt4(errorCounts: scanner.ext4ErrorCounts(of: topology), topology: topology, at: now), at: now)
        summariseBacklog(kernelBacklog, at: now)
        audit(at: now)
        updateStatus(at: now)
    }

    /// The boot/shutdown chain audit of `iscsi-rootd check`, at start and after a reload: each
    /// problem becomes a journal entry and counts in STATUS=.
    mutating func audit(at now: Moment) {
        let items = BootChainAudit.on(options.system, topology: topology, policy: configuration.disk,
                                      portalRoute: routeQuery == nil ? nil : network.portalRoute(for: topology)).run()
        let report = AuditReport(items: items)
        snapshot.auditProblems = report.problems
        for event in HealthEvent.auditFailed(items, at: now) { emit(event) }
    }

    private mutating func summariseBacklog(_ records: [KernelRecord], at now: Moment) {
        for record in records {
            report(damageTracker.observe(record, topology: topology, at: now, live: false), at: now)
        }
        if let summary = JournalEntry.kernelBacklog(records) { route(summary) }
    }

    // MARK: Inputs

    /// A full look at sysfs is wanted soon: set by device events, so that a burst of them (a LUN
    /// scan adding thousands of disks) costs one rescan, not one per event.
    var pollDue = false

    /// A full look at sysfs: session, host and disk states, root timers, new and vanished disks.
    /// `onlyIfChanged` (the periodic poll): when all is well, the last scan was readable and the
    /// watch (`TopologyWatch`) reads what the last full poll's did, the scan is left out and the
    /// poll reads only the I/O counters, ext4 error counts and the network; a full poll at least
    /// once every VerifyInterval all the same. Events (udev, NETLINK_ISCSI, a reload) poll in full.
    mutating func poll(at now: Moment, onlyIfChanged: Bool = false) {
        lastPoll = now
        pollDue = false
        // The I/O counters first: a stall due on this tick is journaled before the scan, not after
        // it (100-300 ms under QEMU's TCG, measured in the e2e guest); a disk the scan finds new is
        // sampled from the next tick.
        sampleIO(at: now)
        // Read before the scan: a change while scanning makes the next watch differ.
        let watch = scanner.watch(topology)
        if onlyIfChanged, !somethingIsWrong, topology.unreadable == nil, watch == lastWatch,
           now.since(lastFullPoll) + options.pollInterval / 2 < configuration.verifyInterval {
            snapshot.lastPollMicroseconds = now.wallMicroseconds
            checkNetwork(at: now)
            report(damageTracker.observeExt4(errorCounts: scanner.ext4ErrorCounts(of: topology), topology: topology, at: now), at: now)
            updateStatus(at: now)
            return
        }
        lastWatch = watch
        lastFullPoll = now
        lastScan = now
        topology = scanner.scan()
        if topology.unreadable == nil { snapshot.lastPollMicroseconds = now.wallMicroseconds }
        if discoversByPolling { discoverDevices(at: now) }
        report(recovery.update(topology, at: now), at: now)
        checkNetwork(at: now)
        report(paths.update(topology, at: now), at: now)
        tuneSessions(at: now)
        report(damageTracker.observeExt4(errorCounts: scanner.ext4ErrorCounts(of: topology), topology: topology, at: now), at: now)
        updateStatus(at: now)
    }

    /// Reads every iSCSI disk's I/O counters (`TopologyScanner.ioSamples`) for stall detection.
    /// Returns whether there is anything to report: a stall began, ended or goes on.
    @discardableResult
    mutating func sampleIO(at now: Moment) -> Bool {
        lastIOSample = now
        let samples = scanner.ioSamples(of: topology, diskstats: options.diskstats)
        ioInFlight = samples.contains { $0.sample.inflight > 0 }
        let events = stallTracker.update(samples, topology: topology, threshold: configuration.stallThreshold, at: now)
        report(events, at: now)
        return !events.isEmpty || !stallTracker.stalls.isEmpty
    }

    /// The drift sweep: re-verify every disk; what someone else changed is set back and counted.
    /// After a reload (`drift` false) changes are the new configuration's: reported as tuning.
    mutating func verify(at now: Moment, drift: Bool = true) {
        lastVerify = now
        // On the tick of a full poll (they fall due together), its scan is the sweep's.
        if lastScan != now {
            topology = scanner.scan()
            lastScan = now
        }
        report(tuning: DiskTuner(sysfs: options.sysfs, policy: configuration.disk).tune(topology.devices), drift: drift, at: now)
        updateStatus(at: now)
    }

    /// A udev event for a SCSI device or disk: tune it at once (add, change) or forget it (remove).
    mutating func handle(_ event: Uevent, at now: Moment) {
        guard let hctl = Self.hctl(inDevpath: event.devpath) else { return }
        switch event.action {
        case .remove:
            if event.subsystem == "scsi" { knownDevices[hctl] = nil }
            pollDue = true
        case .add, .change, .bind, .online:
            // What the tuner decides on (it reads the settings itself); the poll this sets due reads the rest.
            guard let device = scanner.readDevice(hctl: hctl, iscsiSessions: scanner.sessionNumbers(), detail: .tuning) else { return }
            let isNew = knownDevices.updateValue(device.disk?.name, forKey: hctl) == nil
            report(tuning: DiskTuner(sysfs: options.sysfs, policy: configuration.disk).tune([device]),
                   drift: !isNew && event.action == .change, at: now)
            pollDue = true
        default:
            return
        }
    }

    /// New kernel log records: storage errors re-emitted, damage noted.
    mutating func handle(_ record: KernelRecord, at now: Moment) {
        let events = damageTracker.observe(record, topology: topology, at: now, live: true)
        if !events.isEmpty {
            report(events, at: now)
            updateStatus(at: now)
        }
    }

    /// SIGHUP: read the configuration again; a bad one keeps the old and says why.
    mutating func reload(at now: Moment) -> Bool {
        do {
            let loader = ConfigLoader(system: options.system)
            let fresh = try loader.load(explicitFile: options.configFile)
            if fresh.textfileDirectory != configuration.textfileDirectory {
                if let old = metricsFile {
                    old.retire()
                    logger.notice("metrics file \(old.path) removed: [Metrics] TextfileDirectory= is now \(fresh.textfileDirectory ?? "unset")")
                }
                metricsFile = fresh.textfileDirectory.map { MetricsFile(directory: $0) }
            }
            configuration = fresh
            let configurationFiles = loader.files(explicitFile: options.configFile)
            snapshot.note(fresh, files: configurationFiles)
            let files = configurationFiles.isEmpty ? "built-in defaults (no file)" : configurationFiles.joined(separator: ", ")
            logger.notice("configuration reloaded: \(files)")
            rootTimers.warnAgain()
            poll(at: now)
            verify(at: now, drift: false)
            audit(at: now)
            updateStatus(at: now)
            return true
        } catch {
            emit(.configRejected(error, at: now))
            writeState(at: now)
            return false
        }
    }

    // MARK: Decisions

    /// How long until the next full poll: the base interval when all is well, at most 1 s while
    /// anything is not LOGGED_IN, up, running, or a stall is going on.
    var pollInterval: Duration {
        let base = options.pollInterval
        return somethingIsWrong ? min(base, .seconds(1)) : base
    }

    private var somethingIsWrong: Bool {
        if !recovery.open.isEmpty || !paths.open.isEmpty || !stallTracker.stalls.isEmpty { return true }
        for session in topology.sessions {
            if session.state.value != .loggedIn { return true }
            if session.connections.contains(where: { $0.state.value != .up }) { return true }
        }
        if topology.hosts.contains(where: { $0.state.value != .running }) { return true }
        return topology.iscsiDevices.contains { $0.state.value != .running }
    }

    private mutating func discoverDevices(at now: Moment) {
        let present = Self.disksByDevice(topology.devices)
        let added = topology.devices.filter { knownDevices[$0.hctl] != .some($0.disk?.name) }
        let vanished = Set(knownDevices.keys).subtracting(present.keys)
        knownDevices = present
        for hctl in vanished.sorted() { logger.info("SCSI device \(hctl) is gone") }
        report(tuning: DiskTuner(sysfs: options.sysfs, policy: configuration.disk).tune(added), drift: false, at: now)
        if !added.isEmpty || !vanished.isEmpty { topology = scanner.scan() }
    }

    private mutating func tuneSessions(at now: Moment) {
        let tuner = SessionTuner(sysfs: options.sysfs, policy: configuration.recoveryTimeout)
        for entry in rootTimers.tune(topology, with: tuner, at: now) { route(entry) }
    }

    // MARK: Reporting

    private mutating func report(tuning outcomes: [TuningOutcome], drift: Bool, at now: Moment) {
        for event in outcomes.compactMap({ $0.event(drift: drift, topology: topology, at: now) }) {
            switch event.kind {
            case .driftCorrected: snapshot.corrections += 1
            case .tuningFailed: snapshot.tuningFailures += 1
            default: break
            }
            emit(event)
        }
    }

    private mutating func report(_ events: [HealthEvent], at now: Moment) {
        let attributed = network.attributeCauses(events)
        for event in attributed { emit(event) }
        for event in collisions.observe(attributed, topology: topology, networkWatched: routeQuery != nil, at: now) { emit(event) }
    }

    /// A journal line the core composed: an event is emitted, a notice logged with its fields.
    private mutating func route(_ entry: JournalEntry) {
        switch entry {
        case .event(let event): emit(event)
        case .notice(let message, let fields): logger.notice(message, fields: Self.fields(fields))
        }
    }

    /// One journal entry, kept in the state file's recent events too.
    mutating func emit(_ event: HealthEvent) {
        var fields = Self.fields(event.fields)
        fields[JournalField.messageID.rawValue] = event.kind.id
        logger.log(level: Logger.Level(priority: event.kind.priority), event.message, fields: fields)
        if let console, event.goesToConsole, let problem = console.write(event.consoleLine) {
            logger.warning(problem)
        }
        snapshot.note(event)
    }

    /// Sends STATUS= when it changed and writes the state file.
    mutating func updateStatus(at now: Moment) {
        takeSnapshot(at: now)
        let line = StatusLine.compose(topology: topology, configuration: configuration, view: snapshot,
                                      network: network.statusLine(at: now))
        if line != lastStatusLine {
            lastStatusLine = line
            _ = notifier.status(line)
        }
        writeState(at: now)
    }

    /// Fills the trackers' parts of the view as of `now`.
    private mutating func takeSnapshot(at now: Moment) {
        snapshot.updatedMicroseconds = now.wallMicroseconds
        snapshot.pollInterval = DaemonSnapshot.seconds(pollInterval)
        recovery.record(into: &snapshot, at: now)
        paths.record(into: &snapshot, at: now)
        stallTracker.record(into: &snapshot, at: now)
        damageTracker.record(into: &snapshot)
        snapshot.network = network.record(events: networkEvents, at: now)
    }

    /// Writes the view to the state file, the metrics and `<state-dir>/status`; `running` is false
    /// only for the last view, written as the daemon stops. A state file that cannot be written
    /// (/run full or read-only) changes nothing else: the loop goes on, and the journal hears it
    /// once when the writes start failing and once when they work again.
    mutating func writeState(at now: Moment, running: Bool = true) {
        takeSnapshot(at: now)
        snapshot.statusLine = lastStatusLine
        let failure = StateFile(directory: options.stateDirectory).write(snapshot)
        switch (stateFileFailure, failure) {
        case (nil, let error?):
            logger.warning("cannot write the state file: \(error); the daemon goes on watching, and status will call its view stale")
        case (_?, nil):
            logger.notice("state file \(StateFile(directory: options.stateDirectory).path) written again")
        default: break
        }
        stateFileFailure = failure
        exportMetrics(DaemonStatus(ownState: snapshot))
        writeView(snapshot, running: running, at: now)
    }

    /// `<state-dir>/status`: what `status` would print, from the daemon's own view (StatusReport+DaemonView).
    private mutating func writeView(_ view: DaemonSnapshot, running: Bool, at now: Moment) {
        let report = StatusReport(topology: topology, configuration: configuration,
                                  daemon: .success(DaemonStatus(ownState: view, running: running)), firmware: firmware)
        let problem = StateFile(directory: options.stateDirectory)
            .writeView(report.daemonView(writtenMicroseconds: now.wallMicroseconds, pid: view.pid))
        if let problem, !viewFailing {
            logger.warning("cannot write the status view: \(problem)")
        } else if problem == nil, viewFailing {
            logger.notice("status view \(options.stateDirectory)/\(StatusReport.daemonViewFileName) written again")
        }
        viewFailing = problem != nil
    }

    var statusLine: String { lastStatusLine }

    /// Notes the process's locked and resident memory in the state file.
    mutating func noteMemory(_ usage: ProcessHygiene.MemoryUsage) {
        snapshot.lockedKiB = usage.lockedKiB
        snapshot.residentKiB = usage.residentKiB
    }

    static func fields(_ fields: [JournalField: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: fields.map { ($0.key.rawValue, $0.value) })
    }

    /// Each device with its disk name (nil while it has none).
    static func disksByDevice(_ devices: [SCSIDevice]) -> [HCTL: String?] {
        Dictionary(devices.map { ($0.hctl, $0.disk?.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// The H:C:T:L in a scsi_device or disk devpath (`…/2:0:0:0` or `…/2:0:0:0/block/sda`).
    static func hctl(inDevpath devpath: String) -> HCTL? {
        // A loop, not `lazy.compactMap(…).first`, which parses the first match twice.
        for component in devpath.split(separator: "/").reversed() {
            if let hctl = HCTL(component) { return hctl }
        }
        return nil
    }
}

extension DaemonEngine {
    /// Hands the metrics to the textfile writer and the endpoint (those configured) and logs, once,
    /// when writing or serving starts failing or works again. Called on every state write: each
    /// poll, so at least once a second while anything is wrong (`pollInterval`), and each I/O
    /// sample while a stall goes on.
    private func exportMetrics(_ daemon: DaemonStatus) {
        guard metricsFile != nil || metricsEndpoint != nil else { return }
        let text = MetricsReport(topology: topology, configuration: configuration, daemon: daemon, firmware: firmware).text
        metricsEndpoint?.publish(text)
        if let error = metricsEndpoint?.takeNews() { logger.warning("the metrics endpoint: \(error)") }
        guard let metricsFile else { return }
        metricsFile.publish(text)
        switch metricsFile.takeNews() {
        case .failing(let error)?: logger.warning("cannot write the metrics file: \(error)")
        case .working?: logger.notice("metrics file \(metricsFile.path) written again")
        case nil: break
        }
    }

    /// At stop: the last metrics, saying `iscsi_rootd_daemon_up 0`, served and written within a second.
    func finishMetrics(at now: Moment) {
        guard metricsFile != nil || metricsEndpoint != nil else { return }
        let stopped = DaemonStatus(ownState: snapshot, running: false)
        let text = MetricsReport(topology: topology, configuration: configuration, daemon: stopped, firmware: firmware).text
        metricsEndpoint?.publish(text)
        metricsFile?.finish(text, within: .seconds(1))
    }
}
