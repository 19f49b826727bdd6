import ArgumentParser
import ISCSIRootCore

/// `iscsi-rootd status`: the root chain, sessions and disks, judged; exit code by the
/// monitoring-plugin convention.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the root chain, iSCSI sessions and disks, and whether they are healthy.",
        discussion: "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (sysfs unreadable)."
    )

    @OptionGroup var paths: SystemPaths
    @OptionGroup var settings: ConfigOptions
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: ArgumentHelp("Where the daemon writes its state.", valueName: "dir"))
    var stateDir = "/run/iscsi-rootd"

    func run() throws {
        let configuration = try settings.load(root: paths.systemTree)
        let daemon = DaemonStatus.read(stateDirectory: stateDir, system: paths.systemTree)
        let report = StatusReport(topology: paths.scanner().scan(), configuration: configuration, daemon: daemon)
        if output.json {
            print(report.json.serialized(pretty: true))
        } else {
            print(report.text(color: standardOutputIsTerminal), terminator: "")
        }
        if report.overall != .ok { throw ExitCode(Int32(report.overall.rawValue)) }
    }
}
