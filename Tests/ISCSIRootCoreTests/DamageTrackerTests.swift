import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("DamageTracker: kernel storage errors re-emitted with fields, sticky file-system damage")
struct DamageTrackerTests {
    private let bootID = "6f1c2b1e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"

    /// The captured machine: `/` (ext4) directly on `sda`, LUN 1 of session1 on host0 (`0:0:0:1`).
    private func capturedClient() throws -> FixtureTree {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 0, luns: [1])
        #expect(session.devices.map(\.hctl) == ["0:0:0:1"])
        try tree.mount(point: "/", device: "sda", fileSystem: "ext4")
        return tree
    }

    private func records() throws -> [KernelRecord] {
        try OutageConsole.kmsgRecords("console-O150-stock.txt").map { try #require(KernelRecord(kmsg: $0)) }
    }

    /// Every record fed live, each at the moment the kernel logged it.
    private func replay(_ records: [KernelRecord], into tracker: inout DamageTracker, topology: Topology) -> [HealthEvent] {
        records.flatMap { record in
            tracker.observe(record, topology: topology, at: TestClock.at(Double(record.timestampMicroseconds) / 1e6), live: true)
        }
    }

    @Test func storageErrorsAreReemittedWithKernelSequenceDeviceSessionAndMountPoint() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        let all = try records()
        var tracker = DamageTracker()
        let events = replay(all, into: &tracker, topology: topology)
        let kernel = events.filter { $0.kind == .kernelStorageError }

        let ioError = try #require(kernel.first { $0.message.contains("I/O error, dev sda") })
        let record = try #require(all.first { $0.message.hasPrefix("I/O error, dev sda") })
        #expect(ioError.fields[.kernelSequenceNumber] == String(record.sequence))
        #expect(ioError.fields[.device] == "sda")
        #expect(ioError.fields[.scsiDevice] == "0:0:0:1")
        #expect(ioError.fields[.session] == "session1")
        #expect(ioError.fields[.mountPoint] == "/")
        #expect(ioError.fields[.root] == "1")

        let rejected = try #require(kernel.first { $0.message.contains("rejecting I/O to offline device") })
        #expect(rejected.fields[.device] == "sda")
        #expect(rejected.fields[.mountPoint] == "/")
        let timedOut = try #require(kernel.first { $0.message.contains("session recovery timed out") })
        #expect(timedOut.fields[.session] == "session1")
        #expect(timedOut.message == "kernel: session1: session recovery timed out after 120 secs")
        #expect(kernel.contains { $0.message.contains("detected conn error (1022)") })
        #expect(!kernel.contains { $0.message.contains("mounted filesystem") })
    }

    @Test func repeatsWithinTheWindowAreCountedNotReemitted() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker(repeatWindow: .seconds(10))
        let events = replay(try records(), into: &tracker, topology: topology)
        let ioErrors = events.filter { $0.kind == .kernelStorageError && $0.message.hasPrefix("kernel: I/O error, dev sda") }
        // Once at 169.18 s, then again only at 179.43 s (more than 10 s later), with the count of those held back.
        #expect(ioErrors.count == 2)
        #expect(ioErrors.first?.at == TestClock.at(169.183119))
        #expect(ioErrors.last?.at == TestClock.at(179.428472))
        #expect(ioErrors.last?.message.contains("more like it before)") == true)
        #expect(events.filter { $0.message.contains("Remounting filesystem read-only") }.count == 2)
    }

    @Test func damageIsReportedOnceStickyAndBlamesTheRecoveryTimeout() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        let events = replay(try records(), into: &tracker, topology: topology)
        let damaged = events.filter { $0.kind == .fileSystemDamaged }
        #expect(damaged.count == 1)
        let message = try #require(damaged.first?.message)
        #expect(message.hasPrefix("root file system damaged at "))
        #expect(message.contains("after recovery timeout of session1"))
        #expect(message.contains("journal aborted on sda"))
        #expect(message.hasSuffix("reboot"))
        #expect(damaged.first?.fields[.mountPoint] == "/")

        let damage = try #require(tracker.damaged.first)
        #expect(tracker.damaged.count == 1)
        #expect(damage.device == "sda")
        #expect(damage.carriesRoot)
        #expect(damage.sinceMicroseconds == TestClock.wallBase + 169_185_996)
        // The session logging in again clears nothing: the ext4 counters and later records do not reset it.
        #expect(tracker.observeExt4(errorCounts: ["sda": 0], topology: topology, at: TestClock.at(200)).isEmpty)
        #expect(tracker.damaged == [damage])
    }

    @Test func recordsAlreadyHandledAreIgnoredAfterARestart() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        let all = try records()
        var first = DamageTracker()
        _ = replay(all, into: &first, topology: topology)
        #expect(first.lastSequence == all.last?.sequence)

        var restarted = DamageTracker(damage: first.damaged, lastSequence: first.lastSequence)
        #expect(replay(all, into: &restarted, topology: topology).isEmpty)
        // A record up to the last one is old; the next one is new.
        let cut = all.count / 2
        var resumed = DamageTracker(lastSequence: all[cut].sequence)
        let events = replay(all, into: &resumed, topology: topology)
        let sequences = events.compactMap { $0.fields[.kernelSequenceNumber] }.compactMap(UInt64.init)
        #expect(!sequences.isEmpty)
        #expect(sequences.allSatisfy { $0 > all[cut].sequence })
    }

    @Test func backlogSetsDamageWithoutEventsPerRecord() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        let start = TestClock.at(300)
        let events = try records().flatMap { tracker.observe($0, topology: topology, at: start, live: false) }
        #expect(events.map(\.kind) == [.fileSystemDamaged])
        let damage = try #require(tracker.damaged.first)
        #expect(damage.cause.contains("logged before iscsi-rootd started"))
        #expect(damage.afterRecoveryTimeoutOf == "session1")
        // The time comes from the record, not from when the daemon read it.
        #expect(damage.sinceMicroseconds == TestClock.wallBase + 169_185_996)
    }

    @Test func ext4ErrorsAboveTheBaselineAreDamage() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        #expect(tracker.observeExt4(errorCounts: ["sda": 2], topology: topology, at: TestClock.at(10)).isEmpty)
        #expect(tracker.ext4Baseline == ["sda": 2])
        #expect(tracker.observeExt4(errorCounts: ["sda": 2], topology: topology, at: TestClock.at(20)).isEmpty)
        let events = tracker.observeExt4(errorCounts: ["sda": 5], topology: topology, at: TestClock.at(30))
        #expect(events.map(\.kind) == [.fileSystemDamaged])
        #expect(events.first?.fields[.device] == "sda")
        #expect(tracker.damaged.first?.cause == "ext4 errors_count 2 → 5")
        #expect(tracker.damaged.first?.afterRecoveryTimeoutOf == nil)
        #expect(tracker.observeExt4(errorCounts: ["sda": 9], topology: topology, at: TestClock.at(40)).isEmpty)
    }

    @Test func ext4ErrorsOnANonISCSIDeviceAreNotOurs() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        _ = tracker.observeExt4(errorCounts: ["vda1": 0], topology: topology, at: TestClock.at(10))
        #expect(tracker.observeExt4(errorCounts: ["vda1": 4], topology: topology, at: TestClock.at(20)).isEmpty)
        #expect(tracker.damaged.isEmpty)
    }

    @Test func stateFileCarriesDamageOverARestartButNotAReboot() throws {
        let tree = try capturedClient()
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        _ = tracker.observeExt4(errorCounts: ["sda": 1], topology: topology, at: TestClock.at(1))
        _ = replay(try records(), into: &tracker, topology: topology)

        var snapshot = DaemonSnapshot(pid: 99, bootID: bootID, startedMicroseconds: TestClock.wallBase, deviceEvents: "udev",
                                      sessionEvents: "netlink")
        tracker.record(into: &snapshot)
        let json = try #require(JSONValue(parsing: snapshot.json.serialized(pretty: true)))
        let (written, warnings) = try #require(DaemonSnapshot.read(json: json))
        #expect(warnings.isEmpty)

        let carried = DamageTracker(carriedOver: written, bootID: bootID)
        #expect(carried.damaged == tracker.damaged)
        #expect(carried.lastSequence == tracker.lastSequence)
        #expect(carried.ext4Baseline == ["sda": 1])
        let reboot = DamageTracker(carriedOver: written, bootID: "another-boot")
        #expect(reboot.damaged.isEmpty && reboot.lastSequence == nil && reboot.ext4Baseline.isEmpty)

        // A tracker rebuilt from it stays damaged and does not re-alarm the same records.
        var restarted = carried
        #expect(replay(try records(), into: &restarted, topology: topology).isEmpty)
        #expect(restarted.damaged == tracker.damaged)
    }
}
