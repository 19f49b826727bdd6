import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// `/metrics` served by the daemon on a socket passed the way systemd passes it (LISTEN_FDS,
/// LISTEN_PID), through the binary.
@Suite("Metrics endpoint: the daemon serves /metrics on the socket systemd passes")
struct MetricsEndpointTests {
    /// A listening TCP socket on 127.0.0.1 (any port) at a descriptor of its own (not close-on-exec,
    /// so the launcher inherits it), and its port.
    static func listener() throws -> (fd: Int32, port: UInt16) {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socketFD >= 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socketFD, pointer, length) == 0 && listen(socketFD, 16) == 0 && getsockname(socketFD, pointer, &length) == 0
            }
        }
        try #require(bound)
        let fd = fcntl(socketFD, F_DUPFD, 60)
        close(socketFD)
        try #require(fd >= 60)
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }

    /// A TCP connection to 127.0.0.1:`port`, or -1.
    static func connection(to port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if connected { return fd }
        close(fd)
        return -1
    }

    /// Sends `request` to 127.0.0.1:`port` and reads the answer until the server closes (5 s at most).
    static func exchange(_ port: UInt16, _ request: String) -> String? {
        let fd = connection(to: port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(request.utf8)
        guard bytes.isEmpty || send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return count == 0 ? String(decoding: answer, as: UTF8.self) : nil }
            answer += buffer[0..<count]
        }
    }

    static func sample(_ answer: String?, _ series: String) -> Double? {
        answer?.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test("a scrape gets the live exposition: an episode's age grows with the clock; bad requests and a silent client are bounded")
    func servesLiveFigures() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6d\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "")
        let (fd, port) = try Self.listener()
        // As systemd does: the socket at descriptor 3, LISTEN_FDS=1, LISTEN_PID the daemon's (bash execs it; dash takes no descriptor above 9).
        let daemon = try DaemonUnderTest(
            tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: tree.directory + "/state",
            launcher: ["/bin/bash", "-c", "exec 3<&\(fd) \(fd)<&-; export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$@\"", "bash"])
        close(fd)
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        let scrape = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        let first = Self.exchange(port, scrape)
        #expect(first?.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") == true, "\(first ?? "no answer")")
        #expect(Self.sample(first, "iscsi_rootd_daemon_up") == 1)
        // No configured textfile: the endpoint alone makes the daemon render its metrics.
        #expect(daemon.entries.contains { $0.message == "serving /metrics on 1 socket(s) from systemd" })

        let age = #"iscsi_rootd_recovery_episode_age_seconds{session="session1"}"#
        try tree.setPhase(.failed, session: 1)
        var before: Double?
        try daemon.wait(for: "the episode in a scrape") {
            before = Self.sample(Self.exchange(port, scrape), age)
            return (before ?? 0) > 0
        }
        let start = Moment.monotonicNow
        usleep(2_000_000)
        let after = try #require(Self.sample(Self.exchange(port, scrape), age))
        let elapsed = (Moment.monotonicNow - start) / .seconds(1)
        // Rendered at every state write (each poll, 0.2 s here; at most 1 s apart while anything is wrong).
        #expect(abs((after - before!) - elapsed) < 1.0, "age \(before!) → \(after) over \(elapsed) s")

        let bad = Self.exchange(port, "BREW /coffee HTCPCP/1.0\r\n\r\n")
        #expect(bad?.hasPrefix("HTTP/1.1 400 Bad Request\r\n") == true, "\(bad ?? "no answer")")
        #expect(Self.exchange(port, "GET /other HTTP/1.1\r\n\r\n")?.hasPrefix("HTTP/1.1 404 Not Found\r\n") == true)
        // A client that connects and says nothing holds the next scrape back by at most connectionLimit (2 s).
        let silent = Self.connection(to: port)
        #expect(silent >= 0)
        let blocked = Moment.monotonicNow
        let next = Self.exchange(port, scrape)
        close(silent)
        #expect(Self.sample(next, "iscsi_rootd_daemon_up") == 1)
        #expect(Moment.monotonicNow - blocked < .milliseconds(3500))

        #expect(daemon.stop() == 0)
    }

    @Test("a LISTEN_FDS naming a descriptor that is not open is reported; the daemon serves nothing, closes nothing and runs on")
    func listenFDsThatLie() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "")
        // Descriptor 3 is not open when the daemon starts (sd_listen_fds says EBADF): the sockets are taken
        // before the daemon's own first descriptor (the signalfd) gets that number, so it is neither served
        // nor closed, and the loop goes on (a closed signalfd made it spin).
        let daemon = try DaemonUnderTest(
            tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: tree.directory + "/state",
            launcher: ["/bin/bash", "-c", "exec 3<&-; export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$@\"", "bash"])
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(daemon.entries.contains { $0.message == "socket activation: LISTEN_FDS: Bad file descriptor; not served" },
                "\(daemon.entries.map(\.message))")
        try tree.setPhase(.failed, session: 1)
        try daemon.waitForDatagram("STATUS=RECOVERY") { statusValue($0)?.hasPrefix("RECOVERY root session1 ") == true }
        #expect(daemon.stop() == 0)
    }
}
