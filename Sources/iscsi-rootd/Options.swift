import Glibc
import ArgumentParser
import ISCSIRootCore

/// Where the daemon reads the world: `--sysfs` (default /sys) and `--root` (default /).
struct SystemPaths: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The sysfs tree to read and tune.", valueName: "path"))
    var sysfs = DefaultPaths.sysfs

    @Option(name: .long, help: ArgumentHelp("The system root for /etc and /proc.", valueName: "path"))
    var root = DefaultPaths.root

    var sysfsTree: FileTree { FileTree(root: absolutePath(sysfs)) }
    var systemTree: FileTree { FileTree(root: absolutePath(root)) }

    func scanner() -> TopologyScanner {
        TopologyScanner(sysfs: sysfsTree, system: systemTree)
    }
}

/// The configuration file and the flags that override it.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Read only this file instead of <root>/etc/iscsi-rootd.conf and its .conf.d drop-ins.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("SCSI command timeout in seconds ([Disk] Timeout=).", valueName: "seconds"))
    var timeout: Int?

    @Option(name: .long, help: ArgumentHelp("I/O scheduler ([Disk] Scheduler=).", valueName: "name"))
    var scheduler: String?

    func validate() throws {
        let range = Configuration.timeoutRange
        if let timeout, !range.contains(timeout) {
            throw ValidationError("--timeout wants whole seconds from \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// The configuration under `root`, with the flags applied; a bad file exits 2 naming file:line.
    func load(root: FileTree) throws -> Configuration {
        var configuration: Configuration
        do {
            configuration = try ConfigLoader(system: root).load(explicitFile: config.map(absolutePath))
        } catch {
            print("iscsi-rootd: configuration error: \(error)".escapedForDisplay, to: &StandardError.stream)
            throw ExitCode(CommandExit.usage)
        }
        if let timeout { configuration.disk.timeout = timeout }
        if let scheduler { configuration.disk.scheduler = scheduler }
        return configuration
    }
}

/// `--json` for machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}

extension ColorMode: ExpressibleByArgument {}

/// The value of environment variable `name`, nil when unset.
func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
