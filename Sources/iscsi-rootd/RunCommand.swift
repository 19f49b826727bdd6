import ArgumentParser
import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import Logging

/// `iscsi-rootd run`: the long-running daemon for a systemd `Type=notify` unit.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon in the foreground (for iscsi-rootd.service, Type=notify).",
        discussion: """
            Tunes iSCSI disks as they appear (udev) and keeps them tuned, watches session, host and disk \
            recovery, stalled I/O and damaged file systems, and reports over sd_notify and the journal. \
            SIGHUP reloads the configuration; SIGTERM stops.
            """
    )

    @OptionGroup var paths: SystemPaths

    @Option(name: .long, help: ArgumentHelp(
        "Read only this file instead of <root>/etc/iscsi-rootd.conf and its .conf.d drop-ins.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Where the daemon writes its state for 'status'.", valueName: "dir"))
    var stateDir = "/run/iscsi-rootd"

    @Option(name: .long, help: "udev events: auto (when udevd runs), on, or off (rescan sysfs every poll interval).")
    var udev: DaemonOptions.UdevMode = .auto

    @Option(name: .long, help: ArgumentHelp(
        "Seconds between polls when all is well (fractions allowed); 1 s or less while anything is not.",
        valueName: "seconds"))
    var pollInterval = "5"

    @Option(name: .long, help: ArgumentHelp("The kernel log to follow ('none' to not read it).", valueName: "path"))
    var kernelLog = "/dev/kmsg"

    @Option(name: .long, help: "Where log entries go: journal, stderr, or auto (journal when its socket exists).")
    var log: LogChoice = .auto

    enum LogChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, journal, stderr
    }

    func validate() throws {
        guard let interval = parseSeconds(pollInterval), interval > .zero else {
            throw ValidationError("--poll-interval wants seconds above 0 and at most \(Configuration.maximumInterval.wholeSeconds), e.g. 5 or 0.5")
        }
        _ = interval
    }

    func run() async throws {
        let signals = try SignalSource()
        let destination: LogDestination = switch log {
        case .auto: .automatic()
        case .journal: .journal
        case .stderr: .stderr
        }
        var logger = Logger(label: "iscsi-rootd") { _ in JournalLogHandler(destination: destination) }
        logger.logLevel = .info
        for step in IscsiRootd.startupHygiene {
            if case .failed = step.outcome { logger.warning("\(step)") } else { logger.info("\(step)") }
        }
        let options = DaemonOptions(
            sysfs: paths.sysfsTree, system: paths.systemTree, configFile: config.map(absolutePath),
            stateDirectory: absolutePath(stateDir), udev: udev,
            pollInterval: parseSeconds(pollInterval)!, kernelLog: kernelLog == "none" ? nil : kernelLog)
        let exit = await Daemon.run(options: options, signals: signals, logger: logger)
        if exit != .stopped { throw ExitCode(exit.rawValue) }
    }
}

extension DaemonOptions.UdevMode: ExpressibleByArgument {}
