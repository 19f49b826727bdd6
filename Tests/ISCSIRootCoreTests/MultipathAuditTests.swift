import Foundation
@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// `iscsi-rootd check` on a root on dm-multipath (issue 9 item 4): multipathd running, enabled and
/// outliving / at shutdown, the root map queueing with no path left, every path's node record by
/// the multipath recipe, each with its exact fix.
@Suite struct MultipathAuditTests {
    static let target = "iqn.2003-01.org.linux-iscsi.vmlab:tgt1"

    /// Debian 12's multipathd.service (multipath-tools 0.9.4): stopped when shutdown begins.
    static let debianMultipathd = """
        [Unit]
        Description=Device-Mapper Multipath Device Controller
        Wants=systemd-udev-trigger.service systemd-udev-settle.service
        Before=iscsi.service iscsid.service lvm2-activation-early.service
        Before=local-fs-pre.target blk-availability.service shutdown.target
        After=multipathd.socket systemd-udev-trigger.service systemd-udev-settle.service
        DefaultDependencies=no
        Conflicts=shutdown.target
        ConditionKernelCommandLine=!nompath
        ConditionKernelCommandLine=!multipath=off
        ConditionVirtualization=!container

        [Service]
        Type=notify
        NotifyAccess=main
        ExecStart=/sbin/multipathd -d -s
        ExecReload=/sbin/multipathd reconfigure
        TasksMax=infinity

        [Install]
        WantedBy=sysinit.target
        """

    /// A path's node record by the multipath recipe (or with the given values).
    static func pathRecord(portal: String, nops: Int = 5, timeout: Int = 10, replacement: Int = 5) -> String {
        """
        # BEGIN RECORD 2.1.8
        node.name = \(target)
        node.tpgt = 1
        node.startup = onboot
        node.session.timeo.replacement_timeout = \(replacement)
        node.conn[0].address = \(portal)
        node.conn[0].port = 3260
        node.conn[0].startup = onboot
        node.conn[0].timeo.noop_out_interval = \(nops)
        node.conn[0].timeo.noop_out_timeout = \(timeout)
        # END RECORD

        """
    }

