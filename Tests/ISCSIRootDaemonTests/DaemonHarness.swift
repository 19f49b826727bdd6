import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// A unix datagram socket in a fresh temporary directory standing in for systemd's
/// `NOTIFY_SOCKET`; keeps every datagram received, in order.
final class NotifyListener {
    let directory: String
    let path: String
    private let socket: BoundDatagramSocket
    private(set) var datagrams: [String] = []

    init() throws {
        var template = Array("/tmp/iscsi-rootd-notify-XXXXXX".utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
        path = directory + "/notify"
        socket = try BoundDatagramSocket(path: path)
    }

    deinit {
        rmdir(directory)
    }

    /// The next datagram queued now, consumed without keeping it; nil when there is none (never waits).
    func receive() -> String? {
        socket.receive()
    }

    /// Fills the socket's queue with junk datagrams from a socket of the test's own, until the
    /// kernel says it is full (EAGAIN): the next sender's datagram does not fit.
    func fill() throws {
        try fillDatagramSocket(path)
    }

    /// Takes every datagram queued now (never waits).
    func drain() {
        while let datagram = socket.receive() { datagrams.append(datagram) }
    }
}

/// A bound AF_UNIX datagram socket at `path` that the test reads when it wants to (removed on deinit).
final class BoundDatagramSocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var address = unixSocketAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram queued now; nil when there is none (never waits).
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// The `sockaddr_un` of the socket at `path`.
func unixSocketAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    return address
}

/// A condition a scripted test waited for in vain.
struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}

/// The `STATUS=` value of a datagram, if it has one.
func statusValue(_ datagram: String) -> String? {
    datagram.split(separator: "\n").first { $0.hasPrefix("STATUS=") }.map { String($0.dropFirst("STATUS=".count)) }
}

/// `iscsi-rootd run --udev off` against a fixture tree, with a test notification socket, its
/// stderr parsed as `LogLine`s, and a kernel log the test writes.
final class DaemonUnderTest {
    let tree: FixtureTree
    let stateDirectory: String
    let configPath: String
    let notify: NotifyListener
    let process: ChildProcess
    /// Lines of stderr that are not `LogLine`s (there should be none).
    private(set) var unparsable: [String] = []
    private(set) var entries: [LogLine] = []

    /// `launcher` goes before the binary (e.g. `ip netns exec NAME`, which execs it in place),
    /// `arguments` after the harness's own (a later option wins); stderr goes to `standardErrorPath`
    /// when given (then `entries` stays empty: the test reads it).
    init(tree: FixtureTree, configPath: String, kernelLog: String, stateDirectory: String,
         environment: [String: String] = [:], launcher: [String] = [], arguments: [String] = [],
         standardErrorPath: String? = nil) throws {
        self.tree = tree
        self.configPath = configPath
        self.stateDirectory = stateDirectory
        notify = try NotifyListener()
        let binary = try #require(iscsiRootdBinary, "no iscsi-rootd binary next to the test bundle")
        process = try ChildProcess(launcher + [
            binary, "run", "--udev", "off", "--poll-interval", "0.2", "--kernel-log", kernelLog,
            "--state-dir", stateDirectory, "--log", "stderr", "--config", configPath,
            "--sysfs", tree.sysfs.root, "--root", tree.system.root,
        ] + arguments, environment: ["NOTIFY_SOCKET": notify.path].merging(environment) { $1 },
            standardErrorPath: standardErrorPath)
        // `status --root` looks for the daemon's pid under the root's /proc.
        let procLink = tree.system.path("proc/\(process.pid)")
        unlink(procLink)
        symlink("/proc/\(process.pid)", procLink)
    }

    deinit {
        unlink(tree.system.path("proc/\(process.pid)"))
    }

    var datagrams: [String] { notify.datagrams }

