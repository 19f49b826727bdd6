import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

private let bootID = "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6b"
/// A journal abort of `/` (sda2) as the kernel logged it on the diskless client (../shared/fixtures),
/// at the top of the kernel's u64 sequence.
private let journalAbortAtTheLastSequence = "2,18446744073709551615,169185996,-;Aborting journal on device sda2-8."

/// A diskless client's tree with NOPs off (status OK once tuned), a known boot id and a fast config.
private func client() throws -> (tree: FixtureTree, configPath: String) {
    let tree = try FixtureTree.healthyDisklessClient()
    try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
    try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
    try tree.writeSystemFile("proc/sys/kernel/random/boot_id", bootID + "\n")
    let configPath = tree.directory + "/iscsi-rootd-test.conf"
    try writeFile(configPath, "[Disk]\nVerifyInterval=0.5\nStallThreshold=1\n")
    return (tree, configPath)
}

/// The daemon's state across what issue 19 found it could not keep: kernel values at the top of
/// their types, a second daemon on its directory, a restart, a state directory that cannot take
/// the file.
@Suite("The daemon's state: kept whole, one daemon per directory, stale when it cannot be written")
struct StateKeepingTests {
    /// u32/u64 kernel values go write → read → status → a restarted daemon. Before, the writer wrote
    /// values its reader refused and the whole file went: status WARNING instead of CRITICAL, and
    /// the restarted daemon forgot the damage.
    @Test("u32 and u64 kernel values: written, read, CRITICAL in status, and carried over a restart with the damage")
    func kernelValuesAtTheTopOfTheirTypes() throws {
        let (tree, configPath) = try client()
        defer { tree.remove() }
        // ext4's errors_count is a u32 superblock field whoever owns the image sets.
        try tree.setAttribute("fs/ext4/sda2/errors_count", "4294967295")
        let kernelLog = tree.directory + "/kmsg"
        try writeFile(kernelLog, journalAbortAtTheLastSequence + "\n")
        let stateDirectory = tree.directory + "/state"
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: kernelLog,
                                         stateDirectory: stateDirectory)
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        // An in-flight count the kernel prints unsigned: 4294967295 has been seen from accounting bugs.
        try tree.setInflight(disk: "sda", reads: 0, writes: 4_294_967_295)
        try daemon.wait(for: "the stall in the state file") {
            try daemon.state()["stalls"]?.arrayValue?.first?["inflight"] == .int(4_294_967_295)
        }
        let state = try daemon.state()
        #expect(state["kernel_seqnum"] == .uint(UInt64.max))
        #expect(state["ext4_baseline"]?["sda2"] == .int(4_294_967_295))
        #expect(state["damage"]?.arrayValue?.first?["device"] == .string("sda2"))

        let status = try daemon.status()
        #expect(status.code == 2, "damage and a root stall are CRITICAL")
        #expect(status.json["daemon"]?["warnings"] == .array([]))
        let sda = status.json["disks"]?.arrayValue?.first { $0["name"] == .string("sda") }
        #expect(sda?["stall"]?["inflight"] == .int(4_294_967_295))
        #expect(status.json["findings"]?.arrayValue?.contains { $0["subject"] == .string("sda2") && $0["severity"] == .string("critical") } == true)

