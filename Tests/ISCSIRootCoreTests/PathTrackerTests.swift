import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("PathTracker: multipath paths down and back, no path left (time injected)")
struct PathTrackerTests {
    private func multipathTree(data: Bool = false) throws -> FixtureTree {
        let tree = try FixtureTree()
        try (data ? Scenario.multipathData : Scenario.multipath).layOut(in: tree)
        return tree
    }

    @Test func onePathDownThenBoth() throws {
        let tree = try multipathTree()
        var paths = PathTracker()
        var recovery = RecoveryTracker()
        #expect(paths.update(tree.scanner.scan(), at: TestClock.at(100)).isEmpty)

        try tree.setPhase(.failed, session: 2)
        var topology = tree.scanner.scan()
        let down = paths.update(topology, at: TestClock.at(110))
        #expect(down.map(\.kind) == [.rootDegraded])
        #expect(down[0].message == "root degraded: 1 of 2 paths of mpatha (sdb via session2 down: session FAILED, blocked)")
        #expect(down[0].fields[.multipathMap] == "mpatha" && down[0].fields[.device] == "sdb")
        #expect(down[0].fields[.pathsUp] == "1" && down[0].fields[.pathsTotal] == "2" && down[0].fields[.root] == "1")
        // The path's session is named as every entry names a session, without a host.
        #expect(down[0].fields[.session] == "session2" && down[0].fields[.portal] != nil && down[0].fields[.target] != nil)
        #expect(down[0].fields[.recoveryTimeout] == "5" && down[0].fields[.host] == nil)
        // The path session is not a root session in recovery: RecoveryTracker leaves it alone.
        #expect(recovery.update(topology, at: TestClock.at(110)).isEmpty)
        #expect(paths.update(topology, at: TestClock.at(111)).isEmpty, "nothing new while it stays down")

        // FREE after its 5 s recovery_tmo: failover, still one episode, no new entry.
        try tree.setPhase(.free, session: 2)
        topology = tree.scanner.scan()
        #expect(paths.update(topology, at: TestClock.at(115)).isEmpty)
        #expect(recovery.update(topology, at: TestClock.at(115)).isEmpty)

        try tree.setPhase(.failed, session: 1)
        let none = paths.update(tree.scanner.scan(), at: TestClock.at(120))
        #expect(none.map(\.kind) == [.rootDegraded, .noPathLeft])
        #expect(none[1].fields[.pathsUp] == "0")
        #expect(none[1].fields[.device] == "sda sdb")
        #expect(none[1].message.hasPrefix("no path left for /, [swap] on mpatha: 0 of 2 paths; I/O is queued until a path returns"))
        #expect(paths.mapsWithoutPath == ["mpatha"])
        #expect(paths.openEpisodes.map(\.disk) == ["sda", "sdb"])

        try tree.setPhase(.loggedIn, session: 1)
        let back = paths.update(tree.scanner.scan(), at: TestClock.at(150))
        #expect(back.map(\.kind) == [.pathRestored])
        #expect(back[0].message == "sda via session1 of mpatha is back after 30 s: 1 of 2 paths up")
        #expect(back[0].fields[.durationMicroseconds] == "30000000")
        #expect(paths.mapsWithoutPath.isEmpty)

        try tree.setPhase(.loggedIn, session: 2)
        #expect(paths.update(tree.scanner.scan(), at: TestClock.at(160)).map(\.kind) == [.pathRestored])
        #expect(paths.open.isEmpty)
        #expect(paths.finished.map(\.disk) == ["sda", "sdb"])
        #expect(paths.finished[1].elapsed(at: TestClock.at(999)) == .seconds(50))
    }

    @Test func aPathAlreadyDownAtStartIsAnEpisodeStartedBeforeObservation() throws {
        let tree = try multipathTree()
        try tree.setPhase(.failed, session: 1)
        var paths = PathTracker()
        let events = paths.update(tree.scanner.scan(), at: TestClock.at(5))
        #expect(events.map(\.kind) == [.rootDegraded])
        #expect(paths.openEpisodes.first?.startedBeforeObservation == true)
    }

    @Test func aDirectDataSessionBesideTheMapKeepsItsRecoveryEpisodes() throws {
        let tree = try multipathTree(data: true)
        var paths = PathTracker()
        var recovery = RecoveryTracker()
        _ = paths.update(tree.scanner.scan(), at: TestClock.at(1))
        _ = recovery.update(tree.scanner.scan(), at: TestClock.at(1))
        try tree.setPhase(.failed, session: 3)
        let topology = tree.scanner.scan()
        #expect(paths.update(topology, at: TestClock.at(2)).isEmpty)
        #expect(recovery.update(topology, at: TestClock.at(2)).map(\.kind) == [.sessionFailed])
    }
}