    /// Reads what arrived since the last look: datagrams and complete stderr lines.
    func refresh() {
        notify.drain()
        let text = process.standardError
        guard let lastNewline = text.lastIndex(of: "\n") else { return }
        var parsed: [LogLine] = []
        var bad: [String] = []
        for line in text[..<lastNewline].split(separator: "\n") {
            if let entry = try? LogLine.parse(line) { parsed.append(entry) } else { bad.append(String(line)) }
        }
        entries = parsed
        unparsable = bad
    }

    func entries(_ kind: MessageKind) -> [LogLine] {
        entries.filter { $0.fields["MESSAGE_ID"] == kind.id }
    }

    /// Polls (every 20 ms) until `condition` holds; fails after `limit` with what was seen.
    func wait(for what: String, within limit: Duration = .seconds(10), _ condition: () throws -> Bool) throws {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            refresh()
            if try condition() { return }
            if clock.now >= deadline || !process.isRunning {
                let tail = entries.suffix(8).map(\.formatted).joined(separator: "\n  ")
                throw WaitTimeout(description: """
                    waited \(limit) for \(what)\(process.isRunning ? "" : " but the daemon exited (\(process.exitStatus ?? -1))")
                    last entries:
                      \(tail)
                    last datagrams: \(datagrams.suffix(4))
                    unparsable stderr: \(unparsable.suffix(4))
                    """)
            }
            usleep(20_000)
        }
    }

    /// Waits for the `count`-th entry of `kind` that matches `fields` (all given fields equal), and returns it.
    @discardableResult
    func waitForEntry(_ kind: MessageKind, _ fields: [String: String] = [:], number count: Int = 1,
                      within limit: Duration = .seconds(10)) throws -> LogLine {
        var found: [LogLine] = []
        try wait(for: "\(kind) #\(count) with \(fields)", within: limit) {
            found = entries(kind).filter { entry in fields.allSatisfy { entry.fields[$0.key] == $0.value } }
            return found.count >= count
        }
        return found[count - 1]
    }

    /// Waits for a datagram after the first `skip` that satisfies `predicate`; returns it.
    @discardableResult
    func waitForDatagram(_ what: String, after skip: Int = 0, within limit: Duration = .seconds(10),
                         _ predicate: @escaping (String) -> Bool) throws -> String {
        var match: String?
        try wait(for: "a datagram with \(what)", within: limit) {
            match = datagrams.dropFirst(skip).first(where: predicate)
            return match != nil
        }
        return match!
    }

    /// The daemon's state file.
    func state() throws -> JSONValue {
        let text = ChildProcess.contents(stateDirectory + "/" + DaemonSnapshot.fileName)
        return try #require(JSONValue(parsing: text), "state file: \(text)")
    }

    /// `iscsi-rootd status --json` over the same tree and state directory.
    func status() throws -> (code: Int32, json: JSONValue) {
        let result = try runIscsiRootd(["status", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                        "--state-dir", stateDirectory, "--config", configPath])
        let json = try #require(JSONValue(parsing: result.standardOutput), "status --json: \(result.standardOutput)\(result.standardError)")
        return (result.status, json)
    }

    /// SIGTERM, then the exit status (nil: it did not stop within 10 s).
    func stop() -> Int32? {
        process.signal(SIGTERM)
        let status = process.waitForExit(within: .seconds(10))
        refresh()
        return status
    }
}

/// Writes `text` to `path` (created or truncated).
func writeFile(_ path: String, _ text: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    try #require(fd >= 0, "open \(path)")
    defer { close(fd) }
    let bytes = Array(text.utf8)
    try #require(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count)
}

/// Sends junk datagrams to the AF_UNIX datagram socket at `path` until its queue is full (EAGAIN).
func fillDatagramSocket(_ path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = unixSocketAddress(path)
    let junk = Array("JUNK=1".utf8)
    for _ in 0..<100_000 {
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, junk, junk.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if sent < 0 {
            try #require(errno == EAGAIN, "filling \(path): errno \(errno)")
            return
        }
    }
    Issue.record("\(path) took 100 000 datagrams without filling")
}
