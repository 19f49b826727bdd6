import Glibc
import ISCSIRootCore

/// The command line of `iscsi-rootd-daemon` (what `iscsi-rootd run` executes): its options,
/// parsed without Foundation or ArgumentParser, so the daemon's process carries neither.
public enum DaemonCommandLine {
    /// What the command line asks for.
    public enum Request: Sendable {
        case run(DaemonOptions, log: LogDestination)
        case help
        case version
    }

    /// A usage error: the message quotes the argument as given (escape it before printing).
    public struct UsageError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static let usage = """
        USAGE: iscsi-rootd run [--sysfs <path>] [--root <path>] [--config <file>]
                               [--state-dir <dir>] [--udev <udev>] [--network <network>]
                               [--poll-interval <seconds>] [--kernel-log <path>] [--log <log>]
                               [--console <path>]
        """

    public static let help = """
        OVERVIEW: Run the daemon in the foreground (for iscsi-rootd.service, Type=notify).

        Tunes iSCSI disks as they appear (udev) and keeps them tuned, watches session,
        host and disk recovery, stalled I/O and damaged file systems, and reports over
        sd_notify and the journal. SIGHUP reloads the configuration; SIGTERM stops.
        'iscsi-rootd run' executes iscsi-rootd-daemon, installed next to it, with
        these options.

        \(usage)

        OPTIONS:
          --sysfs <path>          The sysfs tree to read and tune. (default: \(DefaultPaths.sysfs))
          --root <path>           The system root for /etc and /proc. (default: \(DefaultPaths.root))
          --config <file>         Read only this file instead of <root>/etc/iscsi-rootd.conf and its .conf.d
                                  drop-ins.
          --state-dir <dir>       Where the daemon writes its state for 'status'. (default: \(DefaultPaths.stateDirectory))
          --udev <udev>           udev events: auto (when udevd runs), on, or off (poll sysfs for new
                                  disks). (values: auto, on, off; default: auto)
          --network <network>     Watch the network under the root (rtnetlink): auto (when --sysfs is the
                                  live /sys), on (also for another tree: this namespace is its client's),
                                  or off. (values: auto, on, off; default: auto)
          --poll-interval <seconds>
                                  Seconds between polls when all is well (fractions allowed); 1 s or less
                                  while anything is not. (default: 5)
          --kernel-log <path>     The kernel log to follow ('none' to not read it). (default: \(DefaultPaths.kernelLog))
          --log <log>             Where log entries go: journal, stderr, or auto (journal when its socket
                                  exists). (values: auto, journal, stderr; default: auto)
          --console <path>        Where critical transitions (the root at risk, stalled, cut off, and
                                  their end) are also written as they happen, without waiting: 'none',
                                  or auto (\(DefaultPaths.console) when the log goes to the journal). (default: auto)
          --version               Show the version.
          -h, --help              Show help information.
        """

    /// The raw arguments (argv's bytes) as text. One that is not UTF-8 is a usage error: Swift's
    /// `CommandLine.arguments` would replace its bytes with U+FFFD, and the daemon would read a
    /// path nobody gave.
    public static func arguments(_ raw: [[UInt8]]) throws(UsageError) -> [String] {
        var result: [String] = []
        for bytes in raw {
            var iterator = bytes.makeIterator()
            var utf8 = UTF8()
            scalars: while true {
                switch utf8.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: break scalars
                case .error:
                    throw UsageError(description: "Argument '\(String(decoding: bytes, as: UTF8.self))' is not valid UTF-8")
                }
            }
            result.append(String(decoding: bytes, as: UTF8.self))
        }
        return result
    }

    /// This process's arguments after the command name, checked by `arguments(_:)`.
    public static func processArguments() throws(UsageError) -> [String] {
        let argv = CommandLine.unsafeArgv
        var raw: [[UInt8]] = []
        for index in 1..<max(1, Int(CommandLine.argc)) {
            guard let pointer = argv[index] else { continue }
            raw.append(Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) })
        }
        return try arguments(raw)
    }

    /// Parses the arguments after the command name (`--name value` or `--name=value`); relative
    /// paths are made absolute against the working directory.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Request {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" { return .help }
            if argument == "--version" { return .version }
            guard argument.hasPrefix("--") else { throw UsageError(description: "Unexpected argument '\(argument)'") }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard Self.options.contains(name) else { throw UsageError(description: "Unknown option '\(argument)'") }
            if value == nil {
                guard index < arguments.count else { throw UsageError(description: "Missing value for '--\(name)'") }
                value = arguments[index]
                index += 1
            }
            values[name] = value
        }

        let udevText = values["udev"] ?? "auto"
        guard let udev = DaemonOptions.UdevMode(rawValue: udevText) else {
            throw UsageError(description: "The value '\(udevText)' is invalid for '--udev <udev>'; use auto, on or off")
        }
        let networkText = values["network"] ?? "auto"
        guard let network = DaemonOptions.NetworkMode(rawValue: networkText) else {
            throw UsageError(description: "The value '\(networkText)' is invalid for '--network <network>'; use auto, on or off")
        }
        let intervalText = values["poll-interval"] ?? "5"
        guard let pollInterval = parseSeconds(intervalText), pollInterval > .zero else {
            throw UsageError(description: "--poll-interval wants seconds above 0 and at most \(Configuration.maximumInterval.wholeSeconds), e.g. 5 or 0.5")
        }
        let log: LogDestination
        switch values["log"] ?? "auto" {
        case "auto": log = .automatic()
        case "journal": log = .journal
        case "stderr": log = .stderr
        case let other: throw UsageError(description: "The value '\(other)' is invalid for '--log <log>'; use auto, journal or stderr")
        }
        let kernelLog = values["kernel-log"] ?? DefaultPaths.kernelLog
        var options = DaemonOptions(
            sysfs: FileTree(root: absolutePath(values["sysfs"] ?? DefaultPaths.sysfs)),
            system: FileTree(root: absolutePath(values["root"] ?? DefaultPaths.root)),
            configFile: values["config"].map(absolutePath),
            stateDirectory: absolutePath(values["state-dir"] ?? DefaultPaths.stateDirectory),
            udev: udev, pollInterval: pollInterval, kernelLog: kernelLog == "none" ? nil : kernelLog)
        options.network = network
        // On stderr (a terminal, a test) the lines are in the log already.
        switch values["console"] ?? "auto" {
        case "auto": options.console = log == .journal ? DefaultPaths.console : nil
        case "none": options.console = nil
        case let path: options.console = absolutePath(path)
        }
        return .run(options, log: log)
    }

    private static let options: Set = ["sysfs", "root", "config", "state-dir", "udev", "network", "poll-interval", "kernel-log",
                                       "log", "console"]
}