    /// A multipath client with iscsid, multipathd and both node records set up as they should be.
    static func goodTree() throws -> FixtureTree {
        let tree = try FixtureTree()
        try Scenario.multipath.layOut(in: tree)
        for (path, contents) in try AuditTests.goodFiles() where !path.hasPrefix("etc/iscsi/nodes") {
            try tree.writeSystemFile(path, contents)
        }
        for portal in ["10.0.2.2", "10.0.3.2"] {
            try tree.writeSystemFile("etc/iscsi/nodes/\(target)/\(portal),3260,1/default", pathRecord(portal: portal))
        }
        try tree.writeSystemFile("proc/530/comm", "multipathd\n")
        try tree.writeSystemFile("proc/530/cmdline", "/sbin/multipathd\0-d\0-s\0")
        try tree.writeSystemFile("usr/lib/systemd/system/multipathd.service", debianMultipathd)
        // The fix `check` gives for Debian's unit, applied.
        try tree.writeSystemFile("etc/systemd/system/multipathd.service",
                                 debianMultipathd.replacingOccurrences(of: "Conflicts=shutdown.target\n", with: "SurviveFinalKillSignal=yes\n"))
        try tree.writeSystemFile("etc/multipath.conf", "defaults {\n\tqueue_without_daemon yes\n\tno_path_retry queue\n}\n")
        for unit in ["iscsi-rootd.service", "multipathd.service"] {
            let wants = tree.system.path("etc/systemd/system/sysinit.target.wants")
            try FileManager.default.createDirectory(atPath: wants, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(wants)/\(unit)", withDestinationPath: "/usr/lib/systemd/system/\(unit)")
        }
        return tree
    }

    static func audit(_ tree: FixtureTree) -> [AuditItem] {
        BootChainAudit(system: tree.system, topology: tree.scanner.scan(), policy: DiskPolicy()).run()
    }

    static func items(_ id: String, _ items: [AuditItem]) -> [AuditItem] { items.filter { $0.id == id } }

    @Test func aGoodMultipathRootPassesTheMultipathItems() throws {
        let items = Self.audit(try Self.goodTree())
        #expect(items.map(\.id) == ["root", "fstab", "iscsid-running", "iscsid-shutdown", "multipathd-running",
                                     "multipathd-shutdown", "multipath-queue", "network", "initiator-name", "node-record", "node-record",
                                     "live-session", "live-session", "disks", "swap", "service", "boot-files"])
        // network: no route to 10.0.2.2 in the good files; swap: the scenario swaps on the map (a warning of its own).
        for item in items where item.id != "network" && item.id != "swap" {
            #expect(item.verdict == .ok, "\(item.id): \(item.detail)")
        }
        #expect(Self.items("node-record", items).map(\.title) == ["node record of root path session1", "node record of root path session2"])
        #expect(Self.items("multipath-queue", items).first?.detail == "mpatha (/, [swap]) queues: no_path_retry queue (/etc/multipath.conf:3, defaults)")
    }

    @Test func debiansMultipathdIsStoppedAtShutdownAndTurnsQueueingOff() throws {
        let tree = try Self.goodTree()
        try FileManager.default.removeItem(atPath: tree.system.path("etc/systemd/system/multipathd.service"))
        try tree.writeSystemFile("etc/multipath.conf", "defaults {\n\tno_path_retry queue\n}\n")
        let item = try #require(Self.items("multipathd-shutdown", Self.audit(tree)).first)
        #expect(item.verdict == .fail)
        #expect(item.detail.contains("multipathd.service has Conflicts=shutdown.target (/usr/lib/systemd/system/multipathd.service)"))
        #expect(item.detail.contains("killed by systemd-shutdown's final SIGTERM/SIGKILL"))
        #expect(item.detail.contains("queue_without_daemon is no (the default)"))
        let fix = try #require(item.fix)
        #expect(fix.contains("cp /usr/lib/systemd/system/multipathd.service /etc/systemd/system/multipathd.service, delete its Conflicts=shutdown.target line, add SurviveFinalKillSignal=yes"))
        #expect(fix.contains("set queue_without_daemon yes in the defaults section of /etc/multipath.conf"))
    }

    @Test func multipathdNotRunningOrNotEnabled() throws {
        let tree = try Self.goodTree()
        try FileManager.default.removeItem(atPath: tree.system.path("etc/systemd/system/sysinit.target.wants/multipathd.service"))
        var item = try #require(Self.items("multipathd-running", Self.audit(tree)).first)
        #expect(item.verdict == .warn)
        #expect(item.fix == "systemctl enable --now multipathd.service")
        try FileManager.default.removeItem(atPath: tree.system.path("proc/530"))
        item = try #require(Self.items("multipathd-running", Self.audit(tree)).first)
        #expect(item.verdict == .fail)
        #expect(item.detail.hasPrefix("no multipathd process"))
    }

    @Test func aRootMapThatFailsWithNoPathLeftFailsWithTheExactFix() throws {
        let tree = try Self.goodTree()
        try tree.writeSystemFile("etc/multipath.conf", "defaults {\n\tqueue_without_daemon yes\n\tno_path_retry fail\n}\n")
        let item = try #require(Self.items("multipath-queue", Self.audit(tree)).first)
        #expect(item.verdict == .fail)
        #expect(item.detail == "mpatha (/, [swap]) does not queue: no_path_retry fail (/etc/multipath.conf:3, defaults); losing every path fails I/O on /, [swap]")
        #expect(item.fix?.contains("wwid 36001405abea000100000000000000000\n      no_path_retry queue") == true, "\(item.fix ?? "")")
    }

    @Test func linesOfMultipathConfNotUnderstoodAreNamed() throws {
        let tree = try Self.goodTree()
        try tree.writeSystemFile("etc/multipath.conf", "queue_without_daemon yes\ndefaults {\n\tqueue_without_daemon yes\n\tno_path_retry queue\n}\n")
        let item = try #require(Self.items("multipath-queue", Self.audit(tree)).first)
        #expect(item.verdict == .warn)
        #expect(item.detail == "multipath.conf not understood here: /etc/multipath.conf:1: 'queue_without_daemon' outside a section")
    }

    @Test("a path's node record with the iSCSI-root recipe gets the multipath one, never NOPs off or 86400")
    func pathRecordsByTheMultipathRecipe() throws {
        let tree = try Self.goodTree()
        try tree.writeSystemFile("etc/iscsi/nodes/\(Self.target)/10.0.3.2,3260,1/default",
                                 Self.pathRecord(portal: "10.0.3.2", nops: 0, timeout: 0, replacement: 86400))
        try tree.setAttribute("class/iscsi_session/session2/recovery_tmo", "86400")
        let items = Self.audit(tree)
        let records = Self.items("node-record", items)
        #expect(records.map(\.verdict) == [.ok, .fail])
        let fix = try #require(records[1].fix)
        let update = "iscsiadm -m node -T \(Self.target) -p 10.0.3.2:3260 -o update -n"
        #expect(fix.split(separator: "\n").sorted() == [
            "\(update) node.conn[0].timeo.noop_out_interval -v 5", "\(update) node.conn[0].timeo.noop_out_timeout -v 10",
            "\(update) node.session.timeo.replacement_timeout -v 5"], "\(fix)")
        let live = Self.items("live-session", items)
        #expect(live.map(\.verdict) == [.ok, .fail])
        #expect(live[1].fix?.contains("fast_io_fail_tmo 5") == true)
        for item in items {
            #expect(!(item.fix ?? "").contains("86400") && !(item.fix ?? "").contains("-v 0"), "\(item.id): \(item.fix ?? "")")
        }
    }
}
