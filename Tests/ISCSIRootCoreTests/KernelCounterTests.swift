import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("The kernel's I/O and ext4 error counters, read by the scanner through re-rootable trees")
struct KernelCounterTests {
    @Test func ioSamplesComeFromDiskstatsWhenGivenAndFromEachDisksFilesOtherwise() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        try tree.writeDiskstats()
        // Each disk's own files now say nothing is in flight: only diskstats says 2.
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)
        let topology = tree.scanner.scan()

        let fromDiskstats = tree.scanner.ioSamples(of: topology, diskstats: tree.system)
        #expect(fromDiskstats.map(\.device.disk?.name) == ["sda"], "only iSCSI disks, not the CD-ROM")
        #expect(fromDiskstats.first?.sample.inflight == 2)

        #expect(tree.scanner.ioSamples(of: topology, diskstats: nil).first?.sample.inflight == 0)
        #expect(unlink(tree.system.path("proc/diskstats")) == 0)
        #expect(tree.scanner.ioSamples(of: topology, diskstats: tree.system).first?.sample.inflight == 0)
    }

    @Test func aDiskWithoutReadableCountersIsLeftOut() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.makeUnreadable("class/block/sda/stat", .directory)
        let topology = tree.scanner.scan()
        #expect(tree.scanner.ioSamples(of: topology, diskstats: nil).isEmpty)
    }

    @Test func ext4ErrorCountsOfFileSystemsOnISCSIDisksOnly() throws {
        // / on sda2 and /boot on sda1 are ext4 on the iSCSI disk; a local disk's ext4 is not counted.
        let tree = try FixtureTree.healthyDisklessClient()
        let local = try tree.addLocalDisk(.sata)
        try tree.mount(point: "/srv", device: local.disk ?? "", fileSystem: "ext4")
        try tree.setAttribute("fs/ext4/sda2/errors_count", "3")
        try tree.setAttribute("fs/ext4/sda1/errors_count", "0")
        try tree.setAttribute("fs/ext4/\(local.disk ?? "")/errors_count", "7")
        #expect(tree.scanner.ext4ErrorCounts(of: tree.scanner.scan()) == ["sda2": 3, "sda1": 0])

        // An unreadable counter is left out, not read as zero.
        try tree.makeUnreadable("fs/ext4/sda2/errors_count", .invalidArgument)
        #expect(tree.scanner.ext4ErrorCounts(of: tree.scanner.scan()) == ["sda1": 0])
    }
}
