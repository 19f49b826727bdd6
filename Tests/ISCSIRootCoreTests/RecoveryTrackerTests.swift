import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("RecoveryTracker turns polled states into recovery episodes (time injected)")
struct RecoveryTrackerTests {
    @Test func failedOpensAnEpisodeAndLoggedInClosesIt() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(100)).isEmpty)

        try tree.setPhase(.failed, session: 1)
        let failed = tracker.update(tree.scanner.scan(), at: TestClock.at(110))
        #expect(failed.map(\.kind) == [.sessionFailed, .rootAtRisk])
        #expect(failed[0].fields[.session] == "session1")
        #expect(failed[0].fields[.state] == "FAILED")
        #expect(failed[0].fields[.previousState] == "LOGGED_IN")
        #expect(failed[0].fields[.root] == "1")
        #expect(failed[0].fields[.recoveryTimeout] == "120")
        #expect(failed[0].message.contains("I/O errors in 120 s"))
        let episode = try #require(tracker.openEpisodes.first)
        #expect(!episode.startedBeforeObservation)
        #expect(episode.carries == [.root, .swap])
        #expect(episode.timeLeft(at: TestClock.at(130)) == .seconds(100))
        // Polling on while FAILED: nothing new.
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(120)).isEmpty)

        try tree.setPhase(.loggedIn, session: 1)
        let recovered = tracker.update(tree.scanner.scan(), at: TestClock.at(152.5))
        #expect(recovered.map(\.kind) == [.sessionRecovered])
        #expect(recovered[0].fields[.durationMicroseconds] == "42500000")
        #expect(recovered[0].fields[.previousState] == "FAILED")
        #expect(tracker.open.isEmpty)
        #expect(tracker.finished.count == 1)
        #expect(tracker.finished[0].elapsed(at: TestClock.at(999)) == .milliseconds(42_500))
    }

    @Test func freeWithTransportOfflineReportsIOFailingOnce() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        try tree.setPhase(.failed, session: 1)
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(10))
        try tree.setPhase(.free, session: 1)
        let lost = tracker.update(tree.scanner.scan(), at: TestClock.at(130))
        #expect(lost.map(\.kind) == [.ioFailing])
        #expect(lost[0].message.contains("transport-offline"))
        #expect(lost[0].fields[.durationMicroseconds] == "120000000")
        #expect(tracker.openEpisodes.first?.timeLeft(at: TestClock.at(131)) == .zero)
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(131)).isEmpty)
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(140)).isEmpty)
    }

    @Test func recoveryTimeoutOffLeavesNoDeadline() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", "off")
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        try tree.setPhase(.failed, session: 1)
        let events = tracker.update(tree.scanner.scan(), at: TestClock.at(5))
        #expect(events.first?.message.contains("never") == true)
        #expect(events.first?.fields[.recoveryTimeout] == "-1")
        #expect(tracker.openEpisodes.first?.timeLeft(at: TestClock.at(100_000)) == nil)
    }

    /// "never" only for recovery_tmo off: an unreadable one leaves the time left unknown in the view
    /// (and so in the state file and the metrics), never +Inf.
    @Test func timeLeftIsNeverOnlyWhenRecoveryIsOff() throws {
        func secondsLeft(recoveryTimeout: String) throws -> Double? {
            let tree = try FixtureTree.healthyDisklessClient()
            try tree.setAttribute("class/iscsi_session/session1/recovery_tmo", recoveryTimeout)
            var tracker = RecoveryTracker()
            _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
            try tree.setPhase(.failed, session: 1)
            _ = tracker.update(tree.scanner.scan(), at: TestClock.at(5))
            var snapshot = DaemonSnapshot()
            tracker.record(into: &snapshot, at: TestClock.at(10))
            let episode = try #require(snapshot.episodes.first)
            #expect(episode.endedMicroseconds == nil)
            return episode.secondsLeft
        }
        #expect(try secondsLeft(recoveryTimeout: "off") == .infinity)
        #expect(try secondsLeft(recoveryTimeout: "garbage") == nil)
        #expect(try secondsLeft(recoveryTimeout: "120") == 115)
    }

    @Test func sessionAlreadyFailedAtFirstLookStartedBeforeObservation() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.failed, session: 1)
        var tracker = RecoveryTracker()
        let events = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        #expect(events.map(\.kind) == [.sessionFailed, .rootAtRisk])
        #expect(events[0].fields[.previousState] == nil)
        #expect(tracker.openEpisodes.first?.startedBeforeObservation == true)
    }

    @Test func aNewSessionFreeWhileLoggingInIsNoOutage() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        // The kernel creates a session FREE and makes it LOGGED_IN when the login completes; its
        // disks appear only after that.
        try tree.addISCSISession(number: 2, host: 3, luns: [])
        try tree.setAttribute("class/iscsi_session/session2/state", "FREE")
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(1)).isEmpty)
        try tree.setAttribute("class/iscsi_session/session2/state", "LOGGED_IN")
        #expect(tracker.update(tree.scanner.scan(), at: TestClock.at(2)).isEmpty)
        #expect(tracker.open.isEmpty)
        // The same state after LOGGED_IN is a loss.
        try tree.setAttribute("class/iscsi_session/session2/state", "FREE")
        let lost = tracker.update(tree.scanner.scan(), at: TestClock.at(3))
        #expect(lost.map(\.kind) == [.sessionFailed, .ioFailing])
    }

    @Test func vanishedSessionClosesItsEpisode() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 3, host: 4, phase: .failed)
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        #expect(tracker.open.keys.sorted() == [3])
        try tree.removeSession(3)
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(7))
        #expect(tracker.open.isEmpty)
        #expect(tracker.finished.map(\.session) == [3])
        #expect(tracker.finished.first?.ended == TestClock.at(7))
    }

    @Test func rootSessionEventsComeFirst() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 2, host: 3)
        let root = try tree.addISCSISession(number: 7, host: 8)
        try tree.mount(point: "/", device: root.disks[0], fileSystem: "ext4")
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(0))
        try tree.setPhase(.failed, session: 2)
        try tree.setPhase(.failed, session: 7)
        let events = tracker.update(tree.scanner.scan(), at: TestClock.at(1))
        #expect(events.map { $0.fields[.session] } == ["session7", "session7", "session2"])
        #expect(events.map(\.kind) == [.sessionFailed, .rootAtRisk, .sessionFailed])
        #expect(tracker.openEpisodes.map(\.session) == [7, 2])
    }
}
