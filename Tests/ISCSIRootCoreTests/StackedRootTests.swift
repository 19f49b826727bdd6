import ISCSIRootCore
import SysfsFixtures
import Testing

/// Roots stacked on iSCSI (issue 22): overlayfs layers and loop devices' backing files are followed
/// down to the disks, so the sessions under any layer carry `/`; a layer that cannot be followed is
/// UNKNOWN with the reason.
@Suite("Stacked roots: overlayfs and loop over iSCSI")
struct StackedRootTests {
    private func tree(_ scenario: Scenario) throws -> FixtureTree {
        let tree = try FixtureTree()
        try scenario.layOut(in: tree)
        return tree
    }

    // MARK: Formats

    /// Super options as the 6.18 kernel wrote them (Fixtures/captures/stacked-roots/overlay-loop.txt):
    /// a comma written `\054`, the lowerdir's own `\` before a colon written `\134`.
    @Test func capturedOverlayOptionsGiveEveryLayer() throws {
        let line = #"51 27 0:42 / /tmp/stacked-roots.G7ZNM8/merged rw,relatime - overlay overlay rw,lowerdir=/tmp/stacked-roots.G7ZNM8/lower\134\0541:/tmp/stacked-roots.G7ZNM8/lo\134:w2,upperdir=/tmp/stacked-roots.G7ZNM8/up/upper,workdir=/tmp/stacked-roots.G7ZNM8/up/work,uuid=on"#
        let entry = try #require(MountEntry.parseMountInfo(line).first)
        #expect(entry.fileSystem == "overlay")
        let layers = try #require(OverlayLayers(superOptions: entry.superOptions))
        #expect(layers.lower == ["/tmp/stacked-roots.G7ZNM8/lower,1", "/tmp/stacked-roots.G7ZNM8/lo:w2"])
        #expect(layers.data.isEmpty)
        #expect(layers.upper == "/tmp/stacked-roots.G7ZNM8/up/upper")
        let readOnly = #"ro,lowerdir=/tmp/stacked-roots.G7ZNM8/lower\134\0541:/tmp/stacked-roots.G7ZNM8/lo\134:w2,redirect_dir=on"#
        #expect(OverlayLayers(superOptions: readOnly)?.upper == nil)
        #expect(OverlayLayers(superOptions: readOnly)?.lower.count == 2)
    }

    /// fs/overlayfs/params.c: `::` starts the data-only layers; the new mount API's `lowerdir+=` and
    /// `datadir+=` name one path each, colons and all.
    @Test func dataOnlyLayersAndTheNewMountAPI() {
        let legacy = OverlayLayers(superOptions: "ro,lowerdir=/a:/b::/c,metacopy=on")
        #expect(legacy?.lower == ["/a", "/b"] && legacy?.data == ["/c"])
        let added = OverlayLayers(superOptions: "rw,lowerdir+=/l:1,lowerdir+=/l2,datadir+=/d,upperdir=/u,workdir=/w")
        #expect(added?.lower == ["/l:1", "/l2"] && added?.data == ["/d"] && added?.upper == "/u")
        #expect(OverlayLayers(superOptions: "rw,upperdir=/u") == nil, "no lower layer: nothing to trace")
    }

    // MARK: Tracing

