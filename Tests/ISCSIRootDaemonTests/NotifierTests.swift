import Glibc
import Testing
@testable import ISCSIRootDaemon

/// A unix datagram socket bound in a fresh temporary directory, standing in for systemd's
/// notification socket.
private final class NotifySocket {
    let directory: String
    let path: String
    let fd: Int32

    init() throws {
        var template = Array("/tmp/iscsi-rootd-notify-XXXXXX".utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
        path = directory + "/notify"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
    }

    deinit {
        close(fd)
        unlink(path)
        rmdir(directory)
    }

    /// The next datagram already queued, or nil (never waits: sd_notify has sent by the time it returns).
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// These tests change the process environment, so they run one at a time.
@Suite("Notifier", .serialized)
struct NotifierTests {
    @Test("each notification reaches NOTIFY_SOCKET as one datagram of assignments")
    func sendsDatagrams() throws {
        let socket = try NotifySocket()
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let notifier = Notifier()

        #expect(notifier.ready(status: "root sda via session1 LOGGED_IN;\n2 disks tuned") == .sent)
        #expect(socket.receive() == "READY=1\nSTATUS=root sda via session1 LOGGED_IN; 2 disks tuned")
        #expect(notifier.status("RECOVERY session1 12 s, I/O errors in 86388 s") == .sent)
        #expect(socket.receive() == "STATUS=RECOVERY session1 12 s, I/O errors in 86388 s")
        #expect(notifier.watchdog() == .sent)
        #expect(socket.receive() == "WATCHDOG=1")
        #expect(notifier.stopping() == .sent)
        #expect(socket.receive() == "STOPPING=1")
        #expect(notifier.errno(EIO) == .sent)
        #expect(socket.receive() == "ERRNO=5")

        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let before = UInt64(now.tv_sec) * 1_000_000
        #expect(notifier.reloading() == .sent)
        let reloading = try #require(socket.receive()).split(separator: "\n")
        #expect(reloading.first == "RELOADING=1")
        let monotonic = try #require(reloading.last?.split(separator: "=").last.flatMap { UInt64($0) })
        #expect(reloading.count == 2 && reloading.last!.hasPrefix("MONOTONIC_USEC="))
        #expect(monotonic >= before && monotonic < before + 60_000_000)
        #expect(socket.receive() == nil)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func unsupervised() {
        unsetenv("NOTIFY_SOCKET")
        #expect(Notifier().ready(status: "x") == .notSupervised)
        #expect(Notifier().watchdog() == .notSupervised)
    }

    @Test("a socket path that does not exist is reported, not fatal")
    func missingSocket() {
        setenv("NOTIFY_SOCKET", "/tmp/iscsi-rootd-no-such-dir/notify", 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        #expect(Notifier().watchdog() == .failed(.noSuchFileOrDirectory))
    }

    @Test("the watchdog interval is half of WATCHDOG_USEC, only for this process")
    func watchdogInterval() {
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        unsetenv("WATCHDOG_USEC")
        #expect(Notifier.watchdogInterval() == nil)
        setenv("WATCHDOG_USEC", "3000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        #expect(Notifier.watchdogInterval() == .milliseconds(1500))
        setenv("WATCHDOG_PID", "1", 1)
        #expect(Notifier.watchdogInterval() == nil)
    }
}
