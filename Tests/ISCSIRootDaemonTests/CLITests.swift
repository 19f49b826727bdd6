import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// `--sysfs`, `--root` and a `--state-dir` of the tree (where no daemon ever wrote).
private func paths(_ tree: FixtureTree) -> [String] {
    ["--sysfs", tree.sysfs.root, "--root", tree.system.root, "--state-dir", tree.directory + "/state"]
}

private let rootDisk = FixtureTree.deviceDirectory("2:0:0:0")
private let rootSession = "class/iscsi_session/session1"
private let rootConnection = "class/iscsi_connection/connection1:0"

/// The healthy diskless client with the iSCSI-root session settings (NOPs off, recovery_tmo 86400);
/// its disk is left as captured (timeout 30, mq-deadline) until `apply` runs.
private func recommendedClient() throws -> FixtureTree {
    let tree = try FixtureTree.healthyDisklessClient()
    try tree.setAttribute("\(rootConnection)/ping_tmo", "0")
    try tree.setAttribute("\(rootConnection)/recv_tmo", "0")
    try tree.setAttribute("\(rootSession)/recovery_tmo", "86400")
    return tree
}

/// Every file and link under `directory` (regular files by content, links by target), to prove
/// that a command wrote nothing.
func snapshot(_ directory: String) -> [String: String] {
    var result: [String: String] = [:]
    var pending = [directory]
    while let current = pending.popLast() {
        guard let handle = opendir(current) else { continue }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            // In place: copying the whole dirent reads past readdir's buffer (see FileTree.list).
            let name = String(cString: (UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                .assumingMemoryBound(to: CChar.self))
            if name == "." || name == ".." { continue }
            let path = current + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                result[path] = "directory"
                pending.append(path)
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(path, &buffer, buffer.count - 1)
                result[path] = "-> " + String(decoding: buffer[..<max(length, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            case S_IFREG:
                result[path] = "mode \(info.st_mode & 0o7777): " + ChildProcess.contents(path)
            default:
                result[path] = "special"
            }
        }
    }
    return result
}

private func parseJSON(_ result: CommandResult) throws -> JSONValue {
    try #require(JSONValue(parsing: result.standardOutput), "not JSON: \(result.standardOutput)")
}

private func member(_ object: JSONValue?, _ keys: [String]) -> [String] {
    keys.filter { object?[$0] == nil }
}

@Suite("iscsi-rootd status, apply, check (the binary against fixture trees)")
struct CLITests {
    // MARK: status

    @Test("status of a tuned client whose root session follows the recommendation: OK, exit 0")
    func statusHealthy() throws {
        let tree = try recommendedClient()
        #expect(try runIscsiRootd(["apply"] + paths(tree).dropLast(2)).status == 0)

        let text = try runIscsiRootd(["status"] + paths(tree))
        #expect(text.status == 0, "\(text.standardOutput)\(text.standardError)")
        let lines = text.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "OK: root on iSCSI, 1 session, 1 iSCSI disk, 1 of 1 tuned")
        #expect(text.standardOutput.contains(
            "/ on sda2 ← sda (2:0:0:0) ← session1 iqn.2003-01.org.linux-iscsi.vmlab:tgt1 @ 127.0.0.1:3260"))
        #expect(text.standardOutput.contains("recovery_tmo 86400 s  NOPs 0/0 s  root settings: met"))
        let diskRow = lines.first { $0.hasPrefix("sda ") }?.split(separator: " ")
        #expect(diskRow == ["sda", "2:0:0:0", "disk", "running", "90", "s", "none", "yes", "session1", "/,[swap],/boot"],
                "\(text.standardOutput)")
        #expect(!text.standardOutput.contains("\u{1B}["), "colour only on a tty")

        let result = try runIscsiRootd(["status", "--json"] + paths(tree))
        #expect(result.status == 0)
        let json = try parseJSON(result)
        #expect(json["overall"] == .string("ok"))
        #expect(json["root"]?["source"] == .string("sda2"))
        #expect(json["root"]?["disk"] == .string("sda"))
        #expect(json["root"]?["session"] == .string("session1"))
        let session = try #require(json["sessions"]?.arrayValue?.first)
        #expect(member(session, ["name", "state", "target", "portal", "recovery_tmo", "host", "host_state", "connections"]) == [])
        #expect(session["name"] == .string("session1"))
        #expect(session["state"] == .string("LOGGED_IN"))
        #expect(session["target"] == .string("iqn.2003-01.org.linux-iscsi.vmlab:tgt1"))
        #expect(session["portal"] == .string("127.0.0.1:3260"))
        #expect(session["recovery_tmo"] == .int(86400))
        #expect(session["host"] == .string("host2"))
        #expect(session["host_state"] == .string("running"))
        #expect(session["connections"]?.arrayValue?.first?["ping_tmo"] == .int(0))
        let disk = try #require(json["disks"]?.arrayValue?.first)
        #expect(member(disk, ["name", "hctl", "session", "type", "state", "timeout", "scheduler", "tuned"]) == [])
        #expect(disk["name"] == .string("sda"))
        #expect(disk["hctl"] == .string("2:0:0:0"))
        #expect(disk["session"] == .string("session1"))
        #expect(disk["type"] == .int(0))
        #expect(disk["state"] == .string("running"))
        #expect(disk["timeout"] == .int(90))
        #expect(disk["scheduler"] == .string("none"))
        #expect(disk["tuned"] == .bool(true))
        #expect(json["disks"]?.arrayValue?.count == 1, "the ATA CD-ROM is not an iSCSI disk")
        #expect(json["daemon"] == .null)
        // Numbers are written as numbers, not strings.
        #expect(result.standardOutput.contains("\"recovery_tmo\": 86400"))
        #expect(result.standardOutput.contains("\"timeout\": 90"))

        try tree.setAttribute("\(rootSession)/recovery_tmo", "off")
        let off = try runIscsiRootd(["status", "--json"] + paths(tree))
        #expect(off.status == 0)
        #expect(try parseJSON(off)["sessions"]?.arrayValue?.first?["recovery_tmo"] == .int(-1))
    }

    @Test("status of an untuned client: WARNING, exit 1, naming what to do")
    func statusUntuned() throws {
        let tree = try recommendedClient()
        let text = try runIscsiRootd(["status"] + paths(tree))
        #expect(text.status == 1)
        #expect(text.standardOutput.hasPrefix("WARNING: root on iSCSI, 1 session, 1 iSCSI disk, 0 of 1 tuned\n"))
        #expect(text.standardOutput.contains(
            "WARNING sda: not tuned: timeout 30 s (want 90 s), scheduler mq-deadline (want none); run 'iscsi-rootd apply'"))

        let json = try parseJSON(try runIscsiRootd(["status", "--json"] + paths(tree)))
        #expect(json["overall"] == .string("warning"))
        #expect(json["disks"]?.arrayValue?.first?["tuned"] == .bool(false))
        #expect(json["disks"]?.arrayValue?.first?["timeout"] == .int(30))
    }

    @Test("status of a session in recovery or lost: CRITICAL, exit 2", arguments: [SessionPhase.failed, .free])
    func statusCritical(phase: SessionPhase) throws {
        let tree = try recommendedClient()
        #expect(try runIscsiRootd(["apply"] + paths(tree).dropLast(2)).status == 0)
        try tree.setPhase(phase, session: 1)

        let text = try runIscsiRootd(["status"] + paths(tree))
        #expect(text.status == 2)
        #expect(text.standardOutput.hasPrefix("CRITICAL: "))
        let json = try parseJSON(try runIscsiRootd(["status", "--json"] + paths(tree)))
        #expect(json["overall"] == .string("critical"))
        let diskState = json["disks"]?.arrayValue?.first?["state"]
        switch phase {
        case .failed:
            #expect(json["sessions"]?.arrayValue?.first?["state"] == .string("FAILED"))
            #expect(diskState == .string("blocked"))
            #expect(text.standardOutput.contains("CRITICAL session1: FAILED"))
        case .free:
            #expect(json["sessions"]?.arrayValue?.first?["state"] == .string("FREE"))
            #expect(diskState == .string("transport-offline"))
            #expect(text.standardOutput.contains("CRITICAL sda: transport-offline"))
        case .loggedIn:
            Issue.record("not a critical phase")
        }
    }

    @Test("status without a sysfs: UNKNOWN, exit 3")
    func statusUnknown() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let missing = ["--sysfs", tree.directory + "/no-sysfs-here", "--root", tree.system.root,
                       "--state-dir", tree.directory + "/state"]
        let text = try runIscsiRootd(["status"] + missing)
        #expect(text.status == 3)
        #expect(text.standardOutput.hasPrefix("UNKNOWN: "))
        #expect(text.standardOutput.contains("no-sysfs-here/class does not exist"))
        let json = try runIscsiRootd(["status", "--json"] + missing)
        #expect(json.status == 3)
        #expect(try parseJSON(json)["overall"] == .string("unknown"))
    }

    // MARK: apply

    @Test("apply tunes every iSCSI disk, reads back, and changes nothing the second time: exit 0")
    func applyTunes() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let arguments = ["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root]
        let first = try runIscsiRootd(arguments)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput == """
            sda  2:0:0:0  session1  timeout    changed 30 -> 90
            sda  2:0:0:0  session1  scheduler  changed mq-deadline -> none

            """)
        #expect(tree.sysfs.attribute("\(rootDisk)/timeout").value == "90")
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "none")
        #expect(tree.sysfs.attribute("class/scsi_device/1:0:0:0/device/timeout").value == "30", "the CD-ROM is untouched")

        let second = try runIscsiRootd(arguments)
        #expect(second.status == 0)
        #expect(second.standardOutput.contains("timeout    unchanged 90"))
        #expect(second.standardOutput.contains("scheduler  unchanged none"))
    }

    @Test("apply: a timeout that refuses writes (EACCES) and a scheduler the kernel does not offer fail: exit 1")
    func applyFailures() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.makeUnreadable("\(rootDisk)/timeout", .readOnly)
        try tree.setAttribute("class/block/sda/queue/scheduler", "[mq-deadline] kyber")
        let result = try runIscsiRootd(["apply", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(result.status == 1)
        let json = try parseJSON(result)
        #expect(json["ok"] == .bool(false))
        let results = try #require(json["results"]?.arrayValue)
        let timeout = try #require(results.first { $0["setting"] == .string("timeout") })
        #expect(timeout["result"] == .string("failed"))
        #expect(timeout["reason"]?.stringValue?.contains("Permission denied") == true, "\(timeout)")
        let scheduler = try #require(results.first { $0["setting"] == .string("scheduler") })
        #expect(scheduler["result"] == .string("failed"))
        #expect(scheduler["reason"]?.stringValue?.contains("not offered") == true)
        #expect(scheduler["reason"]?.stringValue?.hasSuffix("offered: mq-deadline, kyber") == true, "\(scheduler)")
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "[mq-deadline] kyber")

        let text = try runIscsiRootd(["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(text.status == 1)
        #expect(text.standardOutput.contains("timeout    FAILED: cannot write 90 to "))
        #expect(text.standardOutput.contains("scheduler  FAILED: scheduler 'none' is not offered"))
    }

    @Test("apply with a bad configuration names file:line, exits 2 and writes nothing")
    func applyBadConfig() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.writeSystemFile("etc/iscsi-rootd.conf", "[Disk]\nTimeout=90\nScheduler=no such thing\n")
        let before = snapshot(tree.directory)
        let result = try runIscsiRootd(["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(result.status == 2)
        #expect(result.standardError.contains("\(tree.system.path("etc/iscsi-rootd.conf")):3: Scheduler= wants"),
                "\(result.standardError)")
        #expect(result.standardOutput == "")
        #expect(snapshot(tree.directory) == before)

        // A drop-in is named the same way; the first error stops loading.
        try tree.writeSystemFile("etc/iscsi-rootd.conf", "[Disk]\nTimeout=90\n")
        try tree.writeSystemFile("etc/iscsi-rootd.conf.d/50-site.conf", "# site\n[Disk]\nVerifyInterval=-1\n")
        let dropIn = try runIscsiRootd(["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(dropIn.status == 2)
        #expect(dropIn.standardError.contains("50-site.conf:3: VerifyInterval= wants seconds above 0"))
        #expect(tree.sysfs.attribute("\(rootDisk)/timeout").value == "30")
    }

    @Test("apply on a multipath-only client says the disks are there, left to multipathd, and changes nothing")
    func applyMultipathOnly() throws {
        let tree = try FixtureTree()
        try Scenario.multipath.layOut(in: tree)
        let before = snapshot(tree.directory)
        let result = try runIscsiRootd(["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(result.status == 0)
        #expect(result.standardOutput == "2 iSCSI disks, all multipath paths left to multipathd; nothing to tune\n")
        #expect(snapshot(tree.directory) == before)
    }

    @Test("apply on a path that is no sysfs says so and exits 3 UNKNOWN, as status does")
    func applyOnNoSysfs() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let arguments = ["--sysfs", tree.system.root, "--root", tree.system.root]
        let result = try runIscsiRootd(["apply"] + arguments)
        #expect(result.status == 3)
        #expect(result.standardError.contains("\(tree.system.path("class")) does not exist: is \(tree.system.root)/ a sysfs?"),
                "\(result.standardError)")
        #expect(try runIscsiRootd(["status"] + arguments).status == result.status)
    }

    @Test("apply --dry-run shows what would change and writes nothing")
    func applyDryRun() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let before = snapshot(tree.directory)
        let result = try runIscsiRootd(["apply", "--dry-run", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(result.standardOutput.contains("timeout    would change 30 -> 90"))
        #expect(result.standardOutput.contains("scheduler  would change mq-deadline -> none"))
        #expect(snapshot(tree.directory) == before)

        let json = try parseJSON(try runIscsiRootd(["apply", "--dry-run", "--json", "--sysfs", tree.sysfs.root,
                                                    "--root", tree.system.root]))
        #expect(json["results"]?.arrayValue?.map { $0["result"] } == [.string("would_change"), .string("would_change")])
        #expect(snapshot(tree.directory) == before)
    }

    @Test("apply --json: one object per disk and setting")
    func applyJSON() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.addISCSISession(number: 12, host: 3, luns: [0, 300], target: "iqn.2003-01.org.linux-iscsi.vmlab:tgt2")
        let result = try runIscsiRootd(["apply", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root, "--timeout", "120"])
        #expect(result.status == 0)
        let json = try parseJSON(result)
        #expect(json["ok"] == .bool(true))
        let results = try #require(json["results"]?.arrayValue)
        #expect(results.count == 6)
        let big = try #require(results.first { $0["hctl"] == .string("3:0:0:300") && $0["setting"] == .string("timeout") })
        #expect(big == .object([("disk", .string("sdc")), ("hctl", .string("3:0:0:300")), ("session", .string("session12")),
                                ("setting", .string("timeout")), ("result", .string("changed")),
                                ("from", .string("30")), ("to", .string("120"))]))
        #expect(tree.sysfs.attribute("\(FixtureTree.deviceDirectory("3:0:0:300"))/timeout").value == "120")
    }

    // MARK: check

    @Test("check --json lists every link with a verdict; the exit code follows the worst")
    func checkJSON() throws {
        let tree = try recommendedClient()
        let result = try runIscsiRootd(["check", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        let json = try parseJSON(result)
        let items = try #require(json["items"]?.arrayValue)
        #expect(items.count > 1)
        for item in items {
            #expect(member(item, ["id", "title", "verdict", "detail", "fix"]) == [])
            #expect(["ok", "warn", "fail", "unknown"].contains(item["verdict"]?.stringValue ?? ""), "\(item)")
            if item["verdict"] != .string("ok") { #expect(item["fix"]?.stringValue?.isEmpty == false, "\(item)") }
        }
        let verdicts = items.compactMap { $0["verdict"]?.stringValue }
        // A bare fixture root has no fstab, no iscsid, no node record: failures.
        #expect(verdicts.contains("fail"))
        #expect(json["overall"] == .string("fail"))
        #expect(result.status == 2)

        let text = try runIscsiRootd(["check", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(text.status == 2)
        for item in items {
            #expect(text.standardOutput.contains(item["id"]?.stringValue ?? "?"))
        }
    }

    @Test("check stops after the first item when / is not on iSCSI")
    func checkNotISCSI() throws {
        let tree = try FixtureTree()
        try tree.addLocalDisk(.sata)
        try tree.addPartition(1, of: "sda")
        try tree.mount(point: "/", device: "sda1", fileSystem: "ext4")
        let result = try runIscsiRootd(["check", "--json", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        let items = try #require(try parseJSON(result)["items"]?.arrayValue)
        #expect(items.count == 1)
        #expect(items.first?["id"] == .string("root"))
        #expect(items.first?["verdict"] == .string("ok"), "nothing of the iSCSI root chain applies: \(items)")
        #expect(items.first?["detail"]?.stringValue?.contains("not on an iSCSI disk") == true)
        #expect(result.status == 0)
    }

    // MARK: usage

    @Test("unknown options and bad values exit 2 with a message", arguments: [
        ["status", "--bogus"],
        ["apply", "--no-such-flag"],
        ["check", "--frobnicate"],
        ["apply", "--timeout", "0"],
        ["run", "--udev", "sometimes"],
        ["run", "--poll-interval", "-1"],
        ["no-such-command"],
    ])
    func usageErrors(arguments: [String]) throws {
        let result = try runIscsiRootd(arguments)
        #expect(result.status == 2, "\(arguments): \(result.standardError)")
        #expect(!result.standardError.isEmpty)
        #expect(result.standardOutput == "")
    }

    @Test("run finds the daemon installed next to it in a directory whose name is not UTF-8")
    func runFromNonUTF8Directory() throws {
        let binary = try #require(iscsiRootdBinary)
        let directory = binary[..<binary.lastIndex(of: "/")!]
        let output = "/tmp/iscsi-rootd-run-help-\(getpid())"
        defer { unlink(output) }
        // The directory's name ends in byte 0xff, which no Swift String can spell: the shell makes it.
        let script = """
            dir=$(printf '/tmp/iscsi-rootd-\\377-%s' "$$"); trap 'rm -rf "$dir"' EXIT
            mkdir "$dir" && cp "$1/iscsi-rootd" "$1/iscsi-rootd-daemon" "$dir/" && "$dir/iscsi-rootd" run --help > "$2"
            """
        #expect(runCommand(["sh", "-c", script, "sh", String(directory), output]) == 0)
        let help = ChildProcess.contents(output)
        #expect(help.contains("USAGE: iscsi-rootd run"))
    }
}
