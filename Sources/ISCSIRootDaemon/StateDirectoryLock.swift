import Glibc
import ISCSIRootCore
import SystemPackage

/// One daemon per state directory: an exclusive `flock` on `<state-dir>/daemon.lock`, held for the
/// life of the process. Two daemons writing one state file (an admin's `iscsi-rootd run` beside the
/// service) made `status` alternate between their views and their renames fail. The kernel drops
/// the lock when the process dies however it dies, so the daemon systemd restarts (`Restart=always`,
/// the directory kept by `RuntimeDirectoryPreserve=restart`) takes it at once. The holder writes its
/// pid into the file, so a second daemon can name it.
enum StateDirectoryLock {
    static let fileName = "daemon.lock"

    enum Outcome: Equatable {
        /// Held until the process exits (the descriptor is never closed).
        case held
        /// Another process holds it: its pid as the file says ("pid 1234", or what the file holds, escaped).
        case busy(holder: String)
        /// No lock could be taken (the directory is refused, read-only and without the file, …): why.
        case unavailable(String)
    }

    static func acquire(directory: String) -> Outcome {
        let directoryFD: Int32
        switch StateFile(directory: directory).openDirectory() {
        case .success(let fd): directoryFD = fd
        case .failure(let reason): return .unavailable(reason.description)
        }
        defer { close(directoryFD) }
        let path = "\(directory)/\(fileName)"
        // Held read-only: flock needs no write access, and a descriptor open for writing would keep
        // /run from being remounted read-only while the daemon runs.
        let fd = openat(directoryFD, fileName, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
        if fd < 0 {
            return .unavailable("cannot open \(path): \(StateFile.errorText())")
        }
        var info = stat()
        if fstat(fd, &info) != 0 || info.st_mode & S_IFMT != S_IFREG {
            close(fd)
            return .unavailable("refusing \(path): not a regular file")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            defer { close(fd) }
            guard reason == EWOULDBLOCK else {
                return .unavailable("cannot lock \(path): \(FileReplacement.Failure.text(Errno(rawValue: reason)))")
            }
            return .busy(holder: holder(fd))
        }
        // Ours: the pid for a second daemon to name, through a descriptor of its own (closing it
        // leaves the lock, which belongs to the first); best effort: a full /run leaves the file empty.
        let writer = openat(directoryFD, fileName, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if writer >= 0 {
            let text = Array("\(getpid())\n".utf8)
            _ = text.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
            close(writer)
        }
        return .held
    }

    /// The holder as its lock file names it: "pid 1234"; anything else the file holds, escaped.
    static func holder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).trimmingWhitespace
        if let pid = Int32(bounded: text, in: 1...Int32.max) { return "pid \(pid)" }
        return text.isEmpty ? "pid unknown" : "pid unknown, its lock file says '\(text.escapedForDisplay)'"
    }
}
