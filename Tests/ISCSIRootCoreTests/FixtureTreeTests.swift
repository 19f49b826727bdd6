import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("FixtureTree lays out sysfs as the captures show it")
struct FixtureTreeTests {
    @Test func capturesParseIntoDirectoriesLinksAndAttributes() throws {
        let text = try String(contentsOfFile: capturesDirectory + "/20-snapshot-logged-in.txt", encoding: .utf8)
        let capture = try Capture(parsing: text)
        let session = try #require(capture.directory("/sys/class/iscsi_session/session1"))
        #expect(session.devicePath == "/sys/devices/platform/host2/session1/iscsi_session/session1")
        #expect(session.attribute("state")?.content == .text("LOGGED_IN"))
        #expect(session.attribute("recovery_tmo")?.mode == 0o644)
        #expect(session.attribute("tpgt")?.mode == 0o444)
        let ata = try #require(capture.directory("/sys/class/scsi_device/1:0:0:0/device"))
        #expect(ata.attribute("access_state")?.content == .readError("Invalid argument"))
        #expect(ata.attribute("wwid")?.content == .readError("No such device or address"))
        #expect(ata.attribute("model")?.content == .text("QEMU DVD-ROM    "))
        #expect(ata.attribute("delete")?.content == .writeOnly)
        if case .binary(let bytes) = ata.attribute("inquiry")?.content { #expect(bytes.count == 36) } else {
            Issue.record("inquiry is not binary")
        }
        #expect(ata.attribute("uevent")?.content == .text("DEVTYPE=scsi_device\nDRIVER=sr\nMODALIAS=scsi:t-0x05"))
        #expect(capture.classLinks["/sys/block/sda"] == "/sys/devices/platform/host2/session1/target2:0:0/2:0:0:0/block/sda")
        #expect(capture.deviceTree.contains("/sys/devices/platform/host2/session1/connection1:0"))
        let walk = try #require(capture.attributeWalk["/devices/platform/host2/session1/target2:0:0/2:0:0:0/block/sda"])
        #expect(walk["queue/scheduler"] == "[mq-deadline] none")
    }

