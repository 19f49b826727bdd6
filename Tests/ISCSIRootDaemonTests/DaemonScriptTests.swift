import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

private let session1 = "class/iscsi_session/session1"
private let sdaDevice = FixtureTree.deviceDirectory("2:0:0:0")

/// kmsg records as the kernel wrote them on the diskless client (../shared/fixtures), with the
/// device names of the fixture tree: `/` is on sda2 of sda.
private let recoveryTimeoutRecord = "3,499,169183000,-; session1: session recovery timed out after 120 secs"
private let ioErrorRecord = "3,500,169183119,-;I/O error, dev sda, sector 1839120 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2"
private let journalAbortRecord = "2,502,169185996,-;Aborting journal on device sda2-8."

/// A FIFO standing in for /dev/kmsg; the test holds it open for reading and writing, so the
/// daemon never sees its end and nothing the test writes blocks.
private final class KernelLogPipe {
    let path: String
    private let fd: Int32

    init(in directory: String) throws {
        path = directory + "/kmsg"
        try #require(mkfifo(path, 0o600) == 0)
        fd = open(path, O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
    }

    deinit { close(fd) }

    func write(_ records: [String]) {
        let bytes = Array(records.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

/// The daemon binary scripted through a diskless client's life (issue 3 item 9, issue 4 item 5):
/// `run --udev off` against a fixture tree in a temporary directory, asserting on notification
/// datagrams, journal entries on stderr, sysfs values, the state file and `status`.
@Suite("iscsi-rootd run, scripted")
struct DaemonScriptTests {
    @Test("coldplug, a new disk, drift, a stall, outages, recovery_tmo, kernel damage (sticky across a restart), reload, stop")
    func lifeOfADisklessClient() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        // NOPs off as recommended, so a healthy client's status is OK once tuned.
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6b\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=0.5\nStallThreshold=1\n")
        let kernelLog = try KernelLogPipe(in: tree.directory)
        let stateDirectory = tree.directory + "/state"

        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: kernelLog.path,
                                         stateDirectory: stateDirectory)

        // a. Start: the untuned root disk is tuned, recovery_tmo raised, then READY=1 naming the root.
        let ready = try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        let rootTuned = ["DEVICE": "sda", "SCSI_DEVICE": "2:0:0:0", "ISCSI_SESSION": "session1", "ROOT": "1"]
        // The entries were written before READY=1 was sent.
        let timeoutTuned = try daemon.waitForEntry(.diskTuned, rootTuned.merging(["SETTING": "timeout"]) { $1 }, within: .zero)
        #expect(timeoutTuned.fields["OLD_VALUE"] == "30" && timeoutTuned.fields["NEW_VALUE"] == "90")
        let schedulerTuned = try daemon.waitForEntry(.diskTuned, rootTuned.merging(["SETTING": "scheduler"]) { $1 }, within: .zero)
        #expect(schedulerTuned.fields["OLD_VALUE"] == "mq-deadline" && schedulerTuned.fields["NEW_VALUE"] == "none")
        #expect(schedulerTuned.priority == 6)
        let raised = try daemon.waitForEntry(.recoveryTimeoutSet, ["ISCSI_SESSION": "session1", "ROOT": "1"], within: .zero)
        #expect(raised.fields["OLD_VALUE"] == "120" && raised.fields["NEW_VALUE"] == "86400")
        try daemon.waitForEntry(.udevFallback, within: .zero)
        let started = try daemon.waitForEntry(.started, within: .zero)
        #expect(started.message.hasPrefix("iscsi-rootd started (version \(ISCSIRootVersion.current)): "), "\(started.message)")
        #expect(statusValue(ready)?.hasPrefix("root sda via session1 LOGGED_IN; 1 disk tuned") == true, "\(ready)")
        #expect(tree.sysfs.attribute("\(sdaDevice)/timeout").value == "90")
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "none")
        #expect(tree.sysfs.attribute("\(session1)/recovery_tmo").value == "86400")
        #expect(daemon.entries(.diskTuned).count == 2)
        // The start-up audit sees the session as the daemon left it (recovery_tmo raised, NOPs off).
        let liveSessionAudit = daemon.entries(.auditFailed).filter { $0.message.contains("live root session settings") }
        #expect(liveSessionAudit.isEmpty, "\(liveSessionAudit.map(\.message))")
        #expect(try daemon.status().code == 0)

        // b. A LUN appears on the running client (laid out while the daemon is stopped, so it
        // sees the finished device): tuned within a few poll intervals.
        let sdb = try daemon.process.whileStopped { try tree.addISCSILUN(session: 1, lun: 1) }
        #expect(sdb.disk == "sdb")
        try daemon.waitForEntry(.diskTuned, ["DEVICE": "sdb", "SCSI_DEVICE": "2:0:0:1", "SETTING": "timeout", "NEW_VALUE": "90"])
        try daemon.waitForEntry(.diskTuned, ["DEVICE": "sdb", "SETTING": "scheduler", "NEW_VALUE": "none"])
        #expect(daemon.entries(.diskTuned).last?.fields["ROOT"] == nil, "sdb carries nothing")
        #expect(tree.sysfs.attribute("\(FixtureTree.deviceDirectory("2:0:0:1"))/timeout").value == "90")
        #expect(tree.sysfs.attribute("class/block/sdb/queue/scheduler").value == "none")

        // c. Someone sets the scheduler back: the drift sweep (VerifyInterval=0.5) corrects and counts it.
        try tree.setAttribute("class/block/sda/queue/scheduler", "[mq-deadline] none")
        let drift = try daemon.waitForEntry(.driftCorrected, ["DEVICE": "sda", "SETTING": "scheduler"])
        #expect(drift.fields["OLD_VALUE"] == "mq-deadline" && drift.fields["NEW_VALUE"] == "none")
        #expect(drift.fields["ROOT"] == "1")
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "none")
        try daemon.wait(for: "1 correction in the state file") { try daemon.state()["corrections"] == .int(1) }

        // g. A stall: 2 requests in flight, no completions (StallThreshold=1).
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        let stalled = try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda", "INFLIGHT": "2", "ROOT": "1"])
        #expect(stalled.fields["ISCSI_SESSION"] == "session1")
        let stallStatus = try daemon.waitForDatagram("STATUS= about the stall") { statusValue($0)?.contains("stalled") == true }
        #expect(statusValue(stallStatus)?.contains("root I/O to sda stalled") == true, "\(stallStatus)")
        let duringStall = try daemon.status()
        #expect(duringStall.code == 2, "a stalled root disk is critical")
        let stall = duringStall.json["disks"]?.arrayValue?.first { $0["name"] == .string("sda") }?["stall"]
        #expect(stall?["inflight"] == .int(2))
        #expect(stall?["seconds"]?.doubleValue.map { $0 >= 1 } == true, "\(String(describing: stall))")
        #expect(stall?["since"]?.intValue != nil)
        #expect(duringStall.json["daemon"]?["running"] == .bool(true))
        // Completions move again.
        try tree.setStat(disk: "sda", [52, 0, 2120, 95, 7, 0, 56, 12, 0, 33, 107, 0, 0, 0, 0, 0, 0])
        let cleared = try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sda"])
        #expect(Int(cleared.fields["DURATION_USEC"] ?? "") ?? 0 >= 1_000_000)
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)
        try daemon.wait(for: "status OK again") { try daemon.status().code == 0 }

