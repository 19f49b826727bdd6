import Glibc
import ISCSIRootCore

/// The daemon's device-event path, timed on a tree (for `scripts/benchmark`, through `iscsi-rootd-sim events`).
public enum EventPathMeasurement {
    /// One event's cost: the wall clock, the CPU time of the thread that handled it, and how often
    /// the kernel preempted that thread meanwhile (involuntary context switches). On a loaded
    /// machine the wall clock includes other processes' turns; the CPU time is the path's own work.
    public struct Sample: Sendable {
        public let wall: Duration
        public let cpu: Duration
        public let preemptions: Int
    }

    /// For each of `count` rounds: `prepare` (untimed, e.g. untune the disk), then one synthetic `add`
    /// uevent for the SCSI device `hctl` handed to the engine, timed from entering the engine to both
    /// settings written and read back (and journaled, to `logger`).
    public static func run(options: DaemonOptions, hctl: String, devpath: String, count: Int, logger: Logger,
                           prepare: () throws -> Void) throws -> [Sample] {
        var engine = DaemonEngine(options: options, configuration: Configuration(), configurationFiles: [], logger: logger,
                                  notifier: Notifier(), deviceEvents: "synthetic", sessionEvents: "none",
                                  discoversByPolling: false, pid: 0, bootID: "benchmark", at: .now)
        var samples: [Sample] = []
        samples.reserveCapacity(count)
        for seqnum in 0..<count {
            try prepare()
            let event = Uevent(action: .add, subsystem: "scsi", devtype: "scsi_device", devpath: devpath, sysname: hctl,
                               seqnum: UInt64(seqnum), properties: [:])
            let (cpuBefore, switchesBefore) = (threadCPUTime(), involuntarySwitches())
            let start = Moment.monotonicNow
            engine.handle(event, at: .now)
            let wall = Moment.monotonicNow - start
            samples.append(Sample(wall: wall, cpu: threadCPUTime() - cpuBefore, preemptions: involuntarySwitches() - switchesBefore))
        }
        return samples
    }

    /// CLOCK_THREAD_CPUTIME_ID: CPU time this thread has used.
    static func threadCPUTime() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// This thread's involuntary context switches so far (getrusage RUSAGE_THREAD).
    static func involuntarySwitches() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD (a _GNU_SOURCE constant Swift does not import)
        return usage.ru_nivcsw
    }
}
