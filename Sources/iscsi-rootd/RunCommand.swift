import ArgumentParser
import Glibc
import ISCSIRootDaemon

/// `iscsi-rootd run`: executes `iscsi-rootd-daemon`, installed next to this binary, in this
/// process (same PID, so systemd's `Type=notify` and `MAINPID` see the daemon). The daemon's
/// process then carries none of this command line tool's Foundation, ArgumentParser or Swift
/// concurrency; it parses and documents the options itself (`iscsi-rootd run --help`).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon in the foreground (for iscsi-rootd.service, Type=notify).",
        discussion: "Executes iscsi-rootd-daemon, installed next to iscsi-rootd, with these arguments; "
            + "'iscsi-rootd run --help' shows its options.",
        helpNames: []
    )

    /// The daemon's name, in the directory of the running `iscsi-rootd`.
    static let daemonName = "iscsi-rootd-daemon"

    @Argument(parsing: .allUnrecognized, help: "The daemon's options (see 'iscsi-rootd run --help').")
    var arguments: [String] = []

    func run() throws {
        // ArgumentParser has already replaced the bytes of a non-UTF-8 argument with U+FFFD.
        do {
            _ = try DaemonCommandLine.processArguments()
        } catch {
            print("Error: \(error)".escapedForDisplay, to: &StandardError.stream)
            throw ExitCode(2)
        }
        let daemon = Self.daemonPath()
        var cArguments: [UnsafeMutablePointer<CChar>?] = [strdup(daemon)] + arguments.map { strdup($0) }
        cArguments.append(nil)
        execv(daemon, &cArguments)
        let error = errno
        let shown = String(decoding: daemon.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        print("iscsi-rootd: cannot execute \(shown): \(String(cString: strerror(error)))".escapedForDisplay,
              to: &StandardError.stream)
        throw ExitCode(CommandExit.failed)
    }

    /// The daemon next to the running executable (`/proc/self/exe`, so a symlink to iscsi-rootd
    /// still finds the installed daemon), as the kernel's bytes: an install directory whose name is
    /// not UTF-8 is still found.
    static func daemonPath() -> [CChar] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let name = Array(daemonName.utf8CString)
        guard count > 0, let slash = buffer[..<count].lastIndex(of: CChar(UInt8(ascii: "/"))) else { return name }
        return Array(buffer[...slash]) + name
    }
}
