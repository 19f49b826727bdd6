import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// `kill -9` at random points (seeded) of `apply` and of the daemon's state-file writes, 1000
/// times in all: the state file is never torn, nothing but the tuned attributes is ever written,
/// and what runs next converges (apply tunes everything; a restarted daemon carries the damage on).
@Suite("kill -9 at random points of apply and of the state-file write")
struct KillTests {
    static let binary = iscsiRootdBinary

    /// Starts `arguments`, kills it with SIGKILL after `delay` microseconds, reaps it; its exit
    /// status and pid.
    @discardableResult
    static func killed(_ arguments: [String], after delay: UInt32) throws -> (status: Int32, pid: pid_t) {
        let child = try ChildProcess([try #require(binary)] + arguments)
        usleep(delay)
        child.signal(SIGKILL)
        return (child.waitForExit(within: .seconds(10)) ?? -1, child.pid)
    }

    @Test("500 kills of apply: attributes hold the old or the new value, a re-run converges")
    func applyKilled() throws {
        var random = SeededGenerator(seed: 9)
        let tree = try FixtureTree.healthyDisklessClient()
        let device = FixtureTree.deviceDirectory("2:0:0:0")
        let timeout = "\(device)/timeout"
        let scheduler = "class/block/sda/queue/scheduler"
        let paths = ["--sysfs", tree.sysfs.root, "--root", tree.system.root]
        let untouched = snapshot(tree.directory).filter { !$0.key.hasSuffix("/timeout") && !$0.key.hasSuffix("/scheduler") }
        var finishedBeforeKill = 0
        for index in 0..<500 {
            try tree.setAttribute(timeout, "30")
            try tree.setAttribute(scheduler, "[mq-deadline] none")
            let status = try Self.killed(["apply"] + paths, after: UInt32.random(in: 0...40_000, using: &random)).status
            if status == 0 { finishedBeforeKill += 1 }
            let timeoutValue = try tree.sysfs.read(timeout).get()
            let schedulerValue = try tree.sysfs.read(scheduler).get()
            // A fixture attribute is a plain file: the write's O_TRUNC (which sysfs ignores) can leave
            // it empty for a moment. Real sysfs takes a write whole; only old, new or that moment occur.
            #expect(["30", "90", ""].contains(timeoutValue), "kill \(index): timeout '\(timeoutValue)'")
            #expect(["[mq-deadline] none", "none", ""].contains(schedulerValue), "kill \(index): scheduler '\(schedulerValue)'")
            if schedulerValue.isEmpty { try tree.setAttribute(scheduler, "[mq-deadline] none") }
            if index % 50 == 49 {
                let rerun = try runIscsiRootd(["apply"] + paths)
                #expect(rerun.status == 0, "after kill \(index): \(rerun.standardOutput)")
                #expect(try tree.sysfs.read(timeout).get() == "90")
            }
        }
        let after = snapshot(tree.directory).filter { !$0.key.hasSuffix("/timeout") && !$0.key.hasSuffix("/scheduler") }
        #expect(after == untouched, "apply wrote something besides the two attributes")
        print("kill: 500 applies killed (\(finishedBeforeKill) had finished); nothing else written, every re-run converged")
        #expect(finishedBeforeKill < 500, "no kill landed inside apply")
    }

    @Test("500 kills of the daemon while it writes its state: never torn, damage carried through every restart")
    func daemonKilled() throws {
        var random = SeededGenerator(seed: 11)
        let tree = try FixtureTree.healthyDisklessClient()
        let stateDirectory = tree.directory + "/state"
        let backlog = tree.directory + "/kmsg"
        try "2,501,1000,-;Aborting journal on device sda2-8.\n".write(toFile: backlog)
        let config = tree.directory + "/fast.conf"
        try "[Disk]\nVerifyInterval=0.01\n".write(toFile: config)
        let run = ["run", "--sysfs", tree.sysfs.root, "--root", tree.system.root, "--state-dir", stateDirectory,
                   "--config", config, "--udev", "off", "--log", "stderr", "--poll-interval", "0.02"]

        // The first daemon learns of the damage from the kernel log and records it.
        let first = try ChildProcess([try #require(Self.binary)] + run + ["--kernel-log", backlog])
        var recorded = false
        for _ in 0..<200 where !recorded {
            usleep(50_000)
            if case .success(let (file, _))? = DaemonSnapshot.read(directory: stateDirectory) { recorded = !file.damage.isEmpty }
        }
        #expect(recorded)
        first.signal(SIGKILL)
        _ = first.waitForExit(within: .seconds(10))

        var torn = 0
        var killedAfterWriting = 0
        for index in 0..<500 {
            let pid = try Self.killed(run + ["--kernel-log", "none"], after: UInt32.random(in: 20_000...150_000, using: &random)).pid
            switch DaemonSnapshot.read(directory: stateDirectory) {
            case .success(let (file, warnings))?:
                #expect(warnings.isEmpty, "kill \(index): \(warnings)")
                #expect(!file.damage.isEmpty, "kill \(index): the damage was not carried over")
                if file.pid == pid { killedAfterWriting += 1 }
            case .failure(let error)?:
                torn += 1
                Issue.record("kill \(index): \(error)")
            case nil:
                Issue.record("kill \(index): the state file is gone")
            }
            let names = Set(FixtureFiles.names(in: stateDirectory))
            // The state file and the daemon's status view, each with the temporary file a kill can leave,
            // and the one-daemon lock.
            #expect(names.isSubset(of: ["state.json", "state.json.tmp", "status", "status.tmp", "daemon.lock"]),
                    "kill \(index): \(names)")
        }
        #expect(torn == 0)
        // Most kills must land while the daemon runs and rewrites its state, not before it starts.
        print("kill: 500 daemons killed, \(killedAfterWriting) after writing state; 0 torn state files")
        #expect(killedAfterWriting > 50, "only \(killedAfterWriting) of 500 daemons wrote before the kill")

        // The daemon started once more converges: it runs, keeps the damage, and stops cleanly.
        let last = try ChildProcess([try #require(Self.binary)] + run + ["--kernel-log", "none"])
        var converged = false
        for _ in 0..<200 where !converged {
            usleep(50_000)
            if case .success(let (file, _))? = DaemonSnapshot.read(directory: stateDirectory) {
                converged = file.pid == last.pid && !file.damage.isEmpty && !file.statusLine.isEmpty
            }
        }
        #expect(converged)
        last.signal(SIGTERM)
        #expect(last.waitForExit(within: .seconds(10)) == 0)
        let status = try runIscsiRootd(["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                        "--state-dir", stateDirectory])
        #expect(status.status == 2 && status.standardOutput.contains("root file system damaged"), "\(status.standardOutput)")
    }
}

enum FixtureFiles {
    /// Entry names of a directory.
    static func names(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = String(cString: (UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                .assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