        // d + f. Session FAILED → LOGGED_IN. The session state changes first and alone (the
        // kernel's order), then the disks block. While FAILED, recovery_tmo drops to 120 (a new
        // login with the node record's value would do that) and cannot be written (busy).
        try tree.setAttribute("\(session1)/state", "FAILED")
        let failed = try daemon.waitForEntry(.sessionFailed, ["ISCSI_SESSION": "session1"])
        #expect(failed.fields["STATE"] == "FAILED" && failed.fields["PREVIOUS_STATE"] == "LOGGED_IN", "\(failed.formatted)")
        #expect(failed.fields["ROOT"] == "1")
        try daemon.waitForEntry(.rootAtRisk, ["ISCSI_SESSION": "session1", "ROOT": "1"])
        try tree.setPhase(.failed, session: 1)
        try tree.setAttribute("\(session1)/recovery_tmo", "120")
        try daemon.waitForDatagram("STATUS=RECOVERY") { statusValue($0)?.hasPrefix("RECOVERY root session1 ") == true }
        try daemon.wait(for: "the busy recovery_tmo noted") {
            daemon.entries.contains { $0.message.hasPrefix("recovery_tmo of root session1 not set yet") }
        }
        #expect(tree.sysfs.attribute("\(session1)/recovery_tmo").value == "120", "not written while FAILED")
        #expect(daemon.entries(.recoveryTimeoutSet).count == 1)
        try tree.setPhase(.loggedIn, session: 1)
        let recovered = try daemon.waitForEntry(.sessionRecovered, ["ISCSI_SESSION": "session1", "STATE": "LOGGED_IN"])
        #expect(Int(recovered.fields["DURATION_USEC"] ?? "") ?? 0 > 0, "\(recovered.formatted)")
        let reraised = try daemon.waitForEntry(.recoveryTimeoutSet, ["ISCSI_SESSION": "session1"], number: 2)
        #expect(reraised.fields["OLD_VALUE"] == "120" && reraised.fields["NEW_VALUE"] == "86400")
        #expect(tree.sysfs.attribute("\(session1)/recovery_tmo").value == "86400")

