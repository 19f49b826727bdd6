import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// The loop waits on no one: a reader that stops reading (the service manager, journald, whatever
/// holds stderr) costs the daemon nothing, and what it did not take is sent, counted, once it reads.
@Suite("iscsi-rootd run: peers that stop reading, a tiny watchdog, a simulated client's network")
struct PeerTests {
    func healthyTree() throws -> (FixtureTree, String) {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\n")
        return (tree, configPath)
    }

    /// The state file's `updated_usec` (0 before the first write).
    func updated(_ stateDirectory: String) -> Int {
        let text = ChildProcess.contents(stateDirectory + "/" + DaemonSnapshot.fileName)
        return JSONValue(parsing: text)?["updated_usec"]?.intValue ?? 0
    }

    /// Waits `seconds`, and expects the state file to have been written more than once meanwhile
    /// (the loop went on: it writes after every poll, every 0.2 s here).
    func expectStateAdvances(_ stateDirectory: String, over seconds: UInt32 = 2, _ comment: Comment) {
        let before = updated(stateDirectory)
        sleep(seconds)
        let after = updated(stateDirectory)
        #expect(after > before + 500_000, comment)
    }

    /// Once READY=1 came: over two seconds the state file is rewritten and WATCHDOG=1 keeps coming.
    func expectLoopGoesOn(_ daemon: DaemonUnderTest, waitingOn peer: String) throws {
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        let pings = daemon.datagrams.count
        expectStateAdvances(daemon.stateDirectory, "the state file stopped: the loop waits on \(peer)")
        daemon.refresh()
        #expect(daemon.datagrams.count > pings + 3, "WATCHDOG=1 stopped: the loop waits on \(peer)")
    }