        // Killed (Restart=always brings it back, RuntimeDirectoryPreserve=restart keeps the file):
        // the restarted daemon gets the lock, carries the damage and the kernel sequence over, and
        // raises no new alarm for the same record.
        daemon.process.signal(SIGKILL)
        _ = daemon.process.waitForExit(within: .seconds(10))
        let restarted = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: kernelLog,
                                            stateDirectory: stateDirectory)
        let ready = try restarted.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(statusValue(ready)?.hasPrefix("root file system damaged at ") == true, "\(ready)")
        #expect(restarted.entries.allSatisfy { !$0.message.contains("previous state") }, "\(restarted.entries.map(\.message))")
        #expect(restarted.entries(.fileSystemDamaged).isEmpty)
        try restarted.wait(for: "the restarted daemon's state") { try restarted.state()["pid"] == .int(Int(restarted.process.pid)) }
        #expect(try restarted.state()["kernel_seqnum"] == .uint(UInt64.max))
        #expect(try restarted.status().code == 2)
        #expect(restarted.stop() == 0)
        #expect(restarted.unparsable == [])
    }

    /// The messages of a process's log lines on stderr.
    private func messages(_ process: ChildProcess) -> [String] {
        process.standardError.split(separator: "\n").compactMap { try? LogLine.parse($0) }.map(\.message)
    }

    /// An admin's `iscsi-rootd run` beside the service: the second exits 2 naming the first's pid,
    /// and the first's state file stays its own. Before, both wrote it: status alternated.
    @Test("a second daemon on the same state directory exits 2 naming the first's pid")
    func twoDaemonsOnOneDirectory() throws {
        let (tree, configPath) = try client()
        defer { tree.remove() }
        let stateDirectory = tree.directory + "/state"
        let first = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: stateDirectory)
        try first.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }

        let binary = try #require(iscsiRootdBinary)
        let second = try ChildProcess([binary, "run", "--udev", "off", "--poll-interval", "0.2", "--kernel-log", "none",
                                       "--state-dir", stateDirectory, "--log", "stderr", "--config", configPath,
                                       "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        let code = second.waitForExit(within: .seconds(10))
        if code == nil { second.signal(SIGKILL) }
        #expect(code == 2)
        #expect(messages(second).contains { $0.hasPrefix("another iscsi-rootd (pid \(first.process.pid)) already keeps \(stateDirectory)") },
                "\(second.standardError)")
        // The first keeps writing its own view.
        usleep(500_000)
        #expect(try first.state()["pid"] == .int(Int(first.process.pid)))
        #expect(first.process.isRunning)
        #expect(first.stop() == 0)

        // A lock file that names no pid (planted, or written on a full /run) is said as it is, escaped.
        let third = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: stateDirectory)
        try third.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        let lock = stateDirectory + "/daemon.lock"
        #expect(ChildProcess.contents(lock) == "\(third.process.pid)\n")
        try writeFile(lock, "\u{1b}[2Jx")
        let fourth = try ChildProcess([binary, "run", "--udev", "off", "--kernel-log", "none", "--state-dir", stateDirectory,
                                       "--log", "stderr", "--config", configPath, "--sysfs", tree.sysfs.root,
                                       "--root", tree.system.root])
        let fourthCode = fourth.waitForExit(within: .seconds(10))
        if fourthCode == nil { fourth.signal(SIGKILL) }
        #expect(fourthCode == 2)
        #expect(messages(fourth).contains { $0.contains("(pid unknown, its lock file says '\\x1b[2Jx')") }, "\(fourth.standardError)")
        #expect(third.stop() == 0)
    }

    /// A tiny tmpfs as the state directory, filled (ENOSPC), then made read-only (EROFS): the daemon
    /// keeps sampling and reacting, says once that it cannot write its state and once that it can
    /// again, and status calls its view stale and says why. Before, it warned once a second and
    /// status showed the last file as current.
    @Test("a full, then read-only state directory: the loop goes on, journaled once each way, status says the view is stale",
          .enabled(if: geteuid() == 0, "mounts a tmpfs"))
    func stateDirectoryThatCannotTakeTheFile() throws {
        let (tree, configPath) = try client()
        defer { tree.remove() }
        let stateDirectory = tree.directory + "/state"
        mkdir(stateDirectory, 0o755)
        try #require(runCommand(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "iscsi-rootd-test", stateDirectory]) == 0)
        defer { _ = runCommand(["umount", "-l", stateDirectory]) }
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: stateDirectory)
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        #expect(try daemon.status().code == 0)

        func cannotWrite() -> [LogLine] { daemon.entries.filter { $0.message.hasPrefix("cannot write the state file") } }
        func writtenAgain() -> [LogLine] { daemon.entries.filter { $0.message.hasPrefix("state file \(stateDirectory)/state.json written again") } }

        for (what, errorName, breakIt, mendIt) in [
            ("full", "ENOSPC", { _ = runCommand(["dd", "if=/dev/zero", "of=\(stateDirectory)/filler", "bs=4k"]) },
             { _ = unlink("\(stateDirectory)/filler") }),
            ("read-only", "EROFS", { _ = runCommand(["mount", "-o", "remount,ro", stateDirectory]) },
             { _ = runCommand(["mount", "-o", "remount,rw", stateDirectory]) }),
        ] as [(String, String, () -> Void, () -> Void)] {
            let failuresBefore = cannotWrite().count
            let againBefore = writtenAgain().count
            breakIt()
            try daemon.wait(for: "the \(errorName) warning") { cannotWrite().count > failuresBefore }
            #expect(cannotWrite().last?.message.contains(errorName) == true, "\(cannotWrite().map(\.message))")
            // The loop goes on: a session failing is seen and said in STATUS= while nothing can be written.
            let skip = daemon.datagrams.count
            try tree.setPhase(.failed, session: 1)
            try daemon.waitForDatagram("STATUS=RECOVERY", after: skip) { statusValue($0)?.hasPrefix("RECOVERY root session1 ") == true }
            try daemon.waitForEntry(.sessionFailed, ["ISCSI_SESSION": "session1"], number: failuresBefore + 1)
            // Older than three poll intervals (1 s at most here) and 2 s: stale, and why.
            try daemon.wait(for: "status to call the view stale", within: .seconds(15)) {
                try daemon.status().json["daemon"]?["stale"] != .null
            }
            let status = try daemon.status()
            #expect(status.code == 3, "never better than UNKNOWN")
            #expect(status.json["daemon"]?["stale"]?["cannot_write"] == .string(what), "\(String(describing: status.json["daemon"]?["stale"]))")
            let message = status.json["daemon"]?["stale"]?["message"]?.stringValue ?? ""
            #expect(message.hasPrefix("daemon's view is ") && message.hasSuffix("s old: it cannot write its state (\(stateDirectory) is \(what))"),
                    "\(message)")
            // Said once, not once a poll.
            #expect(cannotWrite().count == failuresBefore + 1, "\(cannotWrite().map(\.message))")

            mendIt()
            try tree.setPhase(.loggedIn, session: 1)
            try daemon.wait(for: "written again") { writtenAgain().count == againBefore + 1 }
            try daemon.wait(for: "status current again") { try daemon.status().code == 0 }
            #expect(writtenAgain().count == againBefore + 1)
        }
        #expect(daemon.stop() == 0)
        #expect(daemon.unparsable == [])
    }
}
