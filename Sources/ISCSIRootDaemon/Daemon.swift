import Glibc
import ISCSIRootCore
import SystemPackage

/// `iscsi-rootd run`: wires the event sources (udev, NETLINK_ISCSI, rtnetlink, the kernel log,
/// signals, timers) into one loop that feeds `DaemonEngine`, and speaks sd_notify. No Swift
/// concurrency: the sources put their inputs into the loop's inbox from their own threads, and
/// the loop runs on the calling thread.
public enum Daemon {
    /// What ended the loop, as the process exit code.
    public enum Exit: Int32 {
        case stopped = 0
        case failed = 1
        case configuration = 2
    }

    /// Everything the loop waits for, merged into one stream.
    enum Input: Sendable {
        case device(DeviceEvent)
        case iscsi(ISCSIKernelEvent)
        case network(RouteNetlinkListener.Event)
        case kernel(KernelRecord)
        case signal(SignalRequest)
    }

    /// Runs until SIGTERM or SIGINT. The signals must have been blocked before any thread started
    /// (`SignalSource.blockHandledSignals()` first thing in `main`).
    /// `metricsSockets`: what systemd passed (`PassedSockets.take()`, first thing in `main`).
    public static func run(options: DaemonOptions, signals: SignalSource, logger: Logger,
                           metricsSockets: PassedSockets = .none) -> Exit {
        let notifier = Notifier()
        let loader = ConfigLoader(system: options.system)
        let configuration: Configuration
        do {
            configuration = try loader.load(explicitFile: options.configFile)
        } catch {
            logger.critical("configuration error: \(error)")
            _ = notifier.errno(EINVAL)
            return .configuration
        }

        // Before the previous state is read: a second daemon must not take over the first one's file.
        switch StateDirectoryLock.acquire(directory: options.stateDirectory) {
        case .held: break
        case .busy(let holder):
            logger.critical("another iscsi-rootd (\(holder)) already keeps \(options.stateDirectory); not starting a second one")
            _ = notifier.errno(EBUSY)
            return .configuration
        case .unavailable(let reason):
            logger.warning("\(reason); running without the one-daemon-per-state-directory lock")
        }

        let inbox: Inbox<Input>
        do {
            inbox = try Inbox(capacity: 8192)
        } catch {
            logger.critical("cannot create the event loop's eventfd: \(error)")
            return .failed
        }

        // Device events: libudev when udevd runs and --sysfs is the real one, else rescans.
        var monitor: UdevMonitor?
        var deviceEvents = "udev"
        var fallbackReason: String?
        if options.udev == .off {
            fallbackReason = "--udev off"
        } else if !options.watchesLiveSysfs {
            fallbackReason = "--sysfs \(options.sysfs.root) is not the live /sys"
        } else if !UdevMonitor.isUdevdRunning() {
            fallbackReason = "udevd is not running (/run/udev/control is missing)"
        } else {
            do {
                monitor = try UdevMonitor(source: .udev, matches: [.scsiDevice, .disk]) { inbox.put(.device($0)) }
            } catch {
                fallbackReason = "the udev monitor failed: \(error)"
            }
        }
        if let fallbackReason { deviceEvents = "polling sysfs (\(fallbackReason))" }

        // Session events: NETLINK_ISCSI wakes the loop at once on connection errors.
        var listener: NetlinkISCSIListener?
        var sessionEvents = "netlink"
        if options.watchesLiveSysfs {
            do {
                listener = try NetlinkISCSIListener { inbox.put(.iscsi($0)) }
            } catch {
                sessionEvents = "polling only (NETLINK_ISCSI: \(error))"
            }
        } else {
            sessionEvents = "polling only (--sysfs is not the live /sys)"
        }

        // The network under the root: rtnetlink events, this namespace's own. A --sysfs that is not
        // the live /sys describes another client, whose addresses this host may not have: no watch
        // unless --network on says this namespace is that client's (a test's network namespace).
        var routeListener: RouteNetlinkListener?
        var routeQuery: RouteNetlinkQuery?
        var networkFailure: String?
        if let reason = options.networkOffReason {
            networkFailure = reason
        } else {
            do {
                routeListener = try RouteNetlinkListener { inbox.put(.network($0)) }
                routeQuery = try RouteNetlinkQuery()
            } catch {
                routeListener?.stop()
                networkFailure = error.description
            }
        }

        var kernelLog: KernelLogReader?
        if let path = options.kernelLog {
            do {
                kernelLog = try KernelLogReader(path: path) { inbox.put(.kernel($0)) }
            } catch {
                logger.warning("\(error); file system damage is then seen through ext4 error counters only")
            }
        }

        var engine = DaemonEngine(
            options: options, configuration: configuration, configurationFiles: loader.files(explicitFile: options.configFile),
            logger: logger, notifier: notifier, deviceEvents: deviceEvents, sessionEvents: sessionEvents,
            discoversByPolling: monitor == nil, pid: getpid(), bootID: bootID(options.system), at: .now)
        if let fallbackReason {
            engine.emit(.udevFallback(fallbackReason, at: .now))
        }
        // /metrics from locked memory, when iscsi-rootd-metrics.socket passed its sockets.
        for problem in metricsSockets.rejected { logger.warning("socket activation: \(problem); not served") }
        if !metricsSockets.listeners.isEmpty {
            do {
                engine.metricsEndpoint = try MetricsEndpoint(listeners: metricsSockets.listeners)
                logger.info("serving /metrics on \(metricsSockets.listeners.count) socket(s) from systemd")
            } catch {
                logger.warning("cannot serve /metrics on the sockets from systemd: \(error)")
            }
        }
        if let routeQuery {
            engine.watchNetwork(with: routeQuery, events: "rtnetlink")
        } else if let networkFailure {
            if options.networkOffReason != nil {
                logger.notice("the network under the root is not watched: \(networkFailure) (--network on watches this namespace's)")
            } else {
                logger.warning("the network under the root is not watched: \(networkFailure)")
            }
            engine.networkEvents = "off (\(networkFailure))"
        }
        // Coldplug: with udev, the SCSI devices libudev knows; without, the sysfs scan's.
        var coldplug: [HCTL]?
        if monitor != nil {
            do {
                coldplug = try UdevEnumeration.devpaths(matching: .scsiDevice).compactMap(DaemonEngine.hctl(inDevpath:))
            } catch {
                logger.warning("udev enumeration failed (\(error)); coldplug from the sysfs scan")
            }
        }
        engine.start(coldplug: coldplug, kernelBacklog: kernelLog?.takeBacklog() ?? [], at: .now)
        let memory = ProcessHygiene.memoryUsage()
        if let memory { engine.noteMemory(memory) }
        engine.emit(.started(deviceEvents: deviceEvents, sessionEvents: sessionEvents, status: engine.statusLine,
                             lockedKiB: memory?.lockedKiB, at: .now))
        engine.writeState(at: .now)
        if case .failed(let error) = notifier.ready(status: engine.statusLine), let socket = notifier.socket {
            // systemd waits for READY=1 until TimeoutStartSec, then stops a Type=notify service: say why, once.
            logger.warning("cannot notify the service manager at NOTIFY_SOCKET=\(socket): \(error); it does not hear "
                           + "READY=1, STATUS= or WATCHDOG=1 (a Type=notify unit fails its start at TimeoutStartSec)")
        }

        let watchdog = Notifier.watchdog()
        if let warning = watchdog.warning { logger.warning(warning) }
        let exit = loop(engine: &engine, inbox: inbox, signals: signals, watchdog: watchdog.interval,
                        notifier: notifier, logger: logger)
        _ = notifier.stopping()
        engine.emit(.stopping(at: .now))
        engine.writeState(at: .now, running: false)
        engine.finishMetrics(at: .now)
        engine.metricsEndpoint?.stop()

        monitor?.stop()
        listener?.stop()
        routeListener?.stop()
        kernelLog?.stop()
        // What a full journal or stderr still holds gets a second, as the metrics' last write does.
        logger.finish(within: .seconds(1))
        return exit
    }

