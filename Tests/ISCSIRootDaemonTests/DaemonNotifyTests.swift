import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("iscsi-rootd run: the watchdog and a fatal start")
struct DaemonNotifyTests {
    /// The daemon on a healthy client, once it said READY=1.
    func readyDaemon(environment: [String: String]) throws -> DaemonUnderTest {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state", environment: environment)
        try daemon.waitForDatagram("READY=1") { $0.split(separator: "\n").contains("READY=1") }
        return daemon
    }

    @Test("WATCHDOG=1 is sent from the event loop at half of WATCHDOG_USEC")
    func watchdogPings() throws {
        // 400 ms: a ping every 200 ms; WATCHDOG_PID unset means "this process" to sd_watchdog_enabled.
        let daemon = try readyDaemon(environment: ["WATCHDOG_USEC": "400000"])
        try daemon.wait(for: "three WATCHDOG=1 pings") {
            daemon.datagrams.filter { $0.split(separator: "\n").contains("WATCHDOG=1") }.count >= 3
        }
        // The state file tells how much memory the daemon locked (mlockall works as root).
        let memory = try daemon.state()["memory"]
        #expect((memory?["locked_kib"]?.intValue ?? 0) > 0, "\(String(describing: memory))")
        #expect((memory?["resident_kib"]?.intValue ?? 0) > 0)
        #expect(daemon.stop() == 0)
    }

    @Test("no WATCHDOG=1 when the watchdog is meant for another process (WATCHDOG_PID)")
    func watchdogForAnotherPid() throws {
        let daemon = try readyDaemon(environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"])
        // Long enough for several pings had the watchdog been meant for the daemon.
        usleep(1_000_000)
        daemon.refresh()
        #expect(!daemon.datagrams.contains { $0.split(separator: "\n").contains("WATCHDOG=1") })
        #expect(daemon.stop() == 0)
    }

    @Test("a NOTIFY_SOCKET the daemon cannot send to is said once, and the daemon runs on",
          arguments: ["not-a-socket", "missing", String(repeating: "x", count: 120)])
    func unusableNotifySocket(name: String) throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\n")
        let socket = tree.directory + "/" + name
        if name == "not-a-socket" { try writeFile(socket, "") }
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state",
                                         environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "200000"])
        try daemon.waitForEntry(.started)
        try daemon.wait(for: "the warning naming NOTIFY_SOCKET") {
            daemon.entries.contains { $0.message.contains("cannot notify the service manager at NOTIFY_SOCKET=\(socket)") }
        }
        // Once: the watchdog's pings that fail after it say nothing more.
        usleep(600_000)
        daemon.refresh()
        #expect(daemon.entries.filter { $0.message.contains("NOTIFY_SOCKET") }.count == 1, "\(daemon.entries.map(\.formatted))")
        #expect(daemon.stop() == 0)
    }

    @Test("a broken configuration at start: ERRNO= to systemd, the error naming file:line, exit 2")
    func brokenConfigurationAtStart() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/broken.conf"
        try writeFile(configPath, "[Disk]\nTimeout=soon\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        let status = daemon.process.waitForExit(within: .seconds(10))
        #expect(status == 2)
        daemon.refresh()
        #expect(daemon.datagrams.contains { $0.split(separator: "\n").contains("ERRNO=22") }, "\(daemon.datagrams)")
        #expect(!daemon.datagrams.contains { $0.contains("READY=1") })
        #expect(daemon.entries.contains { $0.message.contains("broken.conf:2:") }, "\(daemon.entries.map(\.formatted))")
        // Nothing was tuned.
        #expect(try tree.sysfs.read("class/scsi_device/2:0:0:0/device/timeout").get().trimmingWhitespace == "30")
    }
}
