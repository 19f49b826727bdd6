import Glibc
import Testing
@testable import ISCSIRootDaemon

/// These tests change the process environment, so they run one at a time, and never while an
/// in-process daemon engine (`StormTests`) could notify through NOTIFY_SOCKET.
extension ProcessEnvironmentTests {
@Suite("Notifier", .serialized)
struct NotifierTests {
    @Test("each notification reaches NOTIFY_SOCKET as one datagram of assignments")
    func sendsDatagrams() throws {
        let socket = try NotifyListener()
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let notifier = Notifier()

        #expect(notifier.ready(status: "root sda via session1 LOGGED_IN;\n2 disks tuned") == .sent)
        #expect(socket.receive() == "READY=1\nSTATUS=root sda via session1 LOGGED_IN; 2 disks tuned")
        #expect(notifier.status("RECOVERY session1 12 s, I/O errors in 86388 s") == .sent)
        #expect(socket.receive() == "STATUS=RECOVERY session1 12 s, I/O errors in 86388 s")
        #expect(notifier.status("target iqn.x\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}") == .sent)
        #expect(socket.receive() == #"STATUS=target iqn.x\x1b]0;owned\x07\x1b[2J\u{009b}"#)
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
}
