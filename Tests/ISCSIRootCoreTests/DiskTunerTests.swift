import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("DiskTuner writes only what differs, reads back, and touches only iSCSI disks")
struct DiskTunerTests {
    private let timeoutPath = "class/scsi_device/2:0:0:0/device/timeout"
    private let schedulerPath = "class/block/sda/queue/scheduler"

    /// The exact bytes of a file in the tree (a write without the kernel's newline shows up here).
    private func contents(_ tree: FixtureTree, _ path: String) -> String? {
        guard let resolved = tree.sysfs.resolve(path) else { return nil }
        return try? String(contentsOfFile: tree.sysfs.path(resolved), encoding: .utf8)
    }

    private func tuneAll(_ tree: FixtureTree, policy: DiskPolicy = DiskPolicy(), dryRun: Bool = false) -> [TuningOutcome] {
        DiskTuner(sysfs: tree.sysfs, policy: policy).tune(tree.scanner.scan().devices, dryRun: dryRun)
    }

    @Test func untunedDiskIsChangedAndReadBack() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        let outcomes = tuneAll(tree)

        #expect(outcomes.map(\.setting) == [.timeout, .scheduler])
        #expect(outcomes.allSatisfy { $0.disk == "sda" && $0.hctl.description == "2:0:0:0" && $0.sessionNumber == 1 })
        #expect(outcomes[0].result == .changed(from: "30", to: "90"))
        #expect(outcomes[1].result == .changed(from: "mq-deadline", to: "none"))
        #expect(tree.sysfs.attribute(timeoutPath) == .value("90"))
        #expect(tree.scanner.scan().device(disk: "sda")?.disk?.scheduler.value?.selected == "none")
        let tuned = try #require(tree.scanner.scan().device(disk: "sda"))
        #expect(DiskPolicy().isTuned(tuned))
    }

    @Test func alreadyTunedDiskIsLeftAloneAndNothingIsWritten() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        try tree.setAttribute(timeoutPath, "90")
        try tree.setAttribute(schedulerPath, "mq-deadline [none]")
        let before = (contents(tree, timeoutPath), contents(tree, schedulerPath))
        #expect(before.0 == "90\n")

        let outcomes = tuneAll(tree)
        #expect(outcomes.map(\.result) == [.unchanged("90"), .unchanged("none")])
        // A write would have left "90" / "none" without the kernel's newline and brackets.
        #expect(contents(tree, timeoutPath) == before.0)
        #expect(contents(tree, schedulerPath) == before.1)
    }

    @Test func dryRunReportsWhatWouldChangeAndWritesNothing() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        let before = (contents(tree, timeoutPath), contents(tree, schedulerPath))

        let outcomes = tuneAll(tree, dryRun: true)
        #expect(outcomes.map(\.result) == [.wouldChange(from: "30", to: "90"), .wouldChange(from: "mq-deadline", to: "none")])
        #expect(contents(tree, timeoutPath) == before.0)
        #expect(contents(tree, schedulerPath) == before.1)
    }

    @Test func schedulerTheKernelDoesNotOfferFailsNamingTheOfferedOnes() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        try tree.setAttribute(schedulerPath, "[mq-deadline] kyber bfq")
        let before = contents(tree, schedulerPath)

        let outcomes = tuneAll(tree)
        let scheduler = try #require(outcomes.first { $0.setting == .scheduler })
        guard case .failed(let reason) = scheduler.result else {
            Issue.record("expected a failure, got \(scheduler.result)")
            return
        }
        #expect(reason.contains("'none' is not offered"))
        #expect(reason.contains("offered: mq-deadline, kyber, bfq"))
        #expect(contents(tree, schedulerPath) == before)
        #expect(ApplyReport(outcomes: outcomes).anyFailed)
    }

    @Test func readOnlyAttributeFailsWithEACCES() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        try tree.makeUnreadable(timeoutPath, .readOnly)

        let outcomes = tuneAll(tree)
        let timeout = try #require(outcomes.first { $0.setting == .timeout })
        guard case .failed(let reason) = timeout.result else {
            Issue.record("expected a failure, got \(timeout.result)")
            return
        }
        #expect(reason.contains("EACCES"))
        #expect(reason.contains("cannot write 90"))
        // The scheduler is a separate setting and still gets tuned.
        #expect(outcomes.first { $0.setting == .scheduler }?.result == .changed(from: "mq-deadline", to: "none"))
    }

    @Test func deviceRemovedBetweenScanAndTuneFailsAsVanished() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        let devices = tree.scanner.scan().devices
        try tree.removeDevice("2:0:0:0")

        let outcomes = DiskTuner(sysfs: tree.sysfs, policy: DiskPolicy()).tune(devices)
        #expect(outcomes.count == 2)
        for outcome in outcomes {
            guard case .failed(let reason) = outcome.result else {
                Issue.record("expected a failure for \(outcome.setting), got \(outcome.result)")
                continue
            }
            #expect(reason.contains("vanished"))
        }
    }

    @Test func nonISCSIDisksAndCDROMsAreNeverTouched() throws {
        let tree = try FixtureTree()
        try Scenario.mixed.layOut(in: tree)
        let topology = tree.scanner.scan()
        let untouchable = topology.devices.filter { !$0.isISCSI || $0.type.value == 5 }
        // SATA, USB and virtio disks, QEMU's ATA CD-ROM and the iSCSI CD-ROM (type 5).
        #expect(untouchable.count == 5)
        #expect(untouchable.contains { $0.isISCSI && $0.type.value == 5 })
        let paths = untouchable.flatMap { device in
            ["\(device.devpath)/timeout"] + (device.disk.map { ["\(device.devpath)/block/\($0.name)/queue/scheduler"] } ?? [])
        }
        let before = paths.map { contents(tree, $0) }
        #expect(before.allSatisfy { $0 != nil })

        let outcomes = DiskTuner(sysfs: tree.sysfs, policy: DiskPolicy()).tune(topology.devices)
        #expect(Set(outcomes.map(\.disk)) == ["sda", "sdb", "sdc"])
        #expect(outcomes.allSatisfy { $0.sessionNumber != nil })
        #expect(paths.map { contents(tree, $0) } == before)
    }

    @Test func typesZeroSkipsOnlyTheRBCDisk() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2, luns: [0], type: 0)
        let rbc = try tree.addISCSISession(number: 2, host: 3, luns: [0], type: 14)
        let rbcTimeout = "\(rbc.devices[0].devicePath)/timeout"
        let before = contents(tree, rbcTimeout)

        let outcomes = tuneAll(tree, policy: DiskPolicy(types: [0]))
        #expect(Set(outcomes.map(\.disk)) == ["sda"])
        #expect(contents(tree, rbcTimeout) == before)
        // With the default types the RBC disk is tuned too.
        #expect(Set(tuneAll(tree).map(\.disk)) == ["sda", "sdb"])
        #expect(tree.sysfs.attribute(rbcTimeout) == .value("90"))
    }

    // MARK: ApplyReport

    @Test func applyReportTextHasOneLinePerDiskAndSetting() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2, luns: [0, 1])
        try tree.setAttribute("class/block/sdb/queue/scheduler", "[mq-deadline] kyber")
        let report = ApplyReport(outcomes: tuneAll(tree))
        let lines = report.text.split(separator: "\n").map(String.init)

        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("sda  2:0:0:0  session1  timeout"))
        #expect(lines[0].hasSuffix("changed 30 -> 90"))
        #expect(lines[1].hasSuffix("changed mq-deadline -> none"))
        #expect(lines[3].hasPrefix("sdb  2:0:0:1  session1  scheduler"))
        #expect(lines[3].contains("FAILED: scheduler 'none' is not offered"))
        #expect(report.anyFailed)
        #expect(ApplyReport(outcomes: []).text == "no iSCSI disks to tune\n")
        #expect(ApplyReport(outcomes: [], multipathPaths: 1).text == "1 iSCSI disk, a multipath path left to multipathd; nothing to tune\n")
    }

    @Test func applyReportJSONNamesEachResultKindAndTheOKFlag() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        let dry = ApplyReport(outcomes: tuneAll(tree, dryRun: true)).json
        #expect(dry["ok"] == .bool(true))
        let dryResults = try #require(dry["results"]?.arrayValue)
        #expect(dryResults.map { $0["result"] } == [.string("would_change"), .string("would_change")])
        #expect(dryResults[0]["from"] == .string("30") && dryResults[0]["to"] == .string("90"))
        #expect(dryResults[0]["disk"] == .string("sda") && dryResults[0]["hctl"] == .string("2:0:0:0"))
        #expect(dryResults[0]["session"] == .string("session1") && dryResults[0]["setting"] == .string("timeout"))

        let changed = ApplyReport(outcomes: tuneAll(tree)).json
        #expect(changed["results"]?.arrayValue?.map { $0["result"] } == [.string("changed"), .string("changed")])
        let unchanged = ApplyReport(outcomes: tuneAll(tree)).json
        #expect(unchanged["ok"] == .bool(true))
        #expect(unchanged["results"]?.arrayValue?.first?["value"] == .string("90"))
        #expect(unchanged["results"]?.arrayValue?.map { $0["result"] } == [.string("unchanged"), .string("unchanged")])

        try tree.makeUnreadable(timeoutPath, .readOnly)
        let failed = ApplyReport(outcomes: tuneAll(tree)).json
        #expect(failed["ok"] == .bool(false))
        let first = try #require(failed["results"]?.arrayValue?.first)
        #expect(first["result"] == .string("failed"))
        #expect(first["reason"]?.stringValue?.contains("EACCES") == true)
    }
}