    @Test func overlayRootRestsOnTheSessionUnderItsLowerLayer() throws {
        let tree = try tree(.overlay)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.overlay == "/" && root.fileSystem == "overlay")
        #expect(root.path == ["sda2", "sda"] && root.disks == ["sda"] && root.untraced == nil)
        #expect(topology.sessions(of: root).map(\.number) == [1])
        #expect(topology.criticalUses(ofSession: 1) == [.root])
        let lower = try #require(root.stackedLayers(of: .overlay("/")).first)
        #expect(lower.role == .lower && lower.path == "/run/rootfsbase" && lower.block == "sda2")
        #expect(lower.holder?.mountPoint == "/run/rootfsbase" && lower.holder?.fileSystem == "ext4")
        let upper = try #require(root.stackedLayers(of: .overlay("/")).last)
        #expect(upper.role == .upper && upper.holder?.fileSystem == "tmpfs" && upper.block == nil && upper.untraced == nil)
        // The session gets the root treatment: its recovery_tmo is wanted raised.
        let session = try #require(topology.session(1))
        #expect(SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400)).wantedTimeout(for: session, topology: topology)
                == .seconds(86400))
    }

    @Test func loopRootRestsOnTheDiskHoldingItsBackingFile() throws {
        let tree = try tree(.loop)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.source == "loop0" && root.path == ["loop0", "sda1", "sda"] && root.disks == ["sda"])
        #expect(root.layer("loop0")?.kind == .loop)
        let file = try #require(root.stackedLayers(of: .loop("loop0")).first)
        #expect(file.role == .file && file.path == "/run/initramfs/live/LiveOS/rootfs.img" && file.block == "sda1")
        #expect(topology.criticalUses(ofSession: 1) == [.root])
    }

    /// d_path writes " (deleted)" after an unlinked backing file; the file is still on that mount.
    @Test func deletedBackingFileIsStillTraced() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        let live = try tree.addPartition(1, of: session.disks[0])
        try tree.mount(point: "/live", device: live, fileSystem: "ext4")
        let loop = try tree.addLoop(backingFile: "/live/root.img", deleted: true)
        try tree.mount(point: "/", device: loop, fileSystem: "ext4")
        #expect(tree.sysfs.attribute("class/block/loop0/loop/backing_file").value == "/live/root.img (deleted)")
        let root = try #require(tree.scanner.scan().root)
        #expect(root.disks == ["sda"] && root.stack.first?.path == "/live/root.img")
    }

    /// A loop device whose file, by name, lies on the file system it backs: a cycle, untraced, not a
    /// loop of the scan or of the drawing.
    @Test func aLayerOnItsOwnMountIsUntraced() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        let loop = try tree.addLoop(backingFile: "/root.img")
        try tree.mount(point: "/", device: loop, fileSystem: "ext4")
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.untraced?.contains("file /root.img of loop0: as this mount namespace sees it, it lies on the mount / itself") == true)
        let text = StatusReport(topology: topology, configuration: Configuration()).text(color: false)
        #expect(text.contains("/ on loop0 ← file /root.img: not traced: "), "\(text)")
    }

    @Test func overlayOverMultipathCarriesTheMap() throws {
        let tree = try tree(.overlayMultipath)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        let map = try #require(topology.maps(of: root).first)
        #expect(map.name == "mpatha")
        #expect(topology.criticalUses(of: map) == [.root])
        #expect(topology.isPathSession(1) && topology.criticalUses(ofSession: 2) == [.root])
    }

    /// overlayroot names its lower layer as the initramfs saw it; after switch_root no mount has that
    /// name, so the name falls on the overlay itself: UNKNOWN with the reason, never "not on iSCSI".
    @Test func untraceableLayerIsUnknownWithTheReason() throws {
        let tree = try tree(.overlayUntraceable)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        let reason = try #require(root.untraced)
        #expect(reason.contains("lower /media/root-ro of /") && reason.contains("lies on the overlay / itself"))
        #expect(root.stack.first?.untraced != nil && root.stack.first?.holder == nil)
        let findings = HealthCheck(configuration: Configuration()).findings(topology)
        let finding = try #require(findings.first { $0.subject == "/" })
        #expect(finding.severity == .unknown && finding.message.contains("cannot tell whether it is on iSCSI"))
        let report = StatusReport(topology: topology, configuration: Configuration())
        #expect(report.overall == .unknown)
        #expect(report.text(color: false).contains("/ on overlay ← lower /media/root-ro: not traced: "))
        #expect(!report.text(color: false).contains("not iSCSI"))
    }

    // MARK: Status

    @Test func statusDrawsEachLayerDownToItsSession() throws {
        let overlayTree = try tree(.overlay)
        let overlay = StatusReport(topology: overlayTree.scanner.scan(), configuration: Configuration())
        #expect(overlay.text(color: false).contains("/ on overlay ← lower /run/rootfsbase on sda2 ← sda (2:0:0:0) ← session1 "
                                      + "iqn.2003-01.org.linux-iscsi.vmlab:tgt1 @ 127.0.0.1:3260; upper /run/overlayfs on tmpfs\n"))
        #expect(overlay.text(color: false).contains("carries /"))
        let storage = try #require(overlay.json["storage"]?.arrayValue?.first)
        #expect(storage["overlay"] == .string("/") && storage["sessions"] == .array([.string("session1")]))
        let layers = try #require(storage["stack"]?.arrayValue)
        #expect(layers.map { $0["role"] } == [.string("lower"), .string("upper")])
        #expect(layers.first?["block"] == .string("sda2") && layers.first?["mount_point"] == .string("/run/rootfsbase"))
        #expect(layers.last?["fstype"] == .string("tmpfs") && layers.last?["block"] == .null)

        let loopTree = try tree(.loop)
        let loop = StatusReport(topology: loopTree.scanner.scan(), configuration: Configuration())
        #expect(loop.text(color: false).contains("/ on loop0 ← file /run/initramfs/live/LiveOS/rootfs.img on sda1 ← sda (2:0:0:0) ← session1 "))
    }

    /// A layer name is untrusted: a newline in it never splits the status line.
    @Test func layerNamesAreEscapedInStatus() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        let lower = try tree.addPartition(2, of: session.disks[0])
        try tree.mount(point: "/run/base\nx", device: lower, fileSystem: "ext4", readOnly: true)
        try tree.mountOverlay(point: "/", lower: ["/run/base\nx"], upper: "/run/up")
        let topology = tree.scanner.scan()
        #expect(topology.root?.disks == ["sda"])
        let text = StatusReport(topology: topology, configuration: Configuration()).text(color: false)
        #expect(text.contains(#"/ on overlay ← lower /run/base\nx on sda2"#), "\(text)")
    }
}
