import ISCSIRootCore
import Logging

/// The daemon's device-event path, timed on a tree (for `scripts/benchmark`, through `iscsi-rootd-sim events`).
public enum EventPathMeasurement {
    /// For each of `count` rounds: `prepare` (untimed, e.g. untune the disk), then one synthetic `add`
    /// uevent for the SCSI device `hctl` handed to the engine, timed from entering the engine to both
    /// settings written and read back (and journaled, to `logger`).
    public static func run(options: DaemonOptions, hctl: String, devpath: String, count: Int, logger: Logger,
                           prepare: () throws -> Void) throws -> [Duration] {
        var engine = DaemonEngine(options: options, configuration: Configuration(), configurationFiles: [], logger: logger,
                                  notifier: Notifier(), deviceEvents: "synthetic", sessionEvents: "none",
                                  discoversByPolling: false, pid: 0, bootID: "benchmark", at: .now)
        let clock = ContinuousClock()
        var durations: [Duration] = []
        durations.reserveCapacity(count)
        for seqnum in 0..<count {
            try prepare()
            let event = Uevent(action: .add, subsystem: "scsi", devtype: "scsi_device", devpath: devpath, sysname: hctl,
                               seqnum: UInt64(seqnum), properties: [:])
            let start = clock.now
            engine.handle(event, at: .now)
            durations.append(clock.now - start)
        }
        return durations
    }
}
