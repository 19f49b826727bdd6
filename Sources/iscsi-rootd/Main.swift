import ArgumentParser

/// `iscsi-rootd`: keeps a diskless client whose root file system is on iSCSI alive.
@main
struct IscsiRootd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iscsi-rootd",
        abstract: "Keep a diskless client with its root file system on iSCSI alive.",
        discussion: """
            Tunes iSCSI disks (SCSI command timeout, I/O scheduler), watches session, host and disk \
            recovery in sysfs, and reports what it sees.
            Exit codes: 0 OK, 1 WARNING or a setting failed, 2 CRITICAL or a usage/config error, 3 UNKNOWN.
            """,
        subcommands: [ApplyCommand.self, StatusCommand.self]
    )

    /// Runs the command line; usage errors exit 2 (not ArgumentParser's 64) like config errors.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                print(fullMessage(for: error), to: &StandardError.stream)
                exit(withError: ExitCode(CommandExit.usage))
            }
            exit(withError: error)
        }
    }
}

/// The exit codes the commands share.
enum CommandExit {
    static let failed: Int32 = 1
    static let usage: Int32 = 2
}
