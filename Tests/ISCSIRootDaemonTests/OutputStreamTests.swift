import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// Starts the binary with `brokenFD` (1 or 2) on `/dev/full` (`full: true`) or on a pipe whose
/// reader is already gone, the other output stream in `errorFile`; returns its pid.
private func spawnWithBrokenOutput(_ arguments: [String], full: Bool, brokenFD: Int32 = 1,
                                   errorFile: String) throws -> pid_t {
    let binary = try #require(iscsiRootdBinary)
    var ends: [Int32] = [0, 0]
    // Close-on-exec at once: a child another test spawns meanwhile must not inherit (and hold open)
    // the reader. (Glibc's module has no pipe2.)
    #expect(pipe(&ends) == 0)
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    close(ends[0])
    defer { close(ends[1]) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 3 - brokenFD, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if full {
        posix_spawn_file_actions_addopen(&actions, brokenFD, "/dev/full", O_WRONLY, 0)
    } else {
        posix_spawn_file_actions_adddup2(&actions, ends[1], brokenFD)
    }
    var argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = [strdup("LANG=C.UTF-8"), nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid = pid_t()
    #expect(posix_spawn(&pid, binary, &actions, nil, &argv, &envp) == 0)
    return pid
}

private func wait(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return ChildProcess.decode(status)
}

/// Runs the binary with standard output broken; returns its exit status and standard error.
private func runWithBrokenOutput(_ arguments: [String], full: Bool) throws -> (status: Int32, error: String) {
    var template = Array("/tmp/iscsi-rootd-output-XXXXXX".utf8CString)
    let directory = String(cString: try #require(mkdtemp(&template)))
    defer { unlink(directory + "/stderr"); rmdir(directory) }
    let pid = try spawnWithBrokenOutput(arguments, full: full, errorFile: directory + "/stderr")
    return (wait(pid), ChildProcess.contents(directory + "/stderr"))
}

@Suite("Output streams and paths: closed pipes, full devices, relative paths, a non-root dry run")
struct OutputStreamTests {
    @Test(arguments: [["status"], ["status", "--json"], ["check"], ["apply", "--dry-run"], ["catalog"]])
    func aClosedPipeOrAFullDeviceIsExit3WithAMessage(command: [String]) throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let arguments = command + (command == ["catalog"] ? [] : ["--sysfs", tree.sysfs.root, "--root", tree.system.root])
        let closed = try runWithBrokenOutput(arguments, full: false)
        #expect(closed.status == 3, "\(closed.error)")
        #expect(closed.error.contains("cannot write the output: EPIPE"))
        let full = try runWithBrokenOutput(arguments, full: true)
        #expect(full.status == 3, "\(full.error)")
        #expect(full.error.contains("cannot write the output: ENOSPC"))
    }

    @Test("the daemon logging to stderr outlives a closed reader (no SIGPIPE)")
    func daemonSurvivesAClosedStderrReader() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let pid = try spawnWithBrokenOutput(["run", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                             "--state-dir", tree.directory + "/state", "--udev", "off",
                                             "--kernel-log", "none", "--log", "stderr", "--poll-interval", "0.1"],
                                            full: false, brokenFD: 2, errorFile: tree.directory + "/stdout")
        // The state file is written after the first log lines: the daemon got past them alive.
        var written = false
        for _ in 0..<100 where !written {
            usleep(100_000)
            written = access(tree.directory + "/state/state.json", F_OK) == 0
        }
        #expect(written)
        kill(pid, SIGTERM)
        #expect(wait(pid) == 0)
    }

    @Test("relative --sysfs, --root, --config and --state-dir mean the same in every command")
    func relativePathsResolveAgainstTheWorkingDirectory() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let config = tree.directory + "/relative.conf"
        try "[Disk]\nTimeout=77\n".write(toFile: config)
        let sysfs = String(tree.sysfs.root.dropFirst(tree.directory.count + 1))
        let root = String(tree.system.root.dropFirst(tree.directory.count + 1))
        // In a child shell: the test process's working directory is shared by every test.
        let binary = try #require(iscsiRootdBinary)
        let child = try ChildProcess(["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", tree.directory, binary,
                                      "apply", "--dry-run", "--json", "--sysfs", sysfs, "--root", root,
                                      "--config", "relative.conf"])
        let status = child.waitForExit(within: .seconds(30))
        let result = CommandResult(status: status ?? -1, standardOutput: child.standardOutput,
                                   standardError: child.standardError)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\"to\": \"77\""))
    }

    @Test("apply --dry-run as a user who may not write predicts the EACCES apply meets",
          .enabled(if: canRunAsNobody, "needs root and /usr/bin/setpriv to run the binary as nobody"))
    func dryRunAsNonRootPredictsTheFailure() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        chmod(tree.directory, 0o755)
        let binary = try #require(iscsiRootdBinary)
        let child = try ChildProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary,
                                      "apply", "--dry-run", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(child.waitForExit(within: .seconds(30)) == 1, "\(child.standardOutput)\(child.standardError)")
        #expect(child.standardOutput.contains("FAILED: cannot write 90 to"))
        #expect(child.standardOutput.contains("EACCES (Permission denied)"))
        #expect(!child.standardOutput.contains("would change"))
    }
}

extension String {
    func write(toFile path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ChildProcessError(message: "cannot create \(path)") }
        defer { close(fd) }
        _ = Array(utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

/// Whether a test can run the binary as nobody (uid 65534): as root, through util-linux's setpriv.
let canRunAsNobody = getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0

@Suite("What a user who is not root sees")
struct NonRootTests {
    @Test("check by a user who cannot read the node records says unknown, never 'no node record'",
          .enabled(if: canRunAsNobody, "needs root and /usr/bin/setpriv to run the binary as nobody"))
    func nodeRecordsUnreadable() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.writeSystemFile("etc/iscsi/nodes/iqn.2003-01.org.linux-iscsi.vmlab:tgt1/127.0.0.1,3260,1/default",
                                 "node.startup = onboot\n", mode: 0o600)
        chmod(tree.system.path("etc/iscsi/nodes"), 0o700)
        chmod(tree.directory, 0o755)
        let binary = try #require(iscsiRootdBinary)
        let child = try ChildProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary,
                                      "check", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        _ = child.waitForExit(within: .seconds(30))
        let json = try #require(JSONValue(parsing: child.standardOutput), "\(child.standardError)")
        let item = try #require(json["items"]?.arrayValue?.first { $0["id"] == .string("node-record") })
        #expect(item["verdict"] == .string("unknown"))
        #expect(item["detail"]?.stringValue?.contains("EACCES (Permission denied); run check as root") == true)
    }
}