        // e. FAILED → FREE with transport-offline disks: I/O is failing; status is critical while it lasts.
        try tree.setAttribute("\(session1)/state", "FAILED")
        try daemon.waitForEntry(.sessionFailed, ["ISCSI_SESSION": "session1"], number: 2)
        try tree.setPhase(.failed, session: 1)
        try tree.setPhase(.free, session: 1)
        let failing = try daemon.waitForEntry(.ioFailing, ["ISCSI_SESSION": "session1", "ROOT": "1"])
        #expect(failing.priority == 2)
        try daemon.waitForDatagram("STATUS=I/O FAILING") { statusValue($0)?.hasPrefix("I/O FAILING root session1") == true }
        let lost = try daemon.status()
        #expect(lost.code == 2)
        #expect(lost.json["disks"]?.arrayValue?.first?["state"] == .string("transport-offline"))

        // h. Meanwhile the kernel logs the recovery timeout, an I/O error and an aborted journal on /.
        kernelLog.write([recoveryTimeoutRecord, ioErrorRecord, journalAbortRecord])
        let timedOut = try daemon.waitForEntry(.kernelStorageError, ["KERNEL_SEQNUM": "499"])
        #expect(timedOut.fields["ISCSI_SESSION"] == "session1" && timedOut.fields["ROOT"] == "1")
        let ioError = try daemon.waitForEntry(.kernelStorageError, ["KERNEL_SEQNUM": "500"])
        #expect(ioError.fields["DEVICE"] == "sda" && ioError.fields["ISCSI_SESSION"] == "session1")
        let damaged = try daemon.waitForEntry(.fileSystemDamaged, ["DEVICE": "sda2"])
        #expect(damaged.fields["MOUNT_POINT"] == "/" && damaged.fields["KERNEL_SEQNUM"] == "502" && damaged.fields["ROOT"] == "1")
        #expect(damaged.message.hasPrefix("root file system damaged at "), "\(damaged.message)")
        #expect(damaged.message.contains("(after recovery timeout of session1)"), "\(damaged.message)")
        #expect(damaged.priority == 2)
        try daemon.waitForDatagram("STATUS= damaged") { statusValue($0)?.contains("damaged") == true }

