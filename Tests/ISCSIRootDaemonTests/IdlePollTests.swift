import Glibc
import ISCSIRootCore
@testable import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// The periodic poll of a healthy client reads the watch (`TopologyWatch`) and rescans only when it
/// changed: every change the full poll acts on is still seen at the next poll, with udev off too, on
/// every layout `scripts/benchmark` measures.
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

    /// The layouts the idle poll must hold on (scripts/benchmark idles on the same), each with two
    /// data LUNs on a session of their own.
    enum Layout: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case iscsiRoot = "root on iSCSI"
        case multipathRoot = "root on multipath"
        case localRoot = "root on a local disk"
        case untracedRoot = "root untraced"
        case sessions = "root on iSCSI, data on 4 sessions"
        case overlayRoot = "root on an overlay over iSCSI"
        case loopRoot = "root on a loop device over iSCSI"

        var testDescription: String { rawValue }

        func tree() throws -> FixtureTree {
            let tree = try FixtureTree()
            switch self {
            case .iscsiRoot: try Scenario.healthy.layOut(in: tree)
            case .multipathRoot: try Scenario.multipath.layOut(in: tree)
            case .localRoot: try Scenario.localRoot.layOut(in: tree)
            case .untracedRoot: try Scenario.untracedRoot.layOut(in: tree)
            case .sessions: try Scenario.healthy.layOut(in: tree)
            case .overlayRoot: try Scenario.overlay.layOut(in: tree)
            case .loopRoot: try Scenario.loop.layOut(in: tree)
            }
            try Scenario.addDataLUNs(self == .sessions ? 8 : 2, sessions: self == .sessions ? 4 : 1, in: tree)
            try tree.writeDiskstats()
            return tree
        }
    }

    /// A data LUN's session (the last one), its connection, host and first disk.
    static func dataSession(_ topology: Topology) throws -> (session: ISCSISession, disk: SCSIDevice) {
        let session = try #require(topology.sessions.last)
        let disk = try #require(topology.iscsiDevices.first { $0.sessionNumber == session.number })
        return (session, disk)
    }

    @Test("nothing changed: no rescan, until VerifyInterval since the last full poll", arguments: Layout.allCases)
    func quiet(_ layout: Layout) throws {
        let tree = try layout.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        // The layout is what its name says.
        let topology = client.engine.topology
        let root = try #require(topology.root)
        let rootOnISCSI = root.disks.contains { topology.device(disk: $0)?.isISCSI == true }
        switch layout {
        case .iscsiRoot, .sessions, .overlayRoot, .loopRoot: #expect(rootOnISCSI && topology.maps.isEmpty)
        case .multipathRoot: #expect(rootOnISCSI && !topology.maps.isEmpty)
        case .localRoot: #expect(!rootOnISCSI && !root.disks.isEmpty && root.untraced == nil)
        case .untracedRoot: #expect(root.untraced != nil)
        }
        #expect(topology.sessions.count == (layout == .sessions ? 5 : layout == .multipathRoot ? 3 : 2))
        // Changes nobody polls for: the drift sweep sets timeouts back.
        try tree.setAttribute("\(try #require(client.engine.topology.iscsiDevices.first).devpath.dropFirst())/timeout", "30")
        let full = (1...24).map { _ in client.poll() }
        // VerifyInterval is 60 s: the polls at 60 s and 120 s are full, the others not.
        #expect(full.enumerated().filter(\.element).map { ($0.offset + 1) * 5 } == [60, 120])
        #expect(client.engine.snapshot.lastPollMicroseconds == client.clock.wallMicroseconds)
    }

    @Test("a session, connection, host or disk changes state: seen at the next poll, and quiet again after",
          arguments: Layout.allCases)
    func states(_ layout: Layout) throws {
        let tree = try layout.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        let (session, disk) = try Self.dataSession(client.engine.topology)
        let connection = try #require(session.connections.first)
        let changes: [(path: String, changed: String)] = [
            ("class/iscsi_session/\(ISCSISession.name(session.number))/state", "FAILED"),
            ("class/iscsi_connection/\(connection.name)/state", "down"),
            ("class/scsi_host/host\(disk.hctl.host)/state", "recovery"),
            ("\(disk.devpath.dropFirst())/state", "offline"),
        ]
        for (path, changed) in changes {
            #expect(!client.poll(), "quiet before \(path)")
            let before = try tree.sysfs.read(path).get()
            try tree.setAttribute(path, changed)
            #expect(client.poll(), "\(path) → \(changed)")
            #expect(client.engine.topology == tree.scanner.scan(), "\(path) → \(changed)")
            try tree.setAttribute(path, before.hasSuffix("\n") ? String(before.dropLast()) : before)
            #expect(client.poll(), "\(path) back")
            // One more full poll: the watch of the last one was read while something was wrong.
            _ = client.poll()
        }
        #expect(!client.poll())
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
        #expect(client.engine.snapshot.episodes.contains { $0.endedMicroseconds == nil })
        try tree.setPhase(.loggedIn, session: 1)
        #expect(client.poll())
        #expect(client.engine.topology == tree.scanner.scan())
        #expect(!client.engine.snapshot.episodes.contains { $0.endedMicroseconds == nil })
        // One more full poll: the watch of the last one was read for the failed topology's attributes.
        _ = client.poll()
        #expect(!client.poll())
    }

    @Test("udev off: a new LUN is found and tuned at the next poll, and its removal seen", arguments: Layout.allCases)
    func newDisk(_ layout: Layout) throws {
        let tree = try layout.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let (session, _) = try Self.dataSession(client.engine.topology)
        let added = try tree.addISCSILUN(session: session.number, lun: 100)
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

    @Test("someone lowers the root session's recovery_tmo: raised again at the next poll",
          arguments: Layout.allCases.filter { [.iscsiRoot, .sessions].contains($0) })
    func rootTimer(_ layout: Layout) throws {
        let tree = try layout.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let raised = try tree.sysfs.read("class/iscsi_session/session1/recovery_tmo").get()
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "5")
        #expect(client.poll())
        #expect(try tree.sysfs.read("class/iscsi_session/session1/recovery_tmo").get() == raised)
    }

    @Test("a new mount: the storage chains are read again at the next poll", arguments: Layout.allCases)
    func mounts(_ layout: Layout) throws {
        let tree = try layout.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let (_, disk) = try Self.dataSession(client.engine.topology)
        try tree.mount(point: "/data", device: try #require(disk.disk?.name), fileSystem: "xfs")
        #expect(client.poll())
        #expect(client.engine.topology.chains.contains { $0.use == .mount("/data") })
    }

    @Test("multipathd takes a path out of the root's map: seen at the next poll")
    func multipathPath() throws {
        let tree = try Layout.multipathRoot.tree()
        defer { tree.remove() }
        let client = Engine(tree)
        #expect(!client.poll())
        let map = try #require(client.engine.topology.maps.first)
        let path = try #require(map.paths.last)
        // The kernel drops the map's slaves link and the path's holders link when the table loses the path.
        #expect(unlink(tree.sysfs.path("class/block/\(map.dm)/slaves/\(path)")) == 0)
        #expect(unlink(tree.sysfs.path("class/block/\(path)/holders/\(map.dm)")) == 0)
        #expect(client.poll())
        #expect(client.engine.topology == tree.scanner.scan())
        #expect(client.engine.topology.maps.first?.paths.contains(path) == false)
    }
}
