import ArgumentParser
import ISCSIRootCore

/// `iscsi-rootd apply`: tune every iSCSI disk now, without a daemon (udev RUN, initramfs hooks).
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Tune every iSCSI disk now: SCSI command timeout and I/O scheduler.",
        discussion: """
            Writes only what differs and reads it back. One line per disk and setting.
            Exit codes: 0 every setting holds (with --dry-run: none would fail), 1 a setting failed, \
            2 usage or configuration error, 3 UNKNOWN: sysfs unreadable (as status), or the output could not be written.
            """
    )

    @OptionGroup var paths: SystemPaths
    @OptionGroup var settings: ConfigOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .long, help: "Show what would change; write nothing.")
    var dryRun = false

    func run() throws {
        let configuration = try settings.load(root: paths.systemTree)
        // Only what the policy and the tuner decide on: `status` reads the rest.
        let scan = paths.scanner().scanForTuning()
        if let reason = scan.unreadable {
            print("iscsi-rootd: \(reason)".escapedForDisplay, to: &StandardError.stream)
            throw ExitCode(Int32(Severity.unknown.rawValue))
        }
        let outcomes = DiskTuner(sysfs: paths.sysfsTree, policy: configuration.disk).tune(scan.devices, dryRun: dryRun)
        let report = ApplyReport(outcomes: outcomes, multipathPaths: ApplyReport.multipathPaths(scan.devices))
        try writeOutput(output.json ? report.json.serialized(pretty: true) + "\n" : report.text)
        if report.anyFailed { throw ExitCode(CommandExit.failed) }
        // A device whose chain dangles or leads out of the tree was not tuned: unknown, as `status` says.
        let untraceable = paths.scanner().untraceableDevices(besides: scan.devices)
        for reason in untraceable {
            print("iscsi-rootd: \(reason): not tuned".escapedForDisplay, to: &StandardError.stream)
        }
        if !untraceable.isEmpty { throw ExitCode(Int32(Severity.unknown.rawValue)) }
    }
}