        // The session logs in again and sysfs looks healthy: the damage stays critical (sticky).
        try tree.setPhase(.loggedIn, session: 1)
        try daemon.waitForEntry(.sessionRecovered, ["ISCSI_SESSION": "session1"], number: 2)
        let afterDamage = try daemon.status()
        #expect(afterDamage.code == 2, "sticky although the session is LOGGED_IN again")
        #expect(afterDamage.json["sessions"]?.arrayValue?.allSatisfy { $0["state"] == .string("LOGGED_IN") } == true)
        #expect(afterDamage.json["disks"]?.arrayValue?.allSatisfy { $0["state"] == .string("running") } == true)
        #expect(afterDamage.json["daemon"]?["state"]?["damage"]?.arrayValue?.first?["device"] == .string("sda2"))
        #expect(daemon.entries(.fileSystemDamaged).count == 1)
        try daemon.wait(for: "STATUS= still damaged after recovery") {
            let ended = try daemon.state()["episodes"]?.arrayValue?.first?["ended_usec"]?.intValue
            return ended != nil && daemon.datagrams.last.flatMap(statusValue)?.contains("damaged") == true
        }

        // i. SIGHUP with a broken configuration: rejected naming file:line, the old one stays.
        var skip = daemon.datagrams.count
        try writeFile(configPath, "[Disk]\nVerifyInterval=0.5\nStallThreshold=1\nTimeout=ninety\n")
        daemon.process.signal(SIGHUP)
        let rejected = try daemon.waitForEntry(.configRejected)
        #expect(rejected.message.contains("\(configPath):4: Timeout= wants whole seconds"), "\(rejected.message)")
        let reloading = try daemon.waitForDatagram("RELOADING=1", after: skip) { $0.hasPrefix("RELOADING=1") }
        let monotonic = reloading.split(separator: "\n").first { $0.hasPrefix("MONOTONIC_USEC=") }
        #expect(monotonic.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) } != nil, "\(reloading)")
        try daemon.waitForDatagram("READY=1 after the reload", after: skip) { $0.hasPrefix("READY=1") }
        #expect(daemon.process.isRunning)
        #expect(try daemon.state()["config"]?["timeout"] == .int(90))
        // A good one is taken: the disks follow the new timeout.
        skip = daemon.datagrams.count
        try writeFile(configPath, "[Disk]\nVerifyInterval=0.5\nStallThreshold=2\nTimeout=120\n")
        daemon.process.signal(SIGHUP)
        try daemon.wait(for: "the configuration reloaded") {
            daemon.entries.contains { $0.message.hasPrefix("configuration reloaded: \(configPath)") }
        }
        try daemon.waitForDatagram("READY=1 after the good reload", after: skip) { $0.hasPrefix("READY=1") }
        try daemon.wait(for: "the new config in the state file") {
            let config = try daemon.state()["config"]
            return config?["timeout"] == .int(120) && config?["stall_threshold"]?.doubleValue == 2
        }
        #expect(tree.sysfs.attribute("\(sdaDevice)/timeout").value == "120")
        // The new timeout is the configuration's doing, not someone else's: tuned, not a correction.
        try daemon.waitForEntry(.diskTuned, ["DEVICE": "sda", "SETTING": "timeout", "OLD_VALUE": "90", "NEW_VALUE": "120"])
        #expect(daemon.entries(.driftCorrected).count == 1)
        #expect(try daemon.state()["corrections"] == .int(1))
        #expect(tree.sysfs.attribute("\(FixtureTree.deviceDirectory("2:0:0:1"))/timeout").value == "120")

        // j. SIGTERM: STOPPING=1, a stopping entry, exit 0.
        skip = daemon.datagrams.count
        #expect(daemon.stop() == 0)
        daemon.notify.drain()
        #expect(daemon.datagrams.dropFirst(skip).contains("STOPPING=1"))
        #expect(daemon.entries(.stopping).count == 1)

