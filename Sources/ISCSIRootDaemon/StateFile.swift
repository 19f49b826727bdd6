import Glibc
import ISCSIRootCore
import SystemPackage

/// `<state-dir>/state.json`, readable by anyone (`status` runs unprivileged).
///
/// Written so that neither a kill at any point nor a hostile file system can do harm: into a
/// directory that is not a symbolic link, belongs to this user and is writable by no one else
/// (else nothing is written and the reason is returned); then `FileReplacement`, fsync'd: a reader
/// sees the old state or the new, never a torn one.
struct StateFile {
    let directory: String

    var path: String { directory + "/" + DaemonSnapshot.fileName }

    /// The last state written: nil when there is none, an error when it cannot be used.
    func read() -> Result<(snapshot: DaemonSnapshot, warnings: [String]), StateFileError>? {
        DaemonSnapshot.read(directory: directory)
    }

    /// Writes `file`; returns what went wrong, if anything.
    func write(_ file: DaemonSnapshot) -> String? {
        replace(DaemonSnapshot.fileName, with: Array((file.json.serialized(pretty: true) + "\n").utf8), durable: true)
    }

    /// Writes `text` as `<state-dir>/status` (`StatusReport.daemonView`); returns what went wrong, if
    /// anything. Not fsync'd: a view is worth only its newest copy.
    func writeView(_ text: String) -> String? {
        replace(StatusReport.daemonViewFileName, with: Array(text.utf8), durable: false)
    }

    /// Replaces `name` in the checked directory, 0644 whatever the umask (the unit sets UMask=0077):
    /// `status` and a person's shell read it unprivileged.
    private func replace(_ name: String, with bytes: [UInt8], durable: Bool) -> String? {
        let directoryFD: Int32
        switch openDirectory() {
        case .success(let fd): directoryFD = fd
        case .failure(let reason): return reason.description
        }
        defer { close(directoryFD) }
        return FileReplacement.replace(name, in: directoryFD, directory: directory, with: bytes, mode: 0o644,
                                       durable: durable)?.description
    }

    /// The state directory, created 0755 when missing; refused when it is a link, not a directory,
    /// owned by another user, or writable by group or others (anyone could plant files there).
    func openDirectory() -> Result<Int32, StateFileError> {
        if mkdir(directory, 0o755) == 0 {
            chmod(directory, 0o755)
        } else if errno != EEXIST {
            return .failure(StateFileError(description: "cannot create \(directory): \(Self.errorText())"))
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let reason = errno == ELOOP || errno == ENOTDIR ? "not a directory (a symbolic link or a file)" : Self.errorText()
            return .failure(StateFileError(description: "refusing the state directory \(directory): \(reason)"))
        }
        var info = stat()
        fstat(fd, &info)
        var problem: String?
        if info.st_uid != geteuid() {
            problem = "owned by uid \(info.st_uid), not \(geteuid())"
        } else if info.st_mode & 0o022 != 0 {
            problem = "writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        if let problem {
            close(fd)
            return .failure(StateFileError(description: "refusing the state directory \(directory): \(problem)"))
        }
        return .success(fd)
    }

    static func errorText() -> String {
        FileReplacement.Failure.text(Errno(rawValue: errno))
    }
}
