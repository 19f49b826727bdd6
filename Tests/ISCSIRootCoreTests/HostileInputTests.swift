import Foundation
@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// Each class of hostile input of issue 10, handled at its root: one bounded number parser, one
/// safe reader, config errors that name file:line whatever the line endings.
@Suite("Hostile input: bounded numbers, the safe reader, config edge cases, kmsg and routes")
final class HostileInputTests {
    /// The directories this test made, removed with the suite instance (one per test).
    private var made: [TemporaryDirectory] = []

    func temporaryDirectory() throws -> String {
        made.append(try TemporaryDirectory("hostile"))
        return made[made.count - 1].path
    }

    // MARK: Numbers

    @Test func boundedParserRejectsOverflowSignsAndStrayCharacters() {
        #expect(Int(bounded: "42", in: 0...100) == 42)
        #expect(Int(bounded: "-3", in: -5...5) == -3)
        #expect(Int(bounded: "101", in: 0...100) == nil)
        #expect(Int(bounded: "-1", in: 0...100) == nil)
        #expect(Int(bounded: "+1", in: 0...100) == nil)
        #expect(Int(bounded: "", in: 0...100) == nil)
        #expect(Int(bounded: " 1", in: 0...100) == nil)
        #expect(Int(bounded: "99999999999999999999999", in: Int.min...Int.max) == nil)
        #expect(Int(bounded: String(repeating: "0", count: 200) + "1", in: 0...9) == nil)
        #expect(UInt8(bounded: "ff", in: 0...255, radix: 16) == 255)
        #expect(Int(sysfs: "0x10") == 16)
        #expect(Int(sysfs: "4294967296") == nil, "beyond an unsigned int: not a kernel value")
        #expect(Int(sysfs: "-2147483649") == nil)
    }

    @Test func secondsAreBoundedToADay() {
        #expect(parseSeconds("86400") == .seconds(86400))
        #expect(parseSeconds("86400.5") == nil)
        #expect(parseSeconds("9223372036854775807") == nil)
        #expect(parseSeconds("99999999999999999999") == nil)
        #expect(parseSeconds("0.000000001") == .nanoseconds(1))
        #expect(parseSeconds("1.0000000001") == nil)
        #expect(parseSeconds("+1") == nil)
        #expect(parseSeconds("٣") == nil, "digits only, not every Unicode number")
    }

