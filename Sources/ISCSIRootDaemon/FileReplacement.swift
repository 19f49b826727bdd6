import Glibc
import ISCSIRootCore
import SystemPackage

/// The one way the daemon replaces a file (the state file, the metrics file): in a directory the
/// caller opened, a temporary file is created with O_EXCL|O_NOFOLLOW (a leftover of a killed write,
/// or a link planted there, is unlinked first, never followed), given `mode` whatever the umask,
/// written whole, fsync'd when `durable`, and renamed over the file: a reader sees the old file or
/// the new one, never a torn one.
enum FileReplacement {
    /// What failed: the action with its path (`create /var/lib/iscsi-rootd/state.json.tmp`) and the errno.
    struct Failure: Error, CustomStringConvertible {
        let action: String
        let code: Errno

        var description: String { "cannot \(action): \(Self.text(code))" }

        /// `ENOSPC (No space left on device)`.
        static func text(_ code: Errno) -> String { "\(code.symbolicName) (\(code))" }
    }

    /// Where a write of `name` goes before its rename: `name.tmp`.
    static func temporaryName(_ name: String) -> String { name + ".tmp" }

    /// Replaces `name` in the directory `directoryFD` (shown as `directory`) with `bytes`.
    static func replace(_ name: String, in directoryFD: Int32, directory: String, with bytes: [UInt8],
                        mode: mode_t, durable: Bool) -> Failure? {
        let temporary = temporaryName(name)
        func failure(_ action: String) -> Failure { Failure(action: action, code: Errno(rawValue: errno)) }
        if unlinkat(directoryFD, temporary, 0) != 0 && errno != ENOENT { return failure("remove \(directory)/\(temporary)") }
        let fd = openat(directoryFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        if fd < 0 { return failure("create \(directory)/\(temporary)") }
        fchmod(fd, mode)
        if let error = bytes.withUnsafeBytes({ RetriedWrite.all($0, to: fd).error }) {
            close(fd)
            unlinkat(directoryFD, temporary, 0)
            return Failure(action: "write \(directory)/\(temporary)", code: error)
        }
        if durable { fsync(fd) }
        close(fd)
        if renameat(directoryFD, temporary, directoryFD, name) != 0 { return failure("rename \(directory)/\(temporary)") }
        return nil
    }
}
