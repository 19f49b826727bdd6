import Glibc
import ISCSIRootCore

/// The daemon's critical transitions written to the system console as they happen (`--console`,
/// `/dev/console` under systemd; `MessageKind.console` says which). During an outage the journal
/// carries them only once it is over: its files are on the root, journald fsyncs after crit entries
/// and waits on the frozen disk. A serial console (and whatever logs it, a console server or IPMI
/// serial-over-LAN) needs no disk.
///
/// Not /dev/kmsg, which netconsole would carry too: journald imports every record userspace writes
/// there (journald-kmsg.c skips only its own records, or all of them with ForwardToKMsg=yes), so
/// each line would be in the journal twice, once without its fields.
///
/// Every write is non-blocking (O_NONBLOCK, and a tty's write lock is only tried then): a console
/// that cannot take a line (a slow serial line's buffer full: EAGAIN) loses it, counted, and the next
/// line that gets out says how many were lost. A console that fails otherwise (EIO after a hangup)
/// is opened again for the next line.
final class ConsoleLog {
    let path: String
    private var fd: Int32 = -1
    /// Lines lost since the last one that got out.
    private(set) var lost = 0
    /// A line went out in part: the next one starts on a new line.
    private var broken = false
    /// The last failure reported (said once until a line gets out again).
    private var failing = false

    init(path: String) {
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Writes `line` and a newline without ever waiting; returns a problem to log, once per run of
    /// failures (EAGAIN is not one: a busy console is counted, not logged).
    func write(_ line: String) -> String? {
        if fd < 0 {
            // O_NOCTTY: a service is a session leader, and the console must not become its terminal.
            fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return fail("cannot open the console \(path): \(Self.errorText())") }
            // O_NONBLOCK holds for terminals, FIFOs and sockets only: a write to a regular file (or a
            // block device) waits for its disk, which may be the frozen root.
            var info = stat()
            let type = fstat(fd, &info) == 0 ? info.st_mode & S_IFMT : 0
            guard type == S_IFCHR || type == S_IFIFO || type == S_IFSOCK else {
                close(fd)
                fd = -1
                return fail("the console \(path) is not a terminal, FIFO or socket: a write to it could wait on a disk, so nothing is written there")
            }
        }
        var text = broken ? "\n" : ""
        if lost > 0 { text += "iscsi-rootd: \(lost) console line\(lost == 1 ? "" : "s") lost (the console was busy)\n" }
        text += line + "\n"
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written == bytes.count {
            lost = 0
            broken = false
            failing = false
            return nil
        }
        if written > 0 {
            broken = true
            lost += 1
            return nil
        }
        if errno == EAGAIN || errno == EINTR {
            lost += 1
            return nil
        }
        let problem = "cannot write to the console \(path): \(Self.errorText())"
        close(fd)
        fd = -1
        return fail(problem)
    }

    private func fail(_ problem: String) -> String? {
        lost += 1
        defer { failing = true }
        return failing ? nil : problem + "; critical transitions reach the journal only"
    }

    static func errorText() -> String {
        let code = errno
        return "\(String(cString: strerror(code)))"
    }
}
