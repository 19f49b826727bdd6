import Glibc
import ISCSIRootCore

/// `<state-dir>/state.json`, written atomically (temp file + rename) and readable by anyone.
struct StateFile {
    let directory: String

    var path: String { directory + "/" + DaemonState.fileName }

    /// The last state written, if any.
    func read() -> JSONValue? {
        guard case .success(let text) = FileTree(root: "").read(path) else { return nil }
        return JSONValue(parsing: text)
    }

    /// Writes `json`; returns what went wrong, if anything.
    func write(_ json: JSONValue) -> String? {
        // Readable by anyone whatever the umask (the unit sets UMask=0077): `status` runs unprivileged.
        if mkdir(directory, 0o755) == 0 {
            chmod(directory, 0o755)
        } else if errno != EEXIST {
            return "mkdir \(directory): \(String(cString: strerror(errno)))"
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { return "open \(temporary): \(String(cString: strerror(errno)))" }
        fchmod(fd, 0o644)
        var bytes = Array((json.serialized(pretty: true) + "\n").utf8)
        let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let writeError = written == bytes.count ? nil : "write \(temporary): \(String(cString: strerror(errno)))"
        close(fd)
        if let writeError { return writeError }
        if rename(temporary, path) != 0 { return "rename \(temporary): \(String(cString: strerror(errno)))" }
        return nil
    }
}
