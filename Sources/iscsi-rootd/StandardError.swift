#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import ISCSIRootCore
import SystemPackage

/// Standard error as a `TextOutputStream`, for `print(…, to: &StandardError.stream)`.
struct StandardError: TextOutputStream {
    nonisolated(unsafe) static var stream = StandardError()

    mutating func write(_ text: String) {
        _ = writeAll(2, text)
    }
}

/// Writes all of `text` to standard output with write(2), not through a stdio buffer whose
/// failure at exit nobody sees. A closed pipe (EPIPE: SIGPIPE is ignored) or a full device
/// (ENOSPC) ends the command with a message on stderr and exit 3, never a silent health code.
func writeOutput(_ text: String) throws {
    if let error = writeAll(1, text) {
        print("iscsi-rootd: cannot write the output: \(error.symbolicName) (\(error))", to: &StandardError.stream)
        throw ExitCode(CommandExit.outputLost)
    }
}

/// Writes every byte of `text` to `fd`; the errno when that failed. A command's output may wait
/// for its reader (a descriptor someone made non-blocking: a second at a time).
private func writeAll(_ fd: Int32, _ text: String) -> Errno? {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw in
        var offset = 0
        while true {
            let (written, error) = RetriedWrite.all(UnsafeRawBufferPointer(rebasing: raw[offset...]), to: fd)
            offset += written
            guard error == .resourceTemporarilyUnavailable else { return error }
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&waiting, 1, 1000)
        }
    }
}

/// Whether standard output is a terminal (colour only then).
var standardOutputIsTerminal: Bool { isatty(1) == 1 }
