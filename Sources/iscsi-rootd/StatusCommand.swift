import ArgumentParser
import ISCSIRootCore

/// `iscsi-rootd status`: the root chain, sessions and disks, judged; exit code by the
/// monitoring-plugin convention.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the root chain, iSCSI sessions and disks, and whether they are healthy.",
        discussion: "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (sysfs unreadable, or the output could not be written); "
            + "with --prometheus 0 once the metrics are printed (the state is in them).\n\n"
            + "During an outage of the root, this program waits for the disk like any other started from it. "
            + "In a shell that is already open, its builtins show the daemon's own status instead "
            + "(rewritten every second while anything is wrong):\n"
            + "  while IFS= read -r l; do echo \"$l\"; done < /run/iscsi-rootd/status"
    )

    @OptionGroup var paths: SystemPaths
    @OptionGroup var settings: ConfigOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: ArgumentHelp("Where the daemon writes its state.", valueName: "dir"))
    var stateDir = DefaultPaths.stateDirectory

    @Flag(name: .long, help: "Print the metrics in the Prometheus text format, as the daemon exports them.")
    var prometheus = false

    @Flag(name: .long, help: "Print one monitoring-plugin line with performance data (Nagios, Icinga).")
    var nagios = false

    @Option(name: .long, help: ArgumentHelp("Colour the text: auto (on a terminal, unless NO_COLOR is set), always or never.",
                                            valueName: "when"))
    var color = ColorMode.auto

    func validate() throws {
        if [prometheus, output.json, nagios].filter({ $0 }).count > 1 {
            throw ValidationError("--json, --prometheus and --nagios exclude each other")
        }
    }

    func run() throws {
        let configuration = try settings.load(root: paths.systemTree)
        let daemon = DaemonStatus.read(stateDirectory: absolutePath(stateDir), system: paths.systemTree,
                                       nowMicroseconds: Moment.now.wallMicroseconds)
        let firmware = FirmwareBoot.read(sysfs: paths.sysfsTree)
        if prometheus {
            let status = if case .success(let status)? = daemon { status } else { DaemonStatus?.none }
            try writeOutput(MetricsReport(topology: paths.scanner().scan(), configuration: configuration, daemon: status, firmware: firmware).text)
            return
        }
        let report = StatusReport(topology: paths.scanner().scan(), configuration: configuration, daemon: daemon, firmware: firmware)
        try writeOutput(nagios ? report.nagiosLine : output.json ? report.json.serialized(pretty: true) + "\n" : report.text(color: color.enabled(terminal: standardOutputIsTerminal, noColor: environmentValue("NO_COLOR"))))
        if report.overall != .ok { throw ExitCode(Int32(report.overall.rawValue)) }
    }
}
