import ISCSIRootCore
import SysfsFixtures
import Testing

/// The signature of two clients logging in with one initiator name (issue 22): a healthy session
/// ended again and again with no network cause is journaled once per episode, with the counts.
@Suite("CollisionWatch names a likely initiator name collision")
struct CollisionWatchTests {
    /// Ends session1 (FAILED) and lets it recover at each of `times`, feeding the recovery tracker's
    /// events to the watch, as the daemon does; returns what the watch journaled.
    private func endings(_ tree: FixtureTree, at times: [Double], watch: inout CollisionWatch, tracker: inout RecoveryTracker,
                         networkCause: Bool = false) throws -> [HealthEvent] {
        var found: [HealthEvent] = []
        for time in times {
            try tree.setPhase(.failed, session: 1)
            var events = tracker.update(tree.scanner.scan(), at: TestClock.at(time))
            if networkCause {
                events = events.map { event in
                    var fields = event.fields
                    fields[.likelyCause] = "10.0.2.15 was removed from eth0"
                    return HealthEvent(event.kind, event.message, fields: fields, at: event.at)
                }
            }
            found += watch.observe(events, topology: tree.scanner.scan(), networkWatched: true, at: TestClock.at(time))
            try tree.setPhase(.loggedIn, session: 1)
            let recovered = tracker.update(tree.scanner.scan(), at: TestClock.at(time + 2))
            found += watch.observe(recovered, topology: tree.scanner.scan(), networkWatched: true, at: TestClock.at(time + 2))
        }
        return found
    }

    @Test func thirdEndingWithinTheWindowIsJournaledOncePerEpisode() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        var watch = CollisionWatch()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(100))
        let initiator = try #require(tree.scanner.scan().session(1)?.initiatorName.value)

        #expect(try endings(tree, at: [110, 130], watch: &watch, tracker: &tracker).isEmpty, "two endings are no pattern")
        let third = try endings(tree, at: [150], watch: &watch, tracker: &tracker)
        #expect(third.map(\.kind) == [.initiatorNameCollision])
        let event = try #require(third.first)
        #expect(event.fields[.session] == "session1" && event.fields[.root] == "1")
        #expect(event.fields[.initiatorName] == initiator)
        #expect(event.fields[.sessionEndings] == "3" && event.fields[.durationMicroseconds] == "40000000")
        #expect(event.message.contains("was ended 3 times in 40 s while its network path stayed up"))
        #expect(event.message.contains("same initiator name (\(initiator))"))
        // More endings in the same episode: nothing new.
        #expect(try endings(tree, at: [170, 190, 400], watch: &watch, tracker: &tracker).isEmpty)
        // Quiet for longer than CollisionWatch.quiet, then the pattern again: a new episode.
        let again = try endings(tree, at: [800, 820, 840], watch: &watch, tracker: &tracker)
        #expect(again.map(\.kind) == [.initiatorNameCollision])
    }

    @Test func endingsSpreadBeyondTheWindowAreNoSignature() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        var watch = CollisionWatch()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(100))
        #expect(try endings(tree, at: [110, 250, 390, 530], watch: &watch, tracker: &tracker).isEmpty)
    }

    @Test func endingsTheNetworkExplainsAreNoSignature() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        var watch = CollisionWatch()
        _ = tracker.update(tree.scanner.scan(), at: TestClock.at(100))
        #expect(try endings(tree, at: [110, 120, 130, 140], watch: &watch, tracker: &tracker, networkCause: true).isEmpty)
    }
}
