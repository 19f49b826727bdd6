import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("StallTracker: requests in flight with no completions, from inflight/stat sequences")
struct StallTrackerTests {
    /// The 17 `stat` counters with `reads` and `writes` completed (fields 1 and 5) and the rest zero.
    private func stat(reads: UInt64 = 0, writes: UInt64) -> [UInt64] {
        var counters = [UInt64](repeating: 0, count: 17)
        counters[0] = reads
        counters[4] = writes
        return counters
    }

    /// A client whose session has NOPs off, as iscsistart leaves it; disk tuned.
    private func client() throws -> FixtureTree {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/scsi_device/2:0:0:0/device/timeout", "90")
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        return tree
    }

    /// Writes the counters into the tree, reads them back as the daemon does, and feeds the tracker.
    private func feed(_ tracker: inout StallTracker, _ tree: FixtureTree, topology: Topology, inflightWrites: UInt64,
                      writesDone: UInt64, at seconds: Double) throws -> [HealthEvent] {
        try tree.setInflight(disk: "sda", reads: 0, writes: inflightWrites)
        try tree.setStat(disk: "sda", stat(reads: 1000, writes: writesDone))
        let device = try #require(topology.device(disk: "sda"))
        let sample = try #require(IOSample.read(tree.sysfs, blockDirectory: "\(device.devpath)/block/sda"))
        return tracker.update([(device, sample)], topology: topology, threshold: .seconds(5), at: TestClock.at(seconds))
    }

    @Test func theCapturedNOPsOffOutageIsOneStallReportedAfterTheThresholdAndClearedAfter() throws {
        // console-O30-noiscsid: inflight rose to 0 2 at 39.89 and stayed; the writer finished nothing until 69.
        let samples = try OutageConsole.samples("console-O30-noiscsid.txt")
        #expect(samples.count == 50)
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        var reported: [(Double, HealthEvent)] = []
        for sample in samples {
            for event in try feed(&tracker, tree, topology: topology, inflightWrites: sample.inflightWrites,
                                  writesDone: sample.writesDone, at: sample.seconds) {
                reported.append((sample.seconds, event))
            }
        }
        #expect(reported.map(\.1.kind) == [.ioStalled, .ioStallCleared])
        let (stalledAt, stalled) = try #require(reported.first)
        // Nothing in flight at 38.76, requests standing at 39.89: the stall began between, taken as
        // the middle (39.325); the first sample 5 s later is 44.44.
        #expect(stalledAt == 44.44)
        #expect(stalled.fields[.inflight] == "1")
        #expect(stalled.fields[.device] == "sda")
        #expect(stalled.fields[.session] == "session1")
        #expect(stalled.fields[.root] == "1")
        #expect(stalled.message.hasPrefix("root I/O to sda stalled 5.1 s"))
        #expect(stalled.message.contains("session1 still LOGGED_IN: NOPs are off, the kernel has not noticed"))
        #expect(stalled.message.hasSuffix("SCSI timeout 90 s"))
        let (clearedAt, cleared) = reported[1]
        #expect(clearedAt == 69.25)
        #expect(cleared.fields[.durationMicroseconds] == "29925000")
        #expect(tracker.stalls.isEmpty)
    }

    @Test func notReportedBeforeTheThresholdAndOnlyOnce() throws {
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        var kinds: [MessageKind] = []
        for second in stride(from: 0.0, through: 4.9, by: 0.7) {
            kinds += try feed(&tracker, tree, topology: topology, inflightWrites: 2, writesDone: 40, at: second).map(\.kind)
        }
        #expect(kinds.isEmpty)
        #expect(tracker.stalls.isEmpty)
        kinds += try feed(&tracker, tree, topology: topology, inflightWrites: 2, writesDone: 40, at: 5).map(\.kind)
        #expect(kinds == [.ioStalled])
        for second in 6...20 {
            kinds += try feed(&tracker, tree, topology: topology, inflightWrites: 2, writesDone: 40, at: Double(second)).map(\.kind)
        }
        #expect(kinds == [.ioStalled])
        #expect(tracker.stalls["sda"]?.inflight == 2)
        #expect(tracker.stalls["sda"]?.since == TestClock.at(0))
    }

    @Test func aStallOnADiskIdleBeforeIsDatedInTheMiddleOfTheIdleInterval() throws {
        // The e2e's c-outage: the root idle and sampled once a second; its last completions (a sync)
        // and the first stuck request both fall between the samples at 2 and 3; then a sample every
        // quarter second. The stall began in (2, 3]: dated 2.5, reported at 7.5, half a second from
        // either end, where dating it at 3 (the sample that saw it) reported it at 8.
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        var reported: [(Double, HealthEvent)] = []
        for second in [0.0, 1, 2] {
            reported += try feed(&tracker, tree, topology: topology, inflightWrites: 0, writesDone: 10 + UInt64(second),
                                 at: second).map { (second, $0) }
        }
        for second in stride(from: 3.0, through: 9, by: 0.25) {
            reported += try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 20, at: second).map { (second, $0) }
        }
        #expect(reported.map(\.1.kind) == [.ioStalled])
        #expect(reported.first?.0 == 7.5)
        #expect(tracker.stalls["sda"]?.since == TestClock.at(2.5))
        #expect(reported.first?.1.message.hasPrefix("root I/O to sda stalled 5 s") == true)
    }

    @Test func aRequestStuckAfterAnIdleSampleIsDatedInTheMiddleToo() throws {
        // Idle at 10, one request standing (no completion) at 11: it was issued in (10, 11].
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        _ = try feed(&tracker, tree, topology: topology, inflightWrites: 0, writesDone: 5, at: 10)
        #expect(try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 5, at: 11).isEmpty)
        #expect(try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 5, at: 15.25).isEmpty)
        #expect(try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 5, at: 15.5).map(\.kind) == [.ioStalled])
        #expect(tracker.stalls["sda"]?.since == TestClock.at(10.5))
    }

    @Test func slowButMovingIsNeverAStall() throws {
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        var events: [HealthEvent] = []
        for second in 0...30 {
            events += try feed(&tracker, tree, topology: topology, inflightWrites: 8, writesDone: UInt64(100 + second),
                               at: Double(second))
        }
        #expect(events.isEmpty)
        #expect(tracker.stalls.isEmpty)
    }

    @Test func stallClearedWhenInflightDropsToZero() throws {
        let tree = try client()
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        _ = try feed(&tracker, tree, topology: topology, inflightWrites: 2, writesDone: 7, at: 10)
        #expect(try feed(&tracker, tree, topology: topology, inflightWrites: 2, writesDone: 7, at: 16).map(\.kind) == [.ioStalled])
        // Requests given up (e.g. failed after the SCSI timeout): nothing in flight, no completions counted.
        let cleared = try feed(&tracker, tree, topology: topology, inflightWrites: 0, writesDone: 7, at: 22)
        #expect(cleared.map(\.kind) == [.ioStallCleared])
        #expect(cleared.first?.fields[.durationMicroseconds] == "12000000")
        #expect(cleared.first?.message == "root I/O to sda flows again after 12 s stalled")
        #expect(tracker.stalls.isEmpty)
    }

    @Test func nonRootDiskStallHasNoRootWording() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 4, host: 5)
        let topology = tree.scanner.scan()
        var tracker = StallTracker()
        _ = try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 3, at: 0)
        let events = try feed(&tracker, tree, topology: topology, inflightWrites: 1, writesDone: 3, at: 6)
        #expect(events.first?.message.hasPrefix("I/O to sda stalled 6 s") == true)
        #expect(events.first?.fields[.root] == nil)
    }
}