        // Over the whole run: every line on stderr was a LogLine, and STATUS= went out only on change.
        #expect(daemon.unparsable == [])
        var previous: String?
        for datagram in daemon.datagrams {
            guard let status = statusValue(datagram) else { continue }
            if !datagram.hasPrefix("READY=1") { #expect(status != previous, "STATUS=\(status) sent twice in a row") }
            previous = status
        }

        // h, continued. A restart in the same boot with the same state directory: the damage is
        // still reported, and the same kernel records (read again as backlog) raise no new alarm.
        let backlog = tree.directory + "/kmsg-backlog"
        try writeFile(backlog, [recoveryTimeoutRecord, ioErrorRecord, journalAbortRecord].map { $0 + "\n" }.joined())
        try writeFile(configPath, "[Disk]\nVerifyInterval=0.5\nStallThreshold=1\n")
        let restarted = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: backlog,
                                            stateDirectory: stateDirectory)
        let readyAgain = try restarted.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(statusValue(readyAgain)?.hasPrefix("root file system damaged at ") == true, "\(readyAgain)")
        try restarted.waitForEntry(.started, within: .zero)
        #expect(restarted.entries(.fileSystemDamaged).isEmpty)
        #expect(restarted.entries(.kernelStorageError).isEmpty)
        let afterRestart = try restarted.status()
        #expect(afterRestart.code == 2)
        #expect(afterRestart.json["daemon"]?["running"] == .bool(true))
        #expect(afterRestart.json["daemon"]?["state"]?["pid"] == .int(Int(restarted.process.pid)))
        #expect(restarted.stop() == 0)
        #expect(restarted.unparsable == [])
    }

    @Test("proc/diskstats is read under --root only when --root and --sysfs are both live or both not")
    func diskstatsTreeMatchesSysfs() {
        func options(sysfs: String, root: String) -> DaemonOptions {
            DaemonOptions(sysfs: FileTree(root: sysfs), system: FileTree(root: root), configFile: nil, stateDirectory: "/run/x",
                          udev: .off, pollInterval: .seconds(5), kernelLog: nil)
        }
        #expect(options(sysfs: "/sys", root: "/").diskstats == FileTree(root: "/"))
        #expect(options(sysfs: "/tmp/client/sys", root: "/tmp/client/root").diskstats == FileTree(root: "/tmp/client/root"))
        #expect(options(sysfs: "/tmp/client/sys", root: "/").diskstats == nil, "the live diskstats describes other disks")
        #expect(options(sysfs: "/sys", root: "/tmp/client/root").diskstats == nil)
    }

    @Test("I/O counters come from one read of proc/diskstats under --root when the tree has one")
    func stallThroughDiskstats() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        // diskstats says 2 requests in flight on sda; sda's own inflight file says none.
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        try tree.writeDiskstats()
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\nStallThreshold=1\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda", "INFLIGHT": "2", "ROOT": "1"])
        // Without the file, each disk's own files count again: nothing in flight, the stall ends.
        #expect(unlink(tree.system.path("proc/diskstats")) == 0)
        try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sda"])
        #expect(daemon.stop() == 0)
        #expect(daemon.unparsable == [])
    }

    @Test("polling: a disk whose block device appears after its SCSI device (sd probes asynchronously) is tuned at once")
    func blockDeviceAfterSCSIDevice() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        // A drift sweep far away: only discovery can tune the late disk in time.
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }

        // The SCSI device 2:0:0:1 first, without its block directory (hidden beside it).
        let lun = try daemon.process.whileStopped {
            let lun = try tree.addISCSILUN(session: 1, lun: 1)
            try #require(rename(tree.sysfs.path("\(lun.devicePath)/block"), tree.sysfs.path("\(lun.devicePath)/block-later")) == 0)
            return lun
        }
        try daemon.waitForEntry(.diskTuned, ["SCSI_DEVICE": "2:0:0:1", "SETTING": "timeout", "NEW_VALUE": "90"])
        // Then sdb.
        try #require(rename(tree.sysfs.path("\(lun.devicePath)/block-later"), tree.sysfs.path("\(lun.devicePath)/block")) == 0)
        let scheduler = try daemon.waitForEntry(.diskTuned, ["DEVICE": "sdb", "SETTING": "scheduler", "NEW_VALUE": "none"])
        #expect(scheduler.fields["SCSI_DEVICE"] == "2:0:0:1")
        #expect(tree.sysfs.attribute("class/block/sdb/queue/scheduler").value == "none")
        #expect(daemon.entries(.driftCorrected).isEmpty)
        #expect(daemon.entries(.tuningFailed).isEmpty)
        #expect(daemon.stop() == 0)
        #expect(daemon.unparsable == [])
    }
}
