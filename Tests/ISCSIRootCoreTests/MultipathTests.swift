import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

/// Issue 9: a root on dm-multipath, LVM over several disks, and a client with both path and direct sessions.
@Suite("Multipath: topology tree, path policy, health, JSON")
struct MultipathTests {
    private func tree(_ scenario: Scenario) throws -> FixtureTree {
        let tree = try FixtureTree()
        try scenario.layOut(in: tree)
        return tree
    }

    private func status(_ tree: FixtureTree) -> StatusReport {
        StatusReport(topology: tree.scanner.scan(), configuration: Configuration())
    }

    @Test func mapsPathsAndTheRootTree() throws {
        let tree = try tree(.multipath)
        let topology = tree.scanner.scan()
        let map = try #require(topology.maps.first)
        #expect(topology.maps.count == 1)
        #expect(map.name == "mpatha")
        #expect(map.dm == "dm-0")
        // The captured LUN's wwid naa.6001405abea0… as multipath-tools' scsi_id derives it.
        #expect(map.wwid == "36001405abea000100000000000000000")
        #expect(map.paths == ["sda", "sdb"])
        #expect(map.queueing.queues == true)
        let root = try #require(topology.root)
        #expect(root.path == ["dm-2", "dm-0", "sda", "sdb"])
        #expect(root.disks == ["sda", "sdb"])
        #expect(root.layer("dm-2") == BlockLayer(name: "dm-2", mappedName: "mpatha-part2", kind: .mapperPartition, below: ["dm-0"]))
        #expect(root.layer("dm-0")?.kind == .multipath)
        #expect(root.layer("dm-0")?.below == ["sda", "sdb"])
        #expect(root.layer("sda")?.kind == .disk)
        #expect(topology.maps(of: root).map { $0.name } == ["mpatha"])
        #expect(topology.isPathSession(1) && topology.isPathSession(2))
        #expect(topology.devices.filter { $0.isISCSI }.allSatisfy { $0.isMultipathPath })
        #expect(topology.criticalUses(of: map) == [.root, .swap])
    }

