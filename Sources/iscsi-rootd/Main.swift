import ArgumentParser
import Glibc
import ISCSIRootCore
import ISCSIRootDaemon

/// `iscsi-rootd`: keeps a diskless client whose root file system is on iSCSI alive.
@main
struct IscsiRootd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iscsi-rootd",
        abstract: "Keep a diskless client with its root file system on iSCSI alive.",
        discussion: """
            Tunes iSCSI disks (SCSI command timeout, I/O scheduler), watches session, host and disk \
            recovery in sysfs, and reports what it sees.
            Exit codes: 0 OK, 1 WARNING or a setting failed, 2 CRITICAL or a usage/config error, 3 UNKNOWN.
            """,
        version: ISCSIRootVersion.current,
        subcommands: [StatusCommand.self, ApplyCommand.self, CheckCommand.self, RunCommand.self, CatalogCommand.self]
    )

    /// Runs the command line synchronously: no command is async, so no Swift concurrency thread
    /// starts (`run` executes the daemon in this process). Usage errors exit 2 (not
    /// ArgumentParser's 64) like config errors.
    static func main() {
        // A closed pipe is an error to report (EPIPE), never a silent death by SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                // Escaped: the message quotes the argument as given.
                print(fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false)
                    .map(\.escapedForDisplay).joined(separator: "\n"), to: &StandardError.stream)
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
    /// The output could not be written (closed pipe, full device).
    static let outputLost: Int32 = 3
}
