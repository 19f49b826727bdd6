import Glibc
import ISCSIRootCore
import ISCSIRootDaemon

// iscsi-rootd-daemon: the process that keeps the root alive (`iscsi-rootd run` executes it). It
// carries no Foundation, no ArgumentParser and no regex engine, and starts no Swift concurrency (no
// Task, so no libdispatch thread), so what mlockall locks is small and no thread wakes unless the
// daemon has work.

/// Writes `text` to standard error, each line escaped: it may quote an argument as given.
func printError(_ text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(\.escapedForDisplay)
    let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

// A closed pipe is an error to report (EPIPE), never a silent death by SIGPIPE.
signal(SIGPIPE, SIG_IGN)

let request: DaemonCommandLine.Request
do {
    request = try DaemonCommandLine.parse(DaemonCommandLine.processArguments())
} catch {
    printError("Error: \(error)\n\(DaemonCommandLine.usage)\n  See 'iscsi-rootd run --help' for more information.")
    exit(2)
}

switch request {
case .help:
    print(DaemonCommandLine.help)
case .version:
    print(ISCSIRootVersion.current)
case .run(let options, let log):
    // Before any descriptor of the daemon's own exists (signalfd, eventfds): the sockets systemd passed.
    let metricsSockets = PassedSockets.take()
    // Before any thread exists: the blocked signals and the thread defaults are inherited, and
    // PR_SET_IO_FLUSHER is per thread.
    SignalSource.blockHandledSignals()
    // The time zone is read now, while the root answers: glibc reads /etc/localtime at the first
    // local time formatted, and the daemon formats times during an outage (the status view, the
    // console lines), when a read from the root waits for the whole outage.
    tzset()
    let hygiene = ProcessHygiene.apply()
    let logger = Logger(handler: JournalLogHandler(destination: log))
    for step in hygiene {
        if case .failed = step.outcome { logger.warning("\(step)") } else { logger.info("\(step)") }
    }
    let signals: SignalSource
    do {
        signals = try SignalSource()
    } catch {
        logger.critical("\(error)")
        exit(1)
    }
    exit(Daemon.run(options: options, signals: signals, logger: logger, metricsSockets: metricsSockets).rawValue)
}