    @Test("a notification socket that never reads: the loop goes on; once it reads, WATCHDOG=1 and the newest STATUS= arrive, the rest counted")
    func notifySocketNeverRead() throws {
        let (tree, configPath) = try healthyTree()
        let listener = try NotifyListener()
        try listener.fill()
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state",
                                         environment: ["WATCHDOG_USEC": "400000", "NOTIFY_SOCKET": listener.path])
        // The daemon's own listener (the harness's) is not the one in NOTIFY_SOCKET: this test's is.
        sleep(1)
        #expect(daemon.process.isRunning)
        expectStateAdvances(daemon.stateDirectory, "the state file stopped: the loop waits on the notification socket")
        // The service manager reads again: the junk, then WATCHDOG=1 before anything else held.
        var received: [String] = []
        let deadline = Moment.monotonicNow + .seconds(5)
        while Moment.monotonicNow < deadline, !(received.contains("WATCHDOG=1") && received.contains { $0.hasPrefix("READY=1") }) {
            while let datagram = listener.receive() { if datagram != "JUNK=1" { received.append(datagram) } }
            usleep(20_000)
        }
        #expect(received.first == "WATCHDOG=1", "\(received)")
        #expect(received.contains { $0.hasPrefix("READY=1\nSTATUS=") }, "\(received)")
        // Held, not queued without end: far fewer than the pings and status lines of three seconds.
        #expect(received.count < 20, "\(received)")
        try daemon.wait(for: "the report of the wait") {
            daemon.entries.contains { $0.message.hasPrefix("the service manager's notification socket took nothing for") }
        }
        let report = try #require(daemon.entries.first { $0.message.hasPrefix("the service manager's notification socket took nothing for") })
        #expect(report.message.contains("(the newest STATUS= and WATCHDOG=1 were kept)"), "\(report.message)")
        #expect(!report.message.contains(", 0 dropped"), "pings coalesced while full are counted: \(report.message)")
        #expect(daemon.stop() == 0)
    }

    @Test("a journal socket that never reads: the loop goes on; once it reads, every entry arrives, late ones with LOGGED_USEC=",
          .enabled(if: getuid() == 0, "a mount namespace of its own needs root"))
    func journalSocketNeverRead() throws {
        let (tree, configPath) = try healthyTree()
        // A /run of the daemon's own (a mount namespace), with a journal socket this test reads.
        let run = tree.directory + "/run"
        try #require(mkdir(run, 0o755) == 0 && mkdir(run + "/systemd", 0o755) == 0 && mkdir(run + "/systemd/journal", 0o755) == 0)
        let journal = try BoundDatagramSocket(path: run + "/systemd/journal/socket")
        try fillDatagramSocket(journal.path)
        let daemon = try DaemonUnderTest(
            tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: tree.directory + "/state",
            environment: ["WATCHDOG_USEC": "400000"],
            launcher: ["/usr/bin/unshare", "-m", "/bin/sh", "-c",
                       "mount --make-rprivate / && mount --bind \"$0\" /run && exec \"$@\"", run],
            arguments: ["--log", "journal"])
        try expectLoopGoesOn(daemon, waitingOn: "journald")
        // journald reads again.
        var entries: [String] = []
        let deadline = Moment.monotonicNow + .seconds(5)
        while Moment.monotonicNow < deadline, !entries.contains(where: { $0.contains("MESSAGE=journald took nothing for") }) {
            while let datagram = journal.receive() { if datagram != "JUNK=1" { entries.append(datagram) } }
            usleep(20_000)
        }
        let report = try #require(entries.first { $0.contains("MESSAGE=journald took nothing for") }, "\(entries)")
        #expect(report.contains(" dropped (each with LOGGED_USEC=, when it was logged)"), "\(report)")
        let started = try #require(entries.first { $0.contains("MESSAGE_ID=\(MessageKind.started.id)") }, "\(entries)")
        #expect(started.contains("\nLOGGED_USEC=") && started.contains("SYSLOG_IDENTIFIER=iscsi-rootd\n"), "\(started)")
        #expect(daemon.stop() == 0)
    }

    @Test("stderr to a pipe nobody reads: the loop goes on; once it is read, the lines arrive whole and the wait is said")
    func standardErrorPipeFull() throws {
        let (tree, configPath) = try healthyTree()
        let fifo = tree.directory + "/stderr.fifo"
        try #require(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let writer = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(reader >= 0 && writer >= 0)
        defer {
            close(reader)
            close(writer)
        }
        let junk = [UInt8](repeating: UInt8(ascii: "j"), count: 4096)
        while write(writer, junk, junk.count) > 0 {}
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state",
                                         environment: ["WATCHDOG_USEC": "400000"], standardErrorPath: fifo)
        try expectLoopGoesOn(daemon, waitingOn: "stderr")
        // Someone reads the pipe again.
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Moment.monotonicNow + .seconds(5)
        while Moment.monotonicNow < deadline, !String(decoding: text, as: UTF8.self).contains("standard error took nothing for") {
            while case let count = read(reader, &buffer, buffer.count), count > 0 { text += buffer[..<count] }
            usleep(20_000)
        }
        let lines = String(decoding: text.drop { $0 == UInt8(ascii: "j") }, as: UTF8.self).split(separator: "\n")
        let report = try #require(lines.first { $0.contains("standard error took nothing for") }, "\(lines)")
        #expect(report.contains(" lines waited and were sent late, 0 dropped"), "\(report)")
        // Every line whole: each parses.
        for line in lines { #expect((try? LogLine.parse(line)) != nil, "\(line)") }
        #expect(lines.contains { $0.contains("MESSAGE_ID=\(MessageKind.started.id)") }, "\(lines)")
        #expect(daemon.stop() == 0)
    }

    @Test("WATCHDOG_USEC: 0 and garbage turn it off with a warning; 1, 2 and 4000 are taken as 100 ms, with a warning")
    func tinyAndBadWatchdog() throws {
        for value in ["0", "1", "2", "4000", "ten", ""] {
            let (tree, configPath) = try healthyTree()
            let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                             stateDirectory: tree.directory + "/state", environment: ["WATCHDOG_USEC": value])
            try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
            daemon.refresh()
            let first = daemon.datagrams.count
            let end = Moment.monotonicNow + .seconds(1)
            while Moment.monotonicNow < end {
                daemon.refresh()
                usleep(10_000)
            }
            #expect(daemon.process.isRunning, "WATCHDOG_USEC=\(value)")
            let pings = daemon.datagrams.dropFirst(first).filter { $0 == "WATCHDOG=1" }.count
            let warning = daemon.entries.first { $0.message.hasPrefix("WATCHDOG_USEC=") || $0.message.hasPrefix("WATCHDOG_USEC='") }
            #expect(warning?.priority == Logger.Level.warning.rawValue, "WATCHDOG_USEC=\(value): \(daemon.entries.map(\.formatted))")
            if ["1", "2", "4000"].contains(value) {
                // Every 50 ms (the clamped 100 ms, halved, on a 25 ms tick): about 40 a second, not 1000.
                #expect((10...60).contains(pings), "WATCHDOG_USEC=\(value): \(pings) pings in a second")
                #expect(warning?.message.contains("is below 100 ms") == true)
            } else {
                #expect(pings == 0, "WATCHDOG_USEC='\(value)': \(pings) pings")
                #expect(warning?.message.contains("is not a number of microseconds above 0") == true)
            }
            #expect(daemon.stop() == 0, "WATCHDOG_USEC=\(value)")
        }
    }

    @Test("a simulated client whose addresses the host lacks: no NETWORK finding, the network watch off (--sysfs …)")
    func simulatedClientNetworkOff() throws {
        let (tree, configPath) = try healthyTree()
        try tree.setAttribute("class/iscsi_host/host2/ipaddress", "192.168.1.101")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        usleep(600_000)
        daemon.refresh()
        let events = try daemon.state()["network"]?["events"]?.stringValue
        #expect(events == "off (--sysfs \(tree.sysfs.root) is not the live /sys)", "\(String(describing: events))")
        #expect(daemon.entries(.networkLost).isEmpty)
        #expect(!daemon.datagrams.contains { statusValue($0)?.contains("NETWORK") == true }, "\(daemon.datagrams)")
        #expect(daemon.entries.filter { $0.message.hasPrefix("the network under the root is not watched: --sysfs") }.count == 1)
        let status = try daemon.status()
        // The fixture's own warning (NOPs on), nothing about the network.
        #expect(status.code == 1)
        #expect(status.json["findings"]?.arrayValue?.allSatisfy { $0["message"]?.stringValue?.contains("portal") == false } == true,
                "\(String(describing: status.json["findings"]))")
        #expect(daemon.stop() == 0)
    }
}
