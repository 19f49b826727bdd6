@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// SCSI types named as lsscsi names them, and only disks counted as disks.
@Suite("SCSI peripheral types")
struct SCSIPeripheralTypeTests {
    @Test func namesAreLsscsis() {
        #expect((0...31).map(SCSIPeripheralType.name) == [
            "disk", "tape", "printer", "process", "worm", "cd/dvd", "scanner", "optical", "mediumx", "comms",
            "(0xa)", "(0xb)", "storage", "enclosu", "sim dsk", "opti rd", "bridge", "osd", "adi", "sec man", "zbc",
            "(0x15)", "(0x16)", "(0x17)", "(0x18)", "(0x19)", "(0x1a)", "(0x1b)", "(0x1c)", "(0x1d)", "wlun", "no dev",
        ])
    }

    /// tgtd shows every target's LUN 0 as a controller (type 12); the backing store is LUN 1.
    @Test func aTgtdControllerLUNIsListedAsStorageAndNotCountedAsADisk() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 2, luns: [0], type: 12)
        let disk = try tree.addISCSILUN(session: 1, lun: 1, type: 0)
        try tree.mount(point: "/", device: try #require(disk.disk), fileSystem: "ext4")
        let text = StatusReport(topology: tree.scanner.scan(), configuration: Configuration()).text(color: false)
        #expect(text.contains("1 session, 1 iSCSI disk, 0 of 1 tuned"), "\(text)")
        let rows = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains { $0.starts(with: ["2:0:0:0", "2:0:0:0", "storage"]) }, "\(text)")
        #expect(rows.contains { $0.starts(with: ["sda", "2:0:0:1", "disk"]) }, "\(text)")
        #expect(!text.contains("type 12"))
    }
}
