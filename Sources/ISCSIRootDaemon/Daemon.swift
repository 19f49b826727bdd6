import Glibc
import ISCSIRootCore
import Logging

/// `iscsi-rootd run`: wires the event sources (udev, NETLINK_ISCSI, the kernel log, signals,
/// timers) into one loop that feeds `DaemonEngine`, and speaks sd_notify.
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
        case tick
    }

    /// Runs until SIGTERM or SIGINT. The signals must have been blocked before any thread started
    /// (`SignalSource.blockHandledSignals()` first thing in `main`).
    public static func run(options: DaemonOptions, signals: SignalSource, logger: Logger) async -> Exit {
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

        let (inputs, mailbox) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .bufferingOldest(8192))
        var forwarders: [Task<Void, Never>] = []
        func forward<Element: Sendable>(_ stream: AsyncStream<Element>, as wrap: @escaping @Sendable (Element) -> Input) {
            forwarders.append(Task { for await element in stream { mailbox.yield(wrap(element)) } })
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
                let udev = try UdevMonitor(source: .udev, matches: [.scsiDevice, .disk])
                monitor = udev
                forward(udev.events) { .device($0) }
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
                let netlink = try NetlinkISCSIListener()
                listener = netlink
                forward(netlink.events) { .iscsi($0) }
            } catch {
                sessionEvents = "polling only (NETLINK_ISCSI: \(error))"
            }
        } else {
            sessionEvents = "polling only (--sysfs is not the live /sys)"
        }

        // The network under the root: rtnetlink events (this namespace's own, whatever --sysfs is).
        var routeListener: RouteNetlinkListener?
        var routeQuery: RouteNetlinkQuery?
        var networkFailure: String?
        do {
            let listener = try RouteNetlinkListener()
            routeQuery = try RouteNetlinkQuery()
            routeListener = listener
            forward(listener.events) { .network($0) }
        } catch {
            routeListener?.stop()
            networkFailure = error.description
        }

        var kernelLog: KernelLogReader?
        if let path = options.kernelLog {
            do {
                let reader = try KernelLogReader(path: path)
                kernelLog = reader
                forward(reader.records) { .kernel($0) }
            } catch {
                logger.warning("\(error); file system damage is then seen through ext4 error counters only")
            }
        }
        forward(signals.requests) { .signal($0) }

        var engine = DaemonEngine(
            options: options, configuration: configuration, configurationFiles: loader.files(explicitFile: options.configFile),
            logger: logger, notifier: notifier, deviceEvents: deviceEvents, sessionEvents: sessionEvents,
            discoversByPolling: monitor == nil, pid: getpid(), bootID: bootID(options.system), at: .now)
        if let fallbackReason {
            engine.emit(HealthEvent(.udevFallback, "new and vanished disks are found by rescanning sysfs every poll interval: \(fallbackReason)",
                                    fields: [:], at: .now))
        }
        if let routeQuery {
            engine.watchNetwork(with: routeQuery, events: "rtnetlink")
        } else if let networkFailure {
            logger.warning("the network under the root is not watched: \(networkFailure)")
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
        engine.start(coldplug: coldplug, kernelBacklog: kernelLog?.backlog ?? [], at: .now)
        let memory = ProcessHygiene.memoryUsage()
        if let memory { engine.noteMemory(memory) }
        let memoryText = memory.map { "; \($0.lockedKiB / 1024) MiB locked" } ?? ""
        engine.emit(HealthEvent(.started, "iscsi-rootd started: \(deviceEvents), \(sessionEvents); \(engine.statusLine)\(memoryText)",
                                fields: [:], at: .now))
        engine.writeState(at: .now)
        _ = notifier.ready(status: engine.statusLine)

        let watchdog = Notifier.watchdogInterval()
        // The loop's clock: timers (polls, I/O samples, drift sweeps, the watchdog) are checked each tick.
        let tick = [options.pollInterval / 2, .milliseconds(250), watchdog.map { $0 / 2 }].compactMap { $0 }.min()!
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: max(tick, .milliseconds(20)))
                mailbox.yield(.tick)
            }
        }
        var lastWatchdog = Moment.now
        var exit = Exit.stopped

        loop: for await input in inputs {
            let now = Moment.now
            switch input {
            case .device(.uevent(let event)):
                engine.handle(event, at: now)
            case .device(.overflow):
                logger.warning("udev events were lost (receive buffer overflow); rescanning sysfs")
                engine.verify(at: now)
                engine.poll(at: now)
            case .iscsi:
                // At once for a connection error; a burst (many sessions logging in) polls once a tick.
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
                break loop
            case .tick:
                break
            }
            let isTick = if case .tick = input { true } else { false }
            if engine.networkDue && isTick { engine.checkNetwork(at: now) }
            if (engine.pollDue && isTick) || now.since(engine.lastPoll) >= engine.pollInterval { engine.poll(at: now) }
            if now.since(engine.lastIOSample) >= engine.ioSampleInterval {
                engine.sampleIO(at: now)
                engine.updateStatus(at: now)
            }
            if now.since(engine.lastVerify) >= engine.configuration.verifyInterval { engine.verify(at: now) }
            if let watchdog, now.since(lastWatchdog) >= watchdog / 2 {
                lastWatchdog = now
                _ = notifier.watchdog()
            }
            if Task.isCancelled { exit = .failed; break loop }
        }

        _ = notifier.stopping()
        engine.emit(HealthEvent(.stopping, "iscsi-rootd stopping; disk settings stay as they are", fields: [:], at: .now))
        engine.writeState(at: .now)
        engine.finishMetrics(at: .now)
        ticker.cancel()
        monitor?.stop()
        listener?.stop()
        routeListener?.stop()
        kernelLog?.stop()
        signals.stop()
        for task in forwarders { task.cancel() }
        mailbox.finish()
        return exit
    }

    static func bootID(_ system: FileTree) -> String {
        system.attribute("proc/sys/kernel/random/boot_id").value ?? "unknown"
    }
}

extension Moment {
    /// Now: CLOCK_MONOTONIC (the kernel log's clock) and CLOCK_REALTIME.
    public static var now: Moment {
        var monotonic = timespec()
        var realtime = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        clock_gettime(CLOCK_REALTIME, &realtime)
        return Moment(monotonic: .seconds(monotonic.tv_sec) + .nanoseconds(monotonic.tv_nsec),
                      wallMicroseconds: Int64(realtime.tv_sec) * 1_000_000 + Int64(realtime.tv_nsec) / 1000)
    }
}
