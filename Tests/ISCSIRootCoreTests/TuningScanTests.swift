import ISCSIRootCore
import SysfsFixtures
import Testing

/// `apply` reads only what the policy and the tuner decide on (`TopologyScanner.scanForTuning`);
/// these prove it decides, writes and prints what it did with the full scan `status` uses.
@Suite("The tuning-only scan decides as the full scan does")
struct TuningScanTests {
    /// What a decision rests on, per device: identity, transport, type, disk and multipath holder.
    private func decisionInputs(_ devices: [SCSIDevice]) -> [String] {
        devices.map { "\($0.hctl) \($0.devpath) \($0.sessionNumber.map(String.init) ?? "-") \($0.type) "
            + "\($0.disk?.name ?? "-") \($0.disk?.multipathHolder ?? "-")" }
    }

    @Test(arguments: Scenario.allCases)
    func sameDevicesAndSameApplyOnEveryScenario(_ scenario: Scenario) throws {
        let full = try FixtureTree()
        try scenario.layOut(in: full)
        let lean = try FixtureTree()
        try scenario.layOut(in: lean)
        let scan = lean.scanner.scanForTuning()
        #expect(scan.unreadable == nil)
        #expect(decisionInputs(scan.devices) == decisionInputs(full.scanner.scan().devices))
        // Every scenario has a disk to tune but the multipath ones, whose disks are all multipathd's paths.
        #expect(scan.devices.filter(DiskPolicy().applies).isEmpty == [.multipath, .overlayMultipath].contains(scenario))

        for dryRun in [true, false] {
            let withFull = DiskTuner(sysfs: full.sysfs, policy: DiskPolicy()).tune(full.scanner.scan().devices, dryRun: dryRun)
            let withLean = DiskTuner(sysfs: lean.sysfs, policy: DiskPolicy()).tune(lean.scanner.scanForTuning().devices, dryRun: dryRun)
            #expect(ApplyReport(outcomes: withLean).text == ApplyReport(outcomes: withFull).text)
            #expect(ApplyReport(outcomes: withLean).json == ApplyReport(outcomes: withFull).json)
        }
        // Both trees were tuned alike: the full scans after agree on every attribute `status` shows
        // (the storage chains, which tuning does not touch, aside: an untraced one names its tree).
        let (leanScan, fullScan) = (lean.scanner.scan(), full.scanner.scan())
        #expect(leanScan.devices == fullScan.devices && leanScan.sessions == fullScan.sessions
                && leanScan.hosts == fullScan.hosts && leanScan.maps == fullScan.maps)
        #expect(leanScan.chains.map(\.path) == fullScan.chains.map(\.path))
    }

    @Test func whatItLeavesOutIsUnknownNeverAGuess() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let device = try #require(tree.scanner.scanForTuning().devices.first { $0.disk?.name == "sda" })
        #expect(device.timeout == .unknown("not read"))
        #expect(device.state == .unknown("not read"))
        #expect(device.disk?.scheduler == .unknown("not read"))
        #expect(device.type == .value(0))
        #expect(device.sessionNumber == 1)
    }

    @Test func aTreeWithoutClassIsUnreadableAsForTheFullScan() throws {
        let tree = try FixtureTree()
        let scan = TopologyScanner(sysfs: FileTree(root: tree.sysfs.path("nowhere")), system: tree.system).scanForTuning()
        #expect(scan.devices.isEmpty)
        #expect(scan.unreadable != nil)
        #expect(scan.unreadable == TopologyScanner(sysfs: FileTree(root: tree.sysfs.path("nowhere")), system: tree.system).scan().unreadable)
    }
}
