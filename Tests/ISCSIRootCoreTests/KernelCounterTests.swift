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

    @Test func ioSampleReadsTheKernelFormats() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setInflight(disk: "sda", reads: 3, writes: 12)
        var counters = [UInt64](repeating: 0, count: 17)
        counters[0] = 4100; counters[4] = 2200; counters[11] = 30; counters[15] = 7
        counters[1] = 999; counters[8] = 5  // merges and in-flight: not completions
        try tree.setStat(disk: "sda", counters)
        let directory = "class/block/sda"
        // The kernel's padded layout, as captured.
        let inflight = try tree.sysfs.read("\(directory)/inflight").get()
        #expect(inflight.hasPrefix("       3"))
        #expect(IOSample.read(tree.sysfs, blockDirectory: directory) == IOSample(inflight: 15, completions: 6337))
    }

    @Test func diskstatsGivesEveryDisksSampleFromOneFile() throws {
        // The layout of block/genhd.c's diskstats_show on 6.1 (17 counters), on 4.18 (15) and on a
        // kernel before 4.18 (11), as /proc/diskstats prints them; the ninth counter is in flight.
        let text = """
               8       0 sda 4100 999 2120 95 2200 0 56 12 5 33 107 30 0 0 0 7 0
               8       1 sda1 10 0 80 1 0 0 0 0 0 1 1 0 0 0 0 0 0
               8      16 sdb 300 0 9000 40 20 0 160 3 2 50 60 4 0 0 0
               8      32 sdc 70 0 560 9 5 0 40 1 1 12 15
               7       0 loop0 12 x 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
             253       0 dm-0 1 2
            """
        let samples = IOSample.parseDiskstats(text)
        #expect(samples["sda"] == IOSample(inflight: 5, completions: 4100 + 2200 + 30 + 7))
        #expect(samples["sda1"] == IOSample(inflight: 0, completions: 10))
        #expect(samples["sdb"] == IOSample(inflight: 2, completions: 300 + 20 + 4))
        #expect(samples["sdc"] == IOSample(inflight: 1, completions: 75))
        #expect(samples["loop0"] == nil && samples["dm-0"] == nil, "malformed lines are skipped")
        #expect(samples.count == 4)
    }

    @Test func diskstatsOfAFixtureTreeAgreesWithEachDisksFiles() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setInflight(disk: "sda", reads: 3, writes: 12)
        var counters = [UInt64](repeating: 0, count: 17)
        counters[0] = 4100; counters[4] = 2200; counters[11] = 30; counters[15] = 7
        try tree.setStat(disk: "sda", counters)
        try tree.writeDiskstats()
        let samples = IOSample.parseDiskstats(try tree.system.read("proc/diskstats").get())
        #expect(samples["sda"] == IOSample.read(tree.sysfs, blockDirectory: "class/block/sda"))
        #expect(samples["sda"] == IOSample(inflight: 15, completions: 6337))
    }

    @Test func ioSampleIsNilForJunkOrMissingFiles() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let directory = "class/block/sda"
        #expect(IOSample.read(tree.sysfs, blockDirectory: directory) != nil)
        try tree.setAttribute("\(directory)/inflight", "lots")
        #expect(IOSample.read(tree.sysfs, blockDirectory: directory) == nil)
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)
        try tree.setAttribute("\(directory)/stat", "1 2 x")
        #expect(IOSample.read(tree.sysfs, blockDirectory: directory) == nil)
        try tree.removeAttribute("\(directory)/stat")
        #expect(IOSample.read(tree.sysfs, blockDirectory: directory) == nil)
        #expect(IOSample.read(tree.sysfs, blockDirectory: "class/block/sdzz") == nil)
    }
}