    @Test func badCaptureLinesAreNamed() {
        #expect(throws: CaptureError.self) {
            try Capture(parsing: "===== DIR /sys/class/x =====\n", name: "bad.txt")
        }
        #expect(throws: CaptureError.self) {
            try Capture(parsing: "===== DIR /sys/class/x -> /sys/devices/x =====\n--- /sys/class/x/a [rw]\n1\n")
        }
    }

    @Test func classLinksAreRelativeAndResolveToTheCapturedDevpaths() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let text = try String(contentsOfFile: capturesDirectory + "/20-snapshot-logged-in.txt", encoding: .utf8)
        let capture = try Capture(parsing: text)
        for (link, target) in capture.classLinks where !link.hasPrefix("/sys/class/scsi_host/host0") {
            let relative = String(link.dropFirst("/sys".count))
            #expect(tree.sysfs.resolve(relative) == String(target.dropFirst("/sys".count)), "\(link)")
            let destination = try FileManager.default.destinationOfSymbolicLink(atPath: tree.sysfs.path(relative))
            #expect(destination.hasPrefix("../"), "\(link) → \(destination)")
        }
        #expect(tree.sysfs.resolve("class/scsi_device/2:0:0:0/device") == "/devices/platform/host2/session1/target2:0:0/2:0:0:0")
        #expect(tree.sysfs.resolve("dev/block/8:2") == "/devices/platform/host2/session1/target2:0:0/2:0:0:0/block/sda/sda2")
        #expect(tree.sysfs.resolve("block/sda/device") == "/devices/platform/host2/session1/target2:0:0/2:0:0:0")
        #expect(tree.sysfs.attribute("block/sda/sda2/partition") == .value("2"))
        #expect(tree.sysfs.attribute("block/sda/sda2/dev") == .value("8:2"))
    }

    @Test func credentialsHoldOnlyTheCapturedNull() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 14, host: 3)
        for name in ["username", "password", "username_in", "password_in"] {
            #expect(try tree.sysfs.read("class/iscsi_session/session14/\(name)").get() == "(null)")
        }
    }

    @Test func lunsGetTheKernelsDiskNamesAndNumbers() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2, luns: (0..<28).map(UInt64.init), detail: .essential)
        #expect(session.disks.first == "sda")
        #expect(session.disks[25] == "sdz")
        #expect(session.disks[26] == "sdaa")
        #expect(tree.sysfs.attribute("class/block/sdp/dev") == .value("8:240"))
        #expect(tree.sysfs.attribute("class/block/sdq/dev") == .value("65:0"))
        #expect(tree.sysfs.resolve("class/scsi_device/2:0:0:27/device")?.hasSuffix("/session1/target2:0:0/2:0:0:27") == true)
    }

    @Test func aWriteRefusesASymbolicLinkPlantedAtTheAttribute() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        let attribute = "\(session.devices[0].devicePath)/timeout"
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        let victim = outside.path + "/victim"
        try "keep\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: tree.sysfs.path(attribute))
        try FileManager.default.createSymbolicLink(atPath: tree.sysfs.path(attribute), withDestinationPath: victim)

        let result = tree.sysfs.write(attribute, "90")
        #expect(errno(result) == "ELOOP")
        if case .failure(let error) = result {
            #expect(error.description == "\(tree.sysfs.path(attribute)): is a symbolic link")
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep\n")
    }

    @Test func unreadableKindsFailWithTheRealErrors() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        let device = session.devices[0].devicePath
        try tree.makeUnreadable("\(device)/timeout", .directory)
        #expect(errno(tree.sysfs.read("\(device)/timeout")) == "EISDIR")
        #expect(errno(tree.sysfs.write("\(device)/timeout", "90")) == "EISDIR")

        try tree.makeUnreadable("\(device)/timeout", .readOnly)
        #expect(tree.sysfs.integer("\(device)/timeout").value != nil)
        #expect(errno(tree.sysfs.write("\(device)/timeout", "90")) == "EACCES")

        try tree.makeUnreadable("\(device)/queue_depth", .noSuchDevice)
        #expect(errno(tree.sysfs.read("\(device)/queue_depth")) == "ENXIO")

        // And an edit puts a plain attribute back.
        try tree.setAttribute("\(device)/timeout", "30")
        #expect(tree.sysfs.integer("\(device)/timeout") == .value(30))
    }

    @Test("access_state reads EINVAL, as captured", .enabled(if: getuid() == 0, "the fixture's EINVAL needs root"))
    func accessStateReadsEINVAL() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        #expect(errno(tree.sysfs.read("\(session.devices[0].devicePath)/access_state")) == "EINVAL")
    }

    @Test func countersKeepTheKernelsColumns() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2)
        #expect(try tree.sysfs.read("class/block/sda/inflight").get() == "       0        0")
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        #expect(try tree.sysfs.read("class/block/sda/inflight").get() == "       0        2")
        try tree.setInflight(disk: "sda", reads: 123_456_789, writes: 1)
        #expect(try tree.sysfs.read("class/block/sda/inflight").get() == "123456789        1")
        try tree.setStat(disk: "sda", [52, 0, 2120, 95, 3, 0, 24, 7, 2, 40, 102, 0, 0, 0, 0, 1, 1])
        #expect(try tree.sysfs.read("class/block/sda/stat").get()
                == "      52        0     2120       95        3        0       24        7        2       40      102"
                + "        0        0        0        0        1        1")
        #expect(throws: FixtureError.self) { try tree.setStat(disk: "sda", [1, 2]) }
    }

    @Test func mountInfoAndSwapsFollowTheProcFormats() throws {
        let tree = try FixtureTree()
        let session = try tree.addISCSISession(number: 1, host: 2)
        let data = try tree.addPartition(1, of: session.disks[0])
        let swap = try tree.addPartition(2, of: session.disks[0], sectors: 2_097_152)
        try tree.mount(point: "/srv/my data", device: data, fileSystem: "xfs")
        try tree.addSwap(device: swap)
        try tree.addSwapFile(path: "/swap file")

        let mounts = MountEntry.parseMountInfo(try tree.system.read("proc/self/mountinfo").get())
        let mounted = try #require(mounts.first { $0.mountPoint == "/srv/my data" })
        #expect(mounted == MountEntry(majorMinor: "8:1", mountPoint: "/srv/my data", fileSystem: "xfs", source: "/dev/sda1",
                                         superOptions: "rw"))
        #expect(mounts.contains { $0.mountPoint == "/proc" && $0.majorMinor.hasPrefix("0:") })
        let swaps = SwapEntry.parseSwaps(try tree.system.read("proc/swaps").get())
        #expect(swaps == [SwapEntry(path: "/dev/sda2", kind: "partition"), SwapEntry(path: "/swap file", kind: "file")])
        #expect(try tree.system.read("proc/swaps").get().contains("/dev/sda2                               partition\t1048572\t\t0\t\t-2"))
    }

    @Test func theSimulatorsTreeCanBeChangedByAnotherProcess() throws {
        let scratch = try FixtureTree()
        let directory = scratch.directory + "/client"
        do {
            let created = try FixtureTree(creatingAt: directory)
            try Scenario.healthy.layOut(in: created)
        }
        #expect(throws: FixtureError.self) { try FixtureTree(creatingAt: directory) }
        let adopted = try FixtureTree(existingAt: directory)
        try adopted.setPhase(.free, session: 1)
        #expect(adopted.scanner.scan().session(1)?.state == .value(.free))
        // More disks continue the numbering.
        #expect(try adopted.addLocalDisk(.sata).disk == "sdb")
        #expect(throws: FixtureError.self) { try FixtureTree(existingAt: scratch.directory + "/nothing") }
    }

    @Test func temporaryTreesAreRemoved() throws {
        var tree: FixtureTree? = try FixtureTree()
        let directory = try #require(tree?.directory)
        #expect(FileManager.default.fileExists(atPath: directory + "/sys/class"))
        tree = nil
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    private var capturesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/captures/kernel-6.1-lio-loopback").path
    }

    /// `EISDIR`, … or nil on success.
    private func errno<T>(_ result: Result<T, FileError>) -> String? {
        if case .failure(let error) = result { return error.errno.symbolicName }
        return nil
    }
}