    @Test func lvmSpanningTwoDirectDisksIsATree() throws {
        let tree = try tree(.lvmTwoDisks)
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.disks == ["sda", "sdb"])
        #expect(root.layer("dm-0")?.kind == .lvm)
        #expect(root.layer("dm-0")?.below == ["sda", "sdb"])
        #expect(topology.maps.isEmpty)
        #expect(!topology.isPathSession(1))
        let text = status(tree).text(color: false)
        #expect(text.contains("/ on vg-root ← [sda (2:0:0:0) ← session1 iqn.2003-01.org.linux-iscsi.vmlab:pv1 @ 127.0.0.1:3260] + [sdb (3:0:0:0) ← session2 iqn.2003-01.org.linux-iscsi.vmlab:pv2 @ 127.0.0.1:3260]"), "\(text)")
        // Both direct sessions carry / and get today's root rules.
        let json = status(tree).json
        #expect(json["sessions"]?.arrayValue?.map { $0["role"] } == [.string("direct"), .string("direct")])
        #expect(json["root"]?["multipath"] == .null)
    }

    @Test func mdRAIDOverTwoDirectDisksIsATreeToo() throws {
        let tree = try FixtureTree()
        let first = try tree.addISCSISession(number: 1, host: 2, target: "iqn.2003-01.org.linux-iscsi.vmlab:r1")
        let second = try tree.addISCSISession(number: 2, host: 3, target: "iqn.2003-01.org.linux-iscsi.vmlab:r2")
        let array = try tree.addRAID(0, over: first.disks + second.disks)
        try tree.mount(point: "/", device: array, fileSystem: "ext4")
        let topology = tree.scanner.scan()
        let root = try #require(topology.root)
        #expect(root.layer("md0") == BlockLayer(name: "md0", mappedName: nil, kind: .raid, below: ["sda", "sdb"]))
        #expect(root.disks == ["sda", "sdb"])
        #expect(topology.sessions(of: root).map { $0.number } == [1, 2])
        #expect(status(tree).text(color: false).contains("/ on md0 ← [sda (2:0:0:0) ← session1 "), "\(status(tree).text(color: false))")
        // Both are direct sessions carrying /: each gets its recovery_tmo raised.
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        #expect([1, 2].compactMap { topology.session($0) }.map { tuner.wantedTimeout(for: $0, topology: topology) } == [.seconds(86400), .seconds(86400)])
    }

    @Test("iscsi-rootd never writes a path session's recovery_tmo, nor tunes a path disk")
    func pathSessionsAndDisksAreMultipathds() throws {
        let tree = try tree(.multipathData)
        let topology = tree.scanner.scan()
        let tuner = SessionTuner(sysfs: tree.sysfs, policy: .atLeast(86400))
        for number in [1, 2] {
            let session = try #require(topology.session(number))
            #expect(tuner.wantedTimeout(for: session, topology: topology) == nil)
            #expect(tuner.tune(session, topology: topology) == nil)
            #expect(tree.sysfs.attribute("class/iscsi_session/session\(number)/recovery_tmo").value == "5")
        }
        let outcomes = DiskTuner(sysfs: tree.sysfs, policy: DiskPolicy()).tune(topology.devices)
        #expect(Set(outcomes.map { $0.disk }) == ["sdc"], "only the direct data disk is tuned")
        #expect(tree.sysfs.attribute("class/block/sda/queue/scheduler").value == "[mq-deadline] none")
    }

    @Test func allPathsUpIsOKWithTheMultipathRecipe() throws {
        let tree = try tree(.multipath)
        let report = status(tree)
        #expect(report.overall == .ok, "\(report.findings)")
        let text = report.text(color: false)
        #expect(text.contains("/ on mpatha-part2 ← mpatha, 2 of 2 paths: sda via session1 @ 10.0.2.2:3260, sdb via session2 @ 10.0.3.2:3260"), "\(text)")
        // Never the iSCSI-root recipe for a path: no NOPs-off or 86400 advice.
        #expect(!text.contains("86400") && !text.contains("= 0"), "\(text)")
        #expect(StatusLine.compose(topology: report.topology, configuration: Configuration(), view: DaemonSnapshot())
                == "root mpatha (2 of 2 paths up) via session1, session2; path disks left to multipathd")
    }

    @Test func pathSessionWithADayLongTimerOrNOPsOffGetsTheMultipathAdvice() throws {
        let tree = try tree(.multipath)
        try tree.setAttribute("class/iscsi_session/session2/recovery_tmo", "86400")
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        let report = status(tree)
        #expect(report.overall == .warning)
        let messages = report.findings.map { "\($0.subject): \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("session2: multipath path with recovery_tmo 86400 s") && $0.contains("replacement_timeout = 5") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("session1: multipath path with NOPs off") && $0.contains("noop_out_interval = 5") }, "\(messages)")
    }

    @Test("one path down is WARNING (root degraded), none left CRITICAL")
    func degradedAndNoPathLeft() throws {
        let tree = try tree(.multipath)
        try tree.setPhase(.failed, session: 2)
        var report = status(tree)
        #expect(report.overall == .warning, "\(report.findings)")
        let degraded = try #require(report.findings.first { $0.subject == "mpatha" })
        #expect(degraded.severity == .warning)
        #expect(degraded.message.hasPrefix("root degraded: 1 of 2 paths of mpatha (sdb via session2 down)"))
        // A path's FAILED session and blocked disk are the map's finding, not CRITICAL on their own.
        #expect(!report.findings.contains { $0.subject == "session2" || $0.subject == "sdb" }, "\(report.findings)")
        let line = StatusLine.compose(topology: report.topology, configuration: Configuration(), view: DaemonSnapshot())
        #expect(line == "root degraded: 1 of 2 paths of mpatha (sdb via session2 down)")
        var json = report.json
        #expect(json["overall"] == .string("warning"))
        let multipath = try #require(json["root"]?["multipath"])
        #expect(multipath["paths_up"] == .int(1) && multipath["paths_total"] == .int(2))
        let sdb = try #require(multipath["paths"]?.arrayValue?.last)
        #expect(sdb["disk"] == .string("sdb") && sdb["up"] == .bool(false))
        #expect(sdb["state"] == .string("blocked") && sdb["session_state"] == .string("FAILED"))

        try tree.setPhase(.free, session: 1)
        report = status(tree)
        #expect(report.overall == .critical)
        let lost = try #require(report.findings.first { $0.subject == "mpatha" })
        #expect(lost.message.hasPrefix("no path left for /, [swap] on mpatha: 0 of 2 paths; I/O is queued until a path returns"))
        json = report.json
        #expect(json["overall"] == .string("critical"))
        #expect(json["root"]?["multipath"]?["paths_up"] == .int(0))
    }

    @Test("a controller LUN on a path session (tgtd's LUN 0) is judged with the map, not CRITICAL on its own")
    func controllerLUNOnAPathSession() throws {
        let tree = try tree(.multipath)
        let controller = try tree.addISCSILUN(session: 2, lun: 1, type: 12)
        try tree.setPhase(.free, session: 2)
        let report = status(tree)
        #expect(report.overall == .warning, "\(report.findings)")
        #expect(!report.findings.contains { $0.subject == controller.hctl || $0.subject == "session2" }, "\(report.findings)")
        // On a direct session the same LUN stays a finding of its own.
        let direct = try FixtureTree()
        let session = try direct.addISCSISession(number: 1, host: 2, luns: [0])
        let directController = try direct.addISCSILUN(session: session.number, lun: 1, type: 12)
        try direct.setPhase(.free, session: 1)
        #expect(status(direct).findings.contains { $0.subject == directController.hctl && $0.severity == .critical })
    }

    @Test("JSON: root.multipath, storage[].multipath and sessions[].role, as documented")
    func jsonContract() throws {
        let tree = try tree(.multipathData)
        let json = status(tree).json
        #expect(json["overall"] == .string("warning"), "the direct data disk is not tuned yet")
        let multipath = try #require(json["root"]?["multipath"])
        #expect(multipath["name"] == .string("mpatha"))
        #expect(multipath["wwid"] == .string("36001405abea000100000000000000000"))
        #expect(multipath["dm"] == .string("dm-0"))
        #expect(multipath["queue_if_no_path"] == .bool(true))
        #expect(multipath["paths_up"] == .int(2))
        #expect(multipath["paths_total"] == .int(2))
        let path = try #require(multipath["paths"]?.arrayValue?.first)
        #expect(path["disk"] == .string("sda"))
        #expect(path["hctl"] == .string("2:0:0:0"))
        #expect(path["session"] == .string("session1"))
        #expect(path["portal"] == .string("10.0.2.2:3260"))
        #expect(path["state"] == .string("running"))
        #expect(path["session_state"] == .string("LOGGED_IN"))
        #expect(path["up"] == .bool(true))
        let roles = json["sessions"]?.arrayValue?.map { ($0["name"]?.stringValue ?? "", $0["role"]?.stringValue ?? "") }
        #expect(roles?.map { $0.0 } == ["session1", "session2", "session3"])
        #expect(roles?.map { $0.1 } == ["path", "path", "direct"])
        let storage = try #require(json["storage"]?.arrayValue)
        let srv = try #require(storage.first { $0["use"] == .string("/srv") })
        #expect(srv["multipath"] == .null)
        let swap = try #require(storage.first { $0["use"] == .string("[swap]") })
        #expect(swap["multipath"]?["name"] == .string("mpatha"))
        let disks = try #require(json["disks"]?.arrayValue)
        #expect(disks.map { $0["tuned"] } == [.null, .null, .bool(false)])
    }

    @Test func queueingFromMultipathConf() throws {
        let tree = try tree(.multipath)
        func queueing(_ conf: String?) throws -> MultipathQueueing {
            try tree.writeSystemFile("etc/multipath.conf", conf ?? "")
            return try #require(tree.scanner.scan().maps.first).queueing
        }
        // The multipaths entry of the WWID beats defaults; `fail` does not queue.
        var result = try queueing("""
            defaults {
                no_path_retry queue
            }
            multipaths {
                multipath {
                    wwid 36001405abea000100000000000000000
                    alias mpatha
                    no_path_retry fail
                }
            }
            """)
        #expect(result.queues == false)
        #expect(result.detail == "no_path_retry fail (/etc/multipath.conf:8, multipaths section, wwid 36001405abea000100000000000000000)")
        // The deprecated features string counts only when no_path_retry is set nowhere.
        result = try queueing("defaults {\n\tfeatures \"1 queue_if_no_path\"\n}\n")
        #expect(result.queues == true)
        result = try queueing("defaults {\n\tfeatures \"1 queue_if_no_path\"\n\tno_path_retry 12\n}\n")
        #expect(result.queues == false)
        #expect(result.detail.contains("queues for 12 checker intervals, then fails I/O"))
        // A device entry for another vendor does not apply; nothing set is unknown, not a guess.
        result = try queueing("devices {\n\tdevice {\n\t\tvendor \"NETAPP\"\n\t\tproduct \"LUN\"\n\t\tno_path_retry queue\n\t}\n}\n")
        #expect(result.queues == nil)
        // conf.d is read after the main file, and overrides beat devices.
        try tree.writeSystemFile("etc/multipath/conf.d/root.conf", "overrides {\n\tno_path_retry queue\n}\n")
        result = try queueing("devices {\n\tdevice {\n\t\tvendor \"LIO-ORG\"\n\t\tno_path_retry fail\n\t}\n}\n")
        #expect(result.queues == true)
        #expect(result.detail == "no_path_retry queue (/etc/multipath/conf.d/root.conf:2, overrides)")
    }

    @Test func aHostileMultipathConfIsReadWithoutACrash() throws {
        let tree = try tree(.multipath)
        try tree.writeSystemFile("etc/multipath.conf", String(repeating: "a {\n", count: 200_000) + "}\n}\nstray\n")
        let conf = MultipathConf.load(from: tree.system)
        #expect(conf.problems.first == "/etc/multipath.conf:5: sections nested deeper than 4; the rest of /etc/multipath.conf is ignored")
        #expect(try #require(tree.scanner.scan().maps.first).queueing.queues == nil)
        try tree.writeSystemFile("etc/multipath.conf", "no_path_retry queue\ndefaults {\n\tno_path_retry queue\n}\n}\ndevices {\n\tdevice {\n\t\tvendor \"(\"\n\t\tno_path_retry fail\n")
        let broken = MultipathConf.load(from: tree.system)
        #expect(broken.problems == ["/etc/multipath.conf:1: 'no_path_retry' outside a section", "/etc/multipath.conf:5: '}' without a section",
                                    "/etc/multipath.conf: section 'device' is not closed"])
        // The device entry's vendor is not a valid expression: it matches nothing; defaults decide.
        #expect(try #require(tree.scanner.scan().maps.first).queueing.queues == true)
        // A multipath.conf that cannot be read is named, and queueing is unknown.
        try FileManager.default.removeItem(atPath: tree.system.path("etc/multipath.conf"))
        try FileManager.default.createDirectory(atPath: tree.system.path("etc/multipath.conf"), withIntermediateDirectories: true)
        let queueing = try #require(tree.scanner.scan().maps.first).queueing
        #expect(queueing.queues == nil)
        #expect(queueing.detail.hasSuffix("; /etc/multipath.conf: cannot read: EISDIR (Is a directory)"), "\(queueing.detail)")
    }

    @Test func queueingUnknownWithoutMultipathConfAndAWarningWhenTheRootMapFails() throws {
        let tree = try tree(.multipath)
        try tree.writeSystemFile("etc/multipath.conf", "defaults {\n\tno_path_retry fail\n}\n")
        let report = status(tree)
        #expect(report.findings.contains { $0.subject == "mpatha" && $0.severity == .warning
            && $0.message.hasPrefix("does not queue when no path is left (no_path_retry fail (/etc/multipath.conf:2, defaults))") })
        #expect(report.json["root"]?["multipath"]?["queue_if_no_path"] == .bool(false))
    }

    @Test func deviceMapperKindsFromTheirUUIDs() {
        #expect(BlockLayerKind(deviceMapperUUID: "mpath-36001405abea000100000000000000000") == .multipath)
        #expect(BlockLayerKind(deviceMapperUUID: "part2-mpath-36001405abea000100000000000000000") == .mapperPartition)
        #expect(BlockLayerKind(deviceMapperUUID: "LVM-abc") == .lvm)
        #expect(BlockLayerKind(deviceMapperUUID: "CRYPT-LUKS2-0123-root") == .crypt)
        #expect(BlockLayerKind(deviceMapperUUID: "partx-mpath-1") == .deviceMapper)
        #expect(BlockLayerKind(deviceMapperUUID: "") == .deviceMapper)
    }
}