    /// The event loop, on the calling thread: sleeps until an input or a signal arrives or the next tick, handles
    /// every input, then whatever periodic work is due. One timer drives everything periodic: I/O
    /// samples each tick (1 s, or less with a shorter poll or verify interval or watchdog; a quarter
    /// second while requests are in flight), polls, drift sweeps and the watchdog on the tick they
    /// fall due, so a quiet daemon wakes once a tick.
    static func loop(engine: inout DaemonEngine, inbox: Inbox<Input>, signals: SignalSource, watchdog: Duration?,
                     notifier: Notifier, logger: Logger) -> Exit {
        let start = Moment.now
        var lastWatchdog = start
        while true {
            // The configuration can change with a reload.
            // Never below `minimumTick`, whatever an option, the configuration or the environment says:
            // the arithmetic below divides by it, and a shorter one only burns the CPU.
            let tick = max(minimumTick, [.seconds(1), engine.options.pollInterval, engine.configuration.verifyInterval,
                                         watchdog.map { $0 / 2 }].compactMap { $0 }.min()!)
            /// Due at the tick nearest its time: a timer's wake-up comes a little late, never early.
            func isDue(_ last: Moment, _ interval: Duration, at now: Moment) -> Bool { now.since(last) + tick / 2 >= interval }
            var now = Moment.now
            var wakeAt = start.monotonic + tick * Int(now.since(start) / tick + 1)
            // A burst of device events costs one rescan a quarter second; of network messages (a route
            // query per root session, cheap) one look a tenth of a second, so a short cut is not missed.
            if engine.pollDue { wakeAt = min(wakeAt, engine.lastPoll.monotonic + .milliseconds(250)) }
            if engine.networkDue { wakeAt = min(wakeAt, engine.lastNetworkCheck.monotonic + .milliseconds(100)) }
            // While requests are in flight the counters are read every quarter second, so a stall shows
            // at most a quarter second after its threshold; an idle disk cannot stall and costs no wake-up.
            let ioInterval = engine.ioInFlight ? min(tick, .milliseconds(250)) : tick
            if engine.ioInFlight { wakeAt = min(wakeAt, engine.lastIOSample.monotonic + ioInterval) }
            let waitMilliseconds = max(0, Int32(((wakeAt - now.monotonic) / .milliseconds(1)).rounded(.up)))
            let waited = inbox.event.wait(for: signals.fd, timeoutMilliseconds: waitMilliseconds)
            now = Moment.now
            // The timer's wake-up runs a little late: work done on the tick is dated at the tick, so
            // I/O samples are exactly a tick apart and a stall shows at the sample that completes its
            // threshold, not a tick later.
            if waited == .timedOut, now.monotonic >= wakeAt, now.monotonic - wakeAt < tick / 2 {
                now = Moment(monotonic: wakeAt, wallMicroseconds: now.wallMicroseconds - (now.monotonic - wakeAt).microseconds)
            }
            for input in inbox.takeAll() + signals.takeAll().map(Input.signal) {
                switch input {
                case .device(.uevent(let event)):
                    engine.handle(event, at: now)
                case .device(.overflow):
                    logger.warning("udev events were lost (receive buffer overflow); rescanning sysfs")
                    engine.verify(at: now)
                    engine.poll(at: now)
                case .iscsi:
                    // At once for a connection error; a burst (many sessions logging in) polls once.
                    if now.since(engine.lastPoll) >= .milliseconds(100) { engine.poll(at: now) } else { engine.pollDue = true }
                case .network(.message(let message)):
                    engine.handle(network: message, at: now)
                case .network(.overflow):
                    logger.warning("rtnetlink messages were lost (receive buffer overflow); reading links and addresses again")
                    engine.reloadNetwork(at: now)
                case .kernel(let record):
                    engine.handle(record, at: now)
                case .signal(.reload):
                    _ = notifier.reloading()
                    _ = engine.reload(at: now)
                    _ = notifier.ready(status: engine.statusLine)
                case .signal(.stop(let name)):
                    logger.info("\(name) received; stopping")
                    return .stopped
                }
            }
            if engine.networkDue && now.since(engine.lastNetworkCheck) >= .milliseconds(100) { engine.checkNetwork(at: now) }
            if (engine.pollDue && now.since(engine.lastPoll) >= .milliseconds(250)) || isDue(engine.lastPoll, engine.pollInterval, at: now) {
                engine.poll(at: now, onlyIfChanged: !engine.pollDue)
            } else if now.since(engine.lastIOSample) + ioInterval / 2 >= ioInterval, engine.sampleIO(at: now) {
                engine.updateStatus(at: now)
            }
            if isDue(engine.lastVerify, engine.configuration.verifyInterval, at: now) { engine.verify(at: now) }
            if let watchdog, isDue(lastWatchdog, watchdog / 2, at: now) {
                lastWatchdog = now
                _ = notifier.watchdog()
            }
            // What a full peer did not take goes now if it takes again; none of this ever waits.
            if let delivery = notifier.flush() {
                logger.notice("the service manager's notification socket \(delivery.text("notifications"))"
                              + " (the newest STATUS= and WATCHDOG=1 were kept)")
            }
            logger.flush()
        }
    }

    /// The shortest tick of the loop (10 ms: the test suite's shortest VerifyInterval).
    static let minimumTick = Duration.milliseconds(10)

    static func bootID(_ system: FileTree) -> String {
        system.attribute("proc/sys/kernel/random/boot_id").value ?? "unknown"
    }
}

extension Moment {
    /// Now: CLOCK_MONOTONIC (the kernel log's clock) and CLOCK_REALTIME.
    public static var now: Moment {
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        return Moment(monotonic: monotonicNow,
                      wallMicroseconds: Int64(realtime.tv_sec) * 1_000_000 + Int64(realtime.tv_nsec) / 1000)
    }

    /// CLOCK_MONOTONIC alone, for deadlines and intervals. Not `ContinuousClock`: it lives in Swift's
    /// concurrency runtime, which would link that runtime and libdispatch into the daemon (issue 14).
    public static var monotonicNow: Duration {
        var monotonic = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        return .seconds(monotonic.tv_sec) + .nanoseconds(monotonic.tv_nsec)
    }
}