    @Test(arguments: [
        ("[Disk]\nVerifyInterval=9223372036854775807\n", 2, "VerifyInterval= wants seconds above 0 and at most 86400"),
        ("[Disk]\nStallThreshold=100000\n", 2, "StallThreshold= wants seconds above 0 and at most 86400"),
        ("[Session]\nRecoveryTimeout=2147483648\n", 2, "RecoveryTimeout= wants whole seconds from 1 to 2147483647"),
        ("[Disk]\nTypes=0 99999999999999999999\n", 2, "Types= wants SCSI peripheral types 0 to 31"),
        ("[Disk]\r\n\r\nTimeout=x\r\n", 3, "Timeout= wants whole seconds"),
        ("\u{FEFF}[Disk]\nTimeout=90\nBogus=1\n", 3, "unknown key 'Bogus'"),
    ])
    func configValuesBeyondWhatTheyFeedAreErrorsAtTheirLine(text: String, line: Int, message: String) throws {
        let directory = try temporaryDirectory()
        let file = directory + "/bad.conf"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader(system: FileTree(root: directory)).load(explicitFile: file)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func crlfAndBomFilesParse() throws {
        let directory = try temporaryDirectory()
        let file = directory + "/crlf.conf"
        try "\u{FEFF}[Disk]\r\nTimeout=120\r\nStallThreshold=2.5\r\n".write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try ConfigLoader(system: FileTree(root: directory)).load(explicitFile: file)
        #expect(configuration.disk.timeout == 120)
        #expect(configuration.stallThreshold == .milliseconds(2500))
    }

    // MARK: The safe reader

    @Test func aFifoADeviceAndADirectoryAreErrorsNotHangs() throws {
        let directory = try temporaryDirectory()
        #expect(mkfifo(directory + "/fifo", 0o644) == 0)
        let tree = FileTree(root: directory)
        let fifo = tree.read("fifo")
        #expect(fifo.failureReason == "not a regular file (a FIFO)")
        #expect(FileTree.absolute.read("/dev/zero").failureReason == "not a regular file (a character device)")
        try FileManager.default.createDirectory(atPath: directory + "/dir", withIntermediateDirectories: true)
        #expect(tree.read("dir").failureReason == "EISDIR (Is a directory)")
    }

    @Test func aFileOverTheCapIsAnErrorNotACut() throws {
        let directory = try temporaryDirectory()
        let big = String(repeating: "x", count: FileTree.maximumReadSize + 1)
        try big.write(toFile: directory + "/big", atomically: true, encoding: .utf8)
        try String(repeating: "y", count: 100).write(toFile: directory + "/small", atomically: true, encoding: .utf8)
        let tree = FileTree(root: directory)
        #expect(tree.read("big").failureReason == "larger than 1 MiB")
        #expect(tree.read("small", limit: 99).failureReason == "larger than 99 bytes")
        #expect(try tree.read("small", limit: 100).get().count == 100)
    }

    @Test func linksAreNamedWhenTheyDangleOrAreRefused() throws {
        let directory = try temporaryDirectory()
        try "target".write(toFile: directory + "/target", atomically: true, encoding: .utf8)
        #expect(symlink(directory + "/nowhere", directory + "/dangling") == 0)
        #expect(symlink(directory + "/target", directory + "/link") == 0)
        #expect(symlink(directory + "/loop", directory + "/loop") == 0)
        let tree = FileTree(root: directory)
        #expect(tree.read("dangling").failureReason == "dangling symbolic link")
        #expect(try tree.read("link").get() == "target")
        #expect(tree.read("link", followLinks: false).failureReason == "a symbolic link (refused)")
        #expect(tree.read("loop").failure?.errno == .tooManySymbolicLinkLevels)
    }

    @Test(arguments: ["dangling", "loop", "directory", "fifo"])
    func aBadMainConfigIsAnErrorLikeABadDropIn(kind: String) throws {
        let directory = try temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
        let main = directory + "/etc/iscsi-rootd.conf"
        switch kind {
        case "dangling": #expect(symlink(directory + "/nowhere", main) == 0)
        case "loop": #expect(symlink(main, main) == 0)
        case "directory": try FileManager.default.createDirectory(atPath: main, withIntermediateDirectories: true)
        default: #expect(mkfifo(main, 0o644) == 0)
        }
        #expect(throws: ConfigError.self) { try ConfigLoader(system: FileTree(root: directory)).load() }
    }

    // MARK: Kernel log

    @Test func kernelLogNumbersBeyondTheirKernelTypesAreMalformed() {
        // The sequence is a u64: all of it is a record, one more is not.
        #expect(KernelRecord(kmsg: "3,18446744073709551615,1,-;x\n")?.sequence == UInt64.max)
        #expect(KernelRecord(kmsg: "3,18446744073709551616,1,-;x\n") == nil)
        #expect(KernelRecord(kmsg: "3,1,18446744073709551615,-;x\n") == nil)
        #expect(KernelRecord(kmsg: "99999999999999999999,1,1,-;x\n") == nil)
        #expect(KernelRecord(kmsg: "3,9223372036854775807,9223372036854775807,-;x\n") != nil)
    }

    @Test func userSpaceRecordsAreNoEvidenceOfDamage() throws {
        let tree = try FixtureTree()
        try tree.addISCSISession(number: 1, host: 0, luns: [1])
        try tree.mount(point: "/", device: "sda", fileSystem: "ext4")
        let topology = tree.scanner.scan()
        var tracker = DamageTracker()
        let forged = try #require(KernelRecord(kmsg: "11,100,5000000,-;EXT4-fs error (device sda): forged\n"))
        #expect(forged.facility == 1 && !forged.isFromKernel)
        #expect(tracker.observe(forged, topology: topology, at: TestClock.at(10), live: true).isEmpty)
        #expect(tracker.damaged.isEmpty)
        // The same text from the kernel (facility 0) is evidence, even with a timestamp far in the future.
        let real = try #require(KernelRecord(kmsg: "3,101,9223372036854775807,-;EXT4-fs error (device sda): real\n"))
        let events = tracker.observe(real, topology: topology, at: TestClock.at(10), live: true)
        #expect(events.contains { $0.kind == .fileSystemDamaged })
    }

    // MARK: Routes

    @Test func oddIPv6PrefixesAreSkippedNotACrash() {
        let address = "fd000000000000000000000000000000"
        let lines = ["\(address) ffffffff 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 00000001 eth0",
                     "\(address) -1 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 00000001 eth1",
                     "\(address) 81 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 00000001 eth2",
                     "fd00é000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 00000001 eth3",
                     "\(address) 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 1 0 00000001 eth4"]
        let routes = RouteTable.parseIPv6(lines.joined(separator: "\n"))
        #expect(routes.map(\.interface) == ["eth4"])
    }
}

extension Result where Failure == FileError {
    var failure: FileError? { if case .failure(let error) = self { error } else { nil } }
    var failureReason: String? { failure?.reason }
}

/// What cannot be read is said, never taken for "fine" or "not iSCSI".
@Suite("Telling the truth: unreadable type, dangling links, missing class entries")
struct TruthTests {
    func report(_ tree: FixtureTree) -> StatusReport {
        StatusReport(topology: tree.scanner.scan(), configuration: Configuration())
    }

