import ISCSIRootCore
@testable import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// The periodic poll of a healthy client reads the watch (`TopologyWatch`) and rescans only when it
/// changed: every change the full poll acts on is still seen at the next poll, with udev off too.
@Suite("Idle poll")
struct IdlePollTests {
    /// The engine of `run --udev off --poll-interval 5`, started at 100 s on `tree`.
    final class Engine {
        var engine: DaemonEngine
        var clock = Moment(monotonic: .seconds(100), wallMicroseconds: 1_764_000_000_000_000)

        init(_ tree: FixtureTree) {
            let options = DaemonOptions(sysfs: tree.sysfs, system: tree.system, configFile: nil,
                                        stateDirectory: tree.directory + "/state", udev: .off, pollInterval: .seconds(5),
                                        kernelLog: nil)
            engine = DaemonEngine(options: options, configuration: Configuration(), configurationFiles: [],
                                  logger: Logger.discarding, notifier: Notifier(),
                                  deviceEvents: "polling sysfs", sessionEvents: "polling only", discoversByPolling: true,
                                  pid: 1, bootID: "idle", at: clock)
            engine.start(coldplug: nil, kernelBacklog: [], at: clock)
        }

        /// The loop's periodic poll, 5 s after the last; returns whether it scanned in full.
        func poll() -> Bool {
            clock = Moment(monotonic: clock.monotonic + .seconds(5), wallMicroseconds: clock.wallMicroseconds + 5_000_000)
            engine.poll(at: clock, onlyIfChanged: true)
            return engine.lastFullPoll == clock
        }
    }

    @Test("nothing changed: no rescan, until VerifyInterval since the last full poll")
    func quiet() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        // Changes nobody polls for: the drift sweep sets timeouts back.
        try tree.setAttribute("\(try #require(client.engine.topology.iscsiDevices.first).devpath.dropFirst())/timeout", "30")
        let full = (1...24).map { _ in client.poll() }
        // VerifyInterval is 60 s: the polls at 60 s and 120 s are full, the others not.
        #expect(full.enumerated().filter(\.element).map { ($0.offset + 1) * 5 } == [60, 120])
        #expect(client.engine.state.lastPollMicroseconds == client.clock.wallMicroseconds)
    }

    @Test("a session fails and recovers: seen at the next poll each time")
    func sessionState() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        try tree.setPhase(.failed, session: 1)
        #expect(client.poll())
        #expect(client.engine.topology == tree.scanner.scan())
        #expect(!client.engine.state.openEpisodes.isEmpty)
        try tree.setPhase(.loggedIn, session: 1)
        #expect(client.poll())
        #expect(client.engine.topology == tree.scanner.scan())
        #expect(client.engine.state.openEpisodes.isEmpty)
        // One more full poll: the watch of the last one was read for the failed topology's attributes.
        _ = client.poll()
        #expect(!client.poll())
    }

    @Test("a disk goes offline: seen at the next poll")
    func deviceState() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let disk = try #require(client.engine.topology.iscsiDevices.first)
        try tree.setAttribute("\(disk.devpath.dropFirst())/state", "offline")
        #expect(client.poll())
        #expect(client.engine.topology.iscsiDevices.first?.state.value == .offline)
    }

    @Test("udev off: a new LUN is found and tuned at the next poll, and its removal seen")
    func newDisk() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let added = try tree.addISCSILUN(session: 1, lun: 1)
        let hctl = try #require(HCTL(added.hctl))
        #expect(client.poll())
        #expect(client.engine.knownDevices[hctl] != nil)
        #expect(client.engine.topology == tree.scanner.scan())
        let device = try #require(tree.scanner.scan().devices.first { $0.hctl == hctl })
        #expect(Configuration().disk.isTuned(device))
        try tree.removeDevice(added.hctl)
        #expect(client.poll())
        #expect(client.engine.knownDevices[hctl] == nil)
    }

    @Test("someone lowers the root session's recovery_tmo: raised again at the next poll")
    func rootTimer() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let raised = try tree.sysfs.read("class/iscsi_session/session1/recovery_tmo").get()
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "5")
        #expect(client.poll())
        #expect(try tree.sysfs.read("class/iscsi_session/session1/recovery_tmo").get() == raised)
    }

    @Test("a new mount: the storage chains are read again at the next poll")
    func mounts() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let data = try tree.addISCSISession(number: 2, host: 3)
        _ = client.poll()
        _ = client.poll()
        #expect(!client.poll())
        try tree.mount(point: "/srv", device: data.disks[0], fileSystem: "xfs")
        #expect(client.poll())
        #expect(client.engine.topology.chains.contains { $0.use == .mount("/srv") })
    }
}