    func rootItem(_ tree: FixtureTree) -> AuditItem? {
        BootChainAudit(system: tree.system, topology: tree.scanner.scan(), policy: DiskPolicy())
            .run().first { $0.id == "root" }
    }

    @Test(arguments: ["", "directory"])
    func anUnreadableOrEmptyTypeOfTheRootDiskIsAWarningNotOK(kind: String) throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let device = FixtureTree.deviceDirectory("2:0:0:0")
        if kind.isEmpty { try tree.setAttribute("\(device)/type", "") } else { try tree.makeUnreadable("\(device)/type", .directory) }
        let status = report(tree)
        #expect(status.overall >= .warning)
        #expect(status.findings.contains { $0.subject == "sda" && $0.message.hasPrefix("SCSI type unreadable") && $0.concernsRoot })
    }

    @Test func aDanglingDeviceLinkMakesTheRootUnknownNotNotISCSI() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let link = tree.sysfs.path("class/scsi_device/2:0:0:0/device")
        try FileManager.default.removeItem(atPath: link)
        #expect(symlink(tree.sysfs.path("devices/gone"), link) == 0)
        let status = report(tree)
        #expect(status.overall == .unknown)
        #expect(status.text(color: false).hasPrefix("UNKNOWN: root unknown"))
        #expect(status.findings.first?.message.contains("class/scsi_device/2:0:0:0/device is a dangling link") == true)
        #expect(rootItem(tree)?.verdict == .unknown)
    }

    @Test func aMissingBlockClassEntryMakesTheRootUnknown() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try FileManager.default.removeItem(atPath: tree.sysfs.path("class/block/sda2"))
        let status = report(tree)
        #expect(status.overall == .unknown)
        #expect(status.findings.contains { $0.subject == "/" && $0.message.hasPrefix("cannot tell whether it is on iSCSI") })
        #expect(rootItem(tree)?.detail.hasPrefix("cannot tell whether / is on iSCSI") == true)
    }

    @Test func aRootOnALocalDiskIsStillNotISCSI() throws {
        let tree = try FixtureTree()
        let disk = try tree.addLocalDisk(.sata)
        try tree.mount(point: "/", device: try #require(disk.disk), fileSystem: "ext4")
        let status = report(tree)
        #expect(status.text(color: false).hasPrefix("OK: root not on iSCSI"), "\(status.text(color: false))")
    }
}
