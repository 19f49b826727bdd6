import Foundation
import Testing
@testable import ISCSIRootCore
import SysfsFixtures

/// `iscsi-rootd check` against a good diskless root, and against each broken link alone.
@Suite struct AuditTests {
    static let target = "iqn.2003-01.org.example:root"
    static let nodePath = "etc/iscsi/nodes/\(target)/10.0.0.1,3260,1/default"

    /// The repository's own files, so the shipped drop-ins and examples are what passes the audit.
    static func shipped(_ path: String) throws -> String {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
    }

    /// A node record as iscsiadm writes it (abridged to the lines around the audited keys).
    static func nodeRecord(startup: String = "onboot", nops: Int = 0, replacement: Int = 86400) -> String {
        """
        # BEGIN RECORD 2.1.8
        node.name = \(target)
        node.tpgt = 1
        node.startup = \(startup)
        node.leading_login = No
        iface.iscsi_ifacename = default
        node.session.timeo.replacement_timeout = \(replacement)
        node.session.err_timeo.abort_timeout = 15
        node.conn[0].address = 10.0.0.1
        node.conn[0].port = 3260
        node.conn[0].startup = \(startup)
        node.conn[0].timeo.noop_out_interval = \(nops)
        node.conn[0].timeo.noop_out_timeout = \(nops)
        # END RECORD

        """
    }

    /// Upstream open-iscsi's iscsid.service (Arch, Fedora): no Conflicts=shutdown.target.
    static let upstreamISCSID = """
        [Unit]
        Description=Open-iSCSI
        DefaultDependencies=no
        After=network-online.target iscsiuio.service iscsi-init.service
        Before=remote-fs-pre.target

        [Service]
        Type=notify
        NotifyAccess=main
        ExecStart=/usr/bin/iscsid -f

        [Install]
        WantedBy=multi-user.target
        """

    static let route = """
        Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
        eth0\t00000000\tFE00000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
        eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0

        """

    /// The files of a correctly set up client: Arch-like (upstream units, systemd 256, networkd).
    static func goodFiles() throws -> [String: String] {
        [
            "etc/fstab": "# <fs> <dir> <type> <options> <dump> <pass>\nUUID=5a1e  /  ext4  rw,_netdev,x-systemd.requires=iscsid.service  0 1\n",
            "proc/1/comm": "systemd\n",
            "proc/1/cmdline": "/sbin/init\0",
            "proc/412/comm": "iscsid\n",
            "proc/412/cmdline": "/usr/bin/iscsid\0-f\0",
            "proc/net/route": route,
            "proc/sys/kernel/osrelease": "\(FixtureTree.kernelRelease)\n",
            "lib/modules/\(FixtureTree.kernelRelease)/modules.dep": "",
            "usr/lib/systemd/libsystemd-shared-256.so": "",
            "usr/lib/systemd/system/iscsid.service": upstreamISCSID,
            "usr/lib/systemd/system/iscsid.socket": "[Unit]\nDescription=Open-iSCSI iscsid Socket\n\n[Socket]\nListenStream=@ISCSIADM_ABSTRACT_NAMESPACE\n",
            "usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf": try shipped("systemd/iscsid.service.d/iscsi-rootd.conf"),
            "usr/lib/systemd/system/iscsid.socket.d/iscsi-rootd.conf": try shipped("systemd/iscsid.socket.d/iscsi-rootd.conf"),
            "usr/lib/systemd/system/iscsi-rootd.service": try shipped("systemd/iscsi-rootd.service"),
            "etc/systemd/network/50-iscsi-root.network": try shipped("systemd/examples/50-iscsi-root.network"),
            "etc/iscsi/iscsid.conf": "node.startup = manual\nnode.session.timeo.replacement_timeout = 120\n",
            "etc/iscsi/initiatorname.iscsi": "## DO NOT EDIT OR REMOVE THIS FILE!\nInitiatorName=iqn.1993-08.org.debian:01:23e54346c1cd\n",
            nodePath: nodeRecord(),
        ]
    }

    /// Runs `body` with `files` laid out in a fresh temporary directory, removed when `body` returns.
    static func withSystem<Result>(_ files: [String: String?], enabled: Bool = true,
                                   _ body: (FileTree) throws -> Result) throws -> Result {
        try TemporaryDirectory.with("audit") { path in try body(try layOut(files, enabled: enabled, in: path)) }
    }

    /// Lays `files` out under `path` (nil values are left out) plus the enablement link.
    static func layOut(_ files: [String: String?], enabled: Bool = true, in path: String) throws -> FileTree {
        let directory = URL(fileURLWithPath: path)
        for (path, contents) in files {
            guard let contents else { continue }
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
        if enabled {
            let wants = directory.appendingPathComponent("etc/systemd/system/sysinit.target.wants")
            try FileManager.default.createDirectory(at: wants, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: wants.appendingPathComponent("iscsi-rootd.service").path,
                                                       withDestinationPath: "/usr/lib/systemd/system/iscsi-rootd.service")
        }
        return FileTree(root: path)
    }

    @Test func theLaidOutSystemIsRemovedAfterUse() throws {
        let root = try Self.withSystem(try Self.goodFiles()) { system in
            #expect(access(system.path("etc/fstab"), F_OK) == 0)
            return system.root
        }
        #expect(access(root, F_OK) != 0, "\(root) was left behind")
    }

    static func session(recovery: RecoveryTimeout = .seconds(86400), nops: Int = 0, address: String = "10.0.0.1",
                        tpgt: Int = 1) -> ISCSISession {
        ISCSISession(
            number: 1, devpath: "/devices/platform/host2/session1", hostNumber: 2, state: .value(.loggedIn),
            targetState: .value("ENABLED"), targetName: .value(target), tpgt: .value(tpgt),
            recoveryTimeout: .value(recovery), ifaceName: .value("default"),
            initiatorName: .value("iqn.1993-08.org.debian:01:23e54346c1cd"), creator: .value(-1),
            connections: [ISCSIConnection(name: "connection1:0", state: .value(.up), persistentAddress: .value(address),
                                          persistentPort: .value(3260), pingTimeout: .value(nops), receiveTimeout: .value(nops))])
    }

    static func topology(session: ISCSISession = session(), timeout: Int = 90, scheduler: String = "[none] mq-deadline",
                         rootOnISCSI: Bool = true) -> Topology {
        let iscsiDisk = SCSIDevice(
            hctl: HCTL(host: 2, channel: 0, target: 0, lun: 0), devpath: "/devices/platform/host2/session1/target2:0:0/2:0:0:0",
            sessionNumber: 1, type: .value(0), state: .value(.running), timeout: .value(timeout), ehTimeout: .value(10),
            vendor: .value("LIO-ORG"), model: .value("FILEIO"),
            disk: BlockDisk(name: "sda", scheduler: .value(Scheduler(sysfs: scheduler)!), partitions: []))
        let localDisk = SCSIDevice(
            hctl: HCTL(host: 0, channel: 0, target: 0, lun: 0), devpath: "/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0",
            sessionNumber: nil, type: .value(0), state: .value(.running), timeout: .value(30), ehTimeout: .value(10),
            vendor: .value("ATA"), model: .value("QEMU HARDDISK"),
            disk: BlockDisk(name: "sdb", scheduler: .value(Scheduler(sysfs: "[mq-deadline] none")!), partitions: ["sdb1"]))
        let root = rootOnISCSI
            ? StorageChain(use: .root, source: "sda", fileSystem: "ext4", path: ["sda"], disks: ["sda"])
            : StorageChain(use: .root, source: "sdb1", fileSystem: "ext4", path: ["sdb1", "sdb"], disks: ["sdb"])
        return Topology(sessions: [session], hosts: [SCSIHost(number: 2, state: .value(.running), netdev: .unknown("not set"),
                                                               ipAddress: .value("10.0.0.2"))],
                        devices: [localDisk, iscsiDisk], chains: [root])
    }

    static func audit(_ files: [String: String?], enabled: Bool = true, topology: Topology = topology(),
                      portalRoute: PortalRoute? = nil) throws -> [AuditItem] {
        try withSystem(files, enabled: enabled) { system in
            BootChainAudit(system: system, topology: topology, policy: DiskPolicy(), portalRoute: portalRoute).run()
        }
    }

    /// The good files with some replaced (nil removes one).
    static func changed(_ changes: [String: String?]) throws -> [String: String?] {
        var files: [String: String?] = try goodFiles()
        for (path, contents) in changes { files[path] = contents }
        return files
    }

    static func item(_ id: String, _ items: [AuditItem]) throws -> AuditItem {
        try #require(items.first { $0.id == id })
    }

    /// Every other item stays ok: a variant breaks exactly one link.
    static func expectOnly(_ id: String, _ items: [AuditItem]) {
        let others = items.filter { $0.id != id && $0.verdict != .ok }
        #expect(others.isEmpty, "unexpected: \(others.map { "\($0.id): \($0.detail)" })")
    }

    // MARK: The good root

    @Test func goodRootPassesEveryItem() throws {
        let items = try Self.audit(try Self.goodFiles())
        #expect(items.map(\.id) == ["root", "fstab", "iscsid-running", "iscsid-shutdown", "network", "initramfs", "initiator-name", "node-record",
                                     "live-session", "disks", "swap", "service", "boot-files"])
        for item in items {
            #expect(item.verdict == .ok, "\(item.id): \(item.detail)")
            #expect(item.fix == nil)
        }
        #expect(AuditVerdict.worst(items.map(\.verdict)).exitCode == 0)
        #expect(try Self.item("root", items).detail.contains("sda via iqn.2003-01.org.example:root at 10.0.0.1:3260 (session1)"))
        #expect(try Self.item("network", items).detail.contains("eth0"))
    }

    @Test func rootNotOnISCSIStopsAfterSayingSo() throws {
        let items = try Self.audit(try Self.goodFiles(), topology: Self.topology(rootOnISCSI: false))
        #expect(items.count == 1)
        #expect(items[0].id == "root")
        #expect(items[0].verdict == .ok)
        #expect(items[0].detail.contains("/ is on sdb, not on an iSCSI disk"))
    }

    @Test func unreadableSysfsIsUnknown() throws {
        let topology = Topology(sessions: [], hosts: [], devices: [], chains: [], unreadable: "/nope/class does not exist")
        let items = try Self.audit(try Self.goodFiles(), topology: topology)
        #expect(items.map(\.verdict) == [.unknown])
        #expect(AuditVerdict.worst(items.map(\.verdict)).exitCode == 1)
    }

    // MARK: fstab

    @Test func fstabWithoutRequiresFails() throws {
        let items = try Self.audit(try Self.changed(["etc/fstab": "UUID=5a1e / ext4 defaults,_netdev 0 1\n"]))
        let fstab = try Self.item("fstab", items)
        #expect(fstab.verdict == .fail)
        #expect(fstab.detail.contains("without x-systemd.requires=iscsid.service"))
        #expect(fstab.fix?.contains("x-systemd.requires=iscsid.service") == true)
        #expect(AuditVerdict.worst(items.map(\.verdict)).exitCode == 2)
        Self.expectOnly("fstab", items)
    }

    @Test func fstabWithoutNetdevFails() throws {
        let items = try Self.audit(try Self.changed(["etc/fstab": "UUID=5a1e / ext4 x-systemd.requires=iscsid.service 0 1\n"]))
        #expect(try Self.item("fstab", items).detail.contains("without _netdev"))
        Self.expectOnly("fstab", items)
    }

    @Test func rootMountUnitInsteadOfFstab() throws {
        let good = try Self.audit(try Self.changed([
            "etc/fstab": "# no entry for /\n",
            "etc/systemd/system/-.mount": "[Unit]\nRequires=iscsid.service\nAfter=iscsid.service\n\n[Mount]\nWhat=/dev/disk/by-uuid/5a1e\nWhere=/\nOptions=rw,_netdev\n",
        ]))
        #expect(try Self.item("fstab", good).verdict == .ok)
        let missing = try Self.audit(try Self.changed(["etc/fstab": nil]))
        #expect(try Self.item("fstab", missing).verdict == .fail)
        Self.expectOnly("fstab", missing)
    }

    // MARK: iscsid

    @Test func iscsidNotRunningFails() throws {
        let items = try Self.audit(try Self.changed(["proc/412/comm": nil, "proc/412/cmdline": nil]))
        let running = try Self.item("iscsid-running", items)
        #expect(running.verdict == .fail)
        #expect(running.fix == "systemctl enable --now iscsid.service")
        Self.expectOnly("iscsid-running", items)
    }

    @Test func debianUnitWithConflictsShutdownFailsEvenWithTheDropIn() throws {
        let debian = """
            [Unit]
            Description=iSCSI initiator daemon (iscsid)
            Wants=network-online.target remote-fs-pre.target
            Before=remote-fs-pre.target
            After=network.target network-online.target
            DefaultDependencies=no
            Conflicts=shutdown.target
            Before=shutdown.target

            [Service]
            Type=forking
            PIDFile=/run/iscsid.pid
            ExecStart=/sbin/iscsid
            """
        let items = try Self.audit(try Self.changed(["usr/lib/systemd/system/iscsid.service": debian]))
        let shutdown = try Self.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .fail)
        #expect(shutdown.detail.contains("Conflicts=shutdown.target (/usr/lib/systemd/system/iscsid.service)"))
        #expect(shutdown.fix?.contains("/etc/systemd/system/iscsid.service") == true)
        Self.expectOnly("iscsid-shutdown", items)

        // The whole-unit override shipped as an example fixes it.
        let overridden = try Self.audit(try Self.changed([
            "usr/lib/systemd/system/iscsid.service": debian,
            "etc/systemd/system/iscsid.service": try Self.shipped("systemd/examples/iscsid.service"),
        ]))
        #expect(try Self.item("iscsid-shutdown", overridden).verdict == .ok)
    }

    @Test func withoutTheDropInIscsidDiesInTheFinalKill() throws {
        let items = try Self.audit(try Self.changed(["usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf": nil]))
        let shutdown = try Self.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .warn)
        #expect(shutdown.detail.contains("final SIGTERM/SIGKILL"))
        #expect(shutdown.fix?.contains("SurviveFinalKillSignal=yes") == true)
        Self.expectOnly("iscsid-shutdown", items)
    }

    @Test func socketWithDefaultDependenciesWarns() throws {
        let items = try Self.audit(try Self.changed(["usr/lib/systemd/system/iscsid.socket.d/iscsi-rootd.conf": nil]))
        let shutdown = try Self.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .warn)
        #expect(shutdown.detail.contains("iscsid.socket keeps its default dependencies"))
        Self.expectOnly("iscsid-shutdown", items)
    }

    @Test func olderSystemdIgnoresSurviveFinalKillSignal() throws {
        let items = try Self.audit(try Self.changed([
            "usr/lib/systemd/libsystemd-shared-256.so": nil, "usr/lib/systemd/libsystemd-shared-252.so": "",
        ]))
        let shutdown = try Self.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .warn)
        #expect(shutdown.detail.contains("systemd 252 ignores it"))
        #expect(shutdown.fix?.contains("@iscsid") == true)
        Self.expectOnly("iscsid-shutdown", items)
    }

    @Test func atArgvZeroSurvivesWithoutTheDropIn() throws {
        let items = try Self.audit(try Self.changed([
            "usr/lib/systemd/libsystemd-shared-256.so": nil, "usr/lib/systemd/libsystemd-shared-252.so": "",
            "usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf": nil,
            "proc/412/cmdline": "@iscsid\0-f\0",
        ]))
        let shutdown = try Self.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .ok)
        #expect(shutdown.detail.contains("runs as @iscsid"))
        #expect(try Self.item("iscsid-running", items).verdict == .ok)
    }

    // MARK: network

    @Test func networkdWithoutKeepConfigurationFails() throws {
        let items = try Self.audit(try Self.changed([
            "etc/systemd/network/50-iscsi-root.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
        ]))
        let network = try Self.item("network", items)
        #expect(network.verdict == .fail)
        #expect(network.detail.contains("eth0 carries session1 and is managed by /etc/systemd/network/50-iscsi-root.network"))
        #expect(network.fix?.contains("KeepConfiguration=yes") == true)
        Self.expectOnly("network", items)
    }

    @Test func firstMatchingNetworkFileDecides() throws {
        // 10-all.network sorts first and matches en* and eth*; the good 50- file is never used.
        let items = try Self.audit(try Self.changed([
            "usr/lib/systemd/network/10-all.network": "[Match]\nName=en* eth[0-9]\n\n[Network]\nDHCP=yes\n",
        ]))
        #expect(try Self.item("network", items).detail.contains("/usr/lib/systemd/network/10-all.network"))
        Self.expectOnly("network", items)
    }

    @Test func anEmptyNetworkFileOrALinkToDevNullMasksItsNameAndMatchesNothing() throws {
        // The empty /etc file masks the /usr/lib one of its name (which would match eth0 and fail)
        // and applies to no interface itself: the good 50- file decides, as in networkd.
        let all = "[Match]\nName=en* eth[0-9]\n\n[Network]\nDHCP=yes\n"
        let items = try Self.audit(try Self.changed([
            "etc/systemd/network/10-all.network": "",
            "usr/lib/systemd/network/10-all.network": all,
        ]))
        let network = try Self.item("network", items)
        #expect(network.verdict == .ok, "\(network.detail)")
        #expect(network.detail.contains("managed by /etc/systemd/network/50-iscsi-root.network"), "\(network.detail)")

        let linked = try Self.withSystem(try Self.changed(["usr/lib/systemd/network/10-all.network": all])) { system in
            #expect(symlink("/dev/null", system.path("etc/systemd/network/10-all.network")) == 0)
            return BootChainAudit(system: system, topology: Self.topology(), policy: DiskPolicy()).run()
        }
        #expect(try Self.item("network", linked).verdict == .ok)
    }

    @Test func networkFilesUnderUsrLocalCountAndEtcOverridesThem() throws {
        // networkd reads /usr/local/lib/systemd/network too (an admin or a local package may put the file there).
        let local = "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n"
        let items = try Self.audit(try Self.changed([
            "etc/systemd/network/50-iscsi-root.network": nil,
            "usr/local/lib/systemd/network/50-iscsi-root.network": local,
        ]))
        let network = try Self.item("network", items)
        #expect(network.verdict == .fail)
        #expect(network.detail.contains("managed by /usr/local/lib/systemd/network/50-iscsi-root.network"))
        // A name in /usr/local/lib hides the same name in /usr/lib, as in networkd.
        let overridden = try Self.audit(try Self.changed([
            "usr/local/lib/systemd/network/50-iscsi-root.network": local,
            "usr/lib/systemd/network/40-eth.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
            "usr/local/lib/systemd/network/40-eth.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\nKeepConfiguration=yes\n",
        ]))
        let kept = try Self.item("network", overridden)
        #expect(kept.verdict == .ok)
        #expect(kept.detail.contains("managed by /usr/local/lib/systemd/network/40-eth.network"))
    }

    /// The firmware booted the good root: its target, portal and the session's initiator, through eth0.
    static func firmwareFiles(dhcp: Bool = true) -> [String: String?] {
        var fixture = IBFTFixture()
        fixture.target = target
        fixture.address = "10.0.0.1"
        fixture.port = 3260
        fixture.initiator = "iqn.1993-08.org.debian:01:23e54346c1cd"
        fixture.nicAddress = "10.0.0.2"
        fixture.dhcp = dhcp
        return fixture.systemFiles.mapValues { Optional($0) }
    }

    @Test func ibftUnmanagedVariantMatchesTheFirmwaresNICByMAC() throws {
        let items = try Self.audit(try Self.changed(Self.firmwareFiles().merging([
            "etc/systemd/network/50-iscsi-root.network": nil,
            "etc/systemd/network/40-ibft.network": try Self.shipped("systemd/examples/50-iscsi-root-ibft.network"),
        ]) { $1 }))
        let network = try Self.item("network", items)
        #expect(network.verdict == .ok, "\(network.detail)")
        #expect(network.detail.contains("eth0 carries session1 and is managed by /etc/systemd/network/40-ibft.network with Unmanaged=yes"))
        #expect(network.detail.contains("the firmware booted through iBFT ethernet0: eth0 (52:54:00:12:34:56) 10.0.0.2/24 by DHCP from 10.0.0.1"))
    }

    @Test func theWikisNameIbftMatchesNothingWhereTheKernelNamedTheNIC() throws {
        // The kernel (and mkinitcpio, initramfs-tools) keep the NIC's name; only dracut's ip=ibft renames it ibft0.
        let wiki = "[Match]\nName=ibft*\n\n[Network]\nKeepConfiguration=yes\n"
        let items = try Self.audit(try Self.changed(Self.firmwareFiles().merging([
            "etc/systemd/network/40-ibft.network": wiki,
        ]) { $1 }))
        let network = try Self.item("network", items)
        #expect(network.verdict == .warn)
        #expect(network.detail.contains("/etc/systemd/network/40-ibft.network matches Name=ibft*, which no interface here is called"))
        #expect(network.fix?.contains("[Match] MACAddress=52:54:00:12:34:56 instead of Name=") == true)
        Self.expectOnly("network", items)
        // Where dracut renamed it, the same file matches and protects the root.
        let renamed = try Self.audit(try Self.changed(Self.firmwareFiles().merging([
            "proc/net/route": Self.route.replacingOccurrences(of: "eth0", with: "ibft0"),
            "sys/class/net/eth0/address": nil,
            "sys/class/net/ibft0/address": "52:54:00:12:34:56\n",
            "etc/systemd/network/40-ibft.network": wiki,
            "etc/systemd/network/50-iscsi-root.network": nil,
        ]) { $1 }))
        let kept = try Self.item("network", renamed)
        #expect(kept.verdict == .ok, "\(kept.detail)")
        #expect(kept.detail.contains("ibft0 carries session1 and is managed by /etc/systemd/network/40-ibft.network"))
    }

    @Test func withoutARouteTheFirmwaresNICIsJudged() throws {
        let items = try Self.audit(try Self.changed(Self.firmwareFiles().merging(["proc/net/route": nil]) { $1 }))
        let network = try Self.item("network", items)
        #expect(network.verdict == .ok, "\(network.detail)")
        #expect(network.detail.hasPrefix("eth0 carries session1 and is managed by /etc/systemd/network/50-iscsi-root.network"))
        let without = try Self.audit(try Self.changed(["proc/net/route": nil]))
        #expect(try Self.item("network", without).verdict == .unknown)
    }

    @Test func networkManagerIsUnknown() throws {
        let items = try Self.audit(try Self.changed([
            "etc/systemd/network/50-iscsi-root.network": nil,
            "proc/733/comm": "NetworkManager\n", "proc/733/cmdline": "/usr/sbin/NetworkManager\0--no-daemon\0",
        ]))
        let network = try Self.item("network", items)
        #expect(network.verdict == .unknown)
        #expect(network.detail.contains("NetworkManager"))
        #expect(AuditVerdict.worst(items.map(\.verdict)).exitCode == 1)
        Self.expectOnly("network", items)
    }

    /// The good files with NetworkManager running instead of networkd, plus `files`.
    static func networkManager(_ files: [String: String?]) throws -> [String: String?] {
        try changed(files.merging([
            "etc/systemd/network/50-iscsi-root.network": nil,
            "proc/733/comm": "NetworkManager\n", "proc/733/cmdline": "/usr/sbin/NetworkManager\0--no-daemon\0",
        ]) { a, _ in a })
    }

    @Test func networkManagerLeavingTheInterfaceAlonePasses() throws {
        for (path, text) in [
            ("etc/NetworkManager/conf.d/iscsi-root.conf", "[keyfile]\nunmanaged-devices=mac:00:11:22:33:44:55;interface-name:eth*\n"),
            ("etc/NetworkManager/NetworkManager.conf", "[main]\nplugins=keyfile\n\n[device-root]\nmatch-device=interface-name:eth0\nmanaged=0\n"),
        ] {
            let items = try Self.audit(try Self.networkManager([path: text]))
            let network = try Self.item("network", items)
            #expect(network.verdict == .ok, "\(network.detail)")
            #expect(network.detail.contains("NetworkManager leaves it alone") && network.detail.contains("/\(path)"))
            Self.expectOnly("network", items)
        }
    }

    @Test func networkManagerProfiles() throws {
        let profile = "etc/NetworkManager/system-connections/root.nmconnection"
        func network(_ ipv4: String) throws -> AuditItem {
            try Self.item("network", try Self.audit(try Self.networkManager([
                profile: "[connection]\nid=root\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\n\(ipv4)\n",
            ])))
        }
        // The session's own address is the host's ipaddress, 10.0.0.2.
        let manual = try network("method=manual\naddress1=10.0.0.2/24,10.0.0.254")
        #expect(manual.verdict == .ok && manual.detail.contains("a static address"), "\(manual.detail)")
        let other = try network("method=manual\naddress1=10.0.0.9/24")
        #expect(other.verdict == .warn && other.detail.contains("not the session's 10.0.0.2"), "\(other.detail)")
        let dhcp = try network("method=auto")
        #expect(dhcp.verdict == .warn && dhcp.detail.contains("DHCP, a renewal can hand out another address"), "\(dhcp.detail)")
        #expect(dhcp.fix?.contains("unmanaged-devices=interface-name:eth0") == true)
        let off = try Self.item("network", try Self.audit(try Self.networkManager([
            "etc/NetworkManager/conf.d/keep.conf": "[device]\nkeep-configuration=no\n",
        ])))
        #expect(off.verdict == .fail && off.detail.contains("keep-configuration=no"), "\(off.detail)")
    }

    @Test func ifupdownStaticPassesAndDHCPWarns() throws {
        let noNetworkd: [String: String?] = ["etc/systemd/network/50-iscsi-root.network": nil]
        let dhcp = try Self.item("network", try Self.audit(try Self.changed(noNetworkd.merging([
            "etc/network/interfaces": "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n",
        ]) { a, _ in a })))
        #expect(dhcp.verdict == .warn && dhcp.detail.contains("/etc/network/interfaces (inet dhcp)"), "\(dhcp.detail)")
        let fixed = try Self.item("network", try Self.audit(try Self.changed(noNetworkd.merging([
            "etc/network/interfaces.d/eth0": "iface eth0 inet static\n  address 10.0.0.2/24\n",
        ]) { a, _ in a })))
        #expect(fixed.verdict == .ok, "\(fixed.detail)")
    }

    @Test func networkdStaticAddressMustBeTheSessions() throws {
        func network(_ address: String) throws -> AuditItem {
            try Self.item("network", try Self.audit(try Self.changed([
                "etc/systemd/network/50-iscsi-root.network": "[Match]\nName=eth0\n\n[Network]\nAddress=\(address)\nKeepConfiguration=static\n",
            ])))
        }
        #expect(try network("10.0.0.2/24").verdict == .ok)
        let other = try network("10.0.0.7/24")
        #expect(other.verdict == .warn && other.detail.contains("is not the session's 10.0.0.2"), "\(other.detail)")
    }

    @Test func theKernelsRouteWinsOverTheMainTable() throws {
        // /proc/net/route says eth0; a policy rule sends the portal through eth1, which nothing manages.
        let items = try Self.audit(try Self.goodFiles(), portalRoute: .interface("eth1"))
        #expect(try Self.item("network", items).detail.hasPrefix("eth1 carries session1"))
        let none = try Self.item("network", try Self.audit(try Self.goodFiles(), portalRoute: .unknown("no route (ENETUNREACH)")))
        #expect(none.verdict == .unknown && none.detail.contains("no route (ENETUNREACH)"))
    }

    @Test func swapOnAnISCSIDiskWarns() throws {
        let base = Self.topology()
        let topology = Topology(sessions: base.sessions, hosts: base.hosts, devices: base.devices,
                                chains: base.chains + [StorageChain(use: .swap, source: "sda", fileSystem: "swap", path: ["sda"], disks: ["sda"])])
        let items = try Self.audit(try Self.goodFiles(), topology: topology)
        let swap = try Self.item("swap", items)
        #expect(swap.verdict == .warn && swap.detail.hasPrefix("swap on sda (session1): "), "\(swap.detail)")
        #expect(swap.fix?.hasPrefix("swapoff sda") == true)
        Self.expectOnly("swap", items)
    }

    @Test func ipv6PortalIsRoutedThroughIPv6Table() throws {
        let ipv6Route = """
            fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0

            """
        let items = try Self.audit(try Self.changed(["proc/net/ipv6_route": ipv6Route]),
                                   topology: Self.topology(session: Self.session(address: "fd00::10")))
        // eth1 holds the portal's /64; no .network file matches eth1.
        #expect(try Self.item("network", items).detail.contains("eth1 carries session1; no systemd-networkd .network file, NetworkManager or /etc/network/interfaces stanza manages it"))
    }

    // MARK: node record

    @Test func nodeStartupManualFails() throws {
        let items = try Self.audit(try Self.changed([Self.nodePath: Self.nodeRecord(startup: "manual")]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .fail)
        #expect(node.detail.contains("node.startup = manual"))
        #expect(node.fix == "iscsiadm -m node -T \(Self.target) -p 10.0.0.1:3260 -o update -n node.startup -v onboot")
        Self.expectOnly("node-record", items)
    }

    @Test func nodeNOPsOnWarns() throws {
        let items = try Self.audit(try Self.changed([Self.nodePath: Self.nodeRecord(nops: 5)]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .warn)
        #expect(node.detail.contains("node.conn[0].timeo.noop_out_interval = 5"))
        #expect(node.fix?.contains("-n node.conn[0].timeo.noop_out_timeout -v 0") == true)
        Self.expectOnly("node-record", items)
    }

    @Test func shortReplacementTimeoutFails() throws {
        let items = try Self.audit(try Self.changed([Self.nodePath: Self.nodeRecord(replacement: 120)]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .fail)
        #expect(node.fix?.contains("-n node.session.timeo.replacement_timeout -v 86400") == true)
        Self.expectOnly("node-record", items)
    }

    @Test func withoutNodeRecordIscsidConfDefaultsApply() throws {
        let items = try Self.audit(try Self.changed([Self.nodePath: nil]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .fail)
        #expect(node.detail.contains("no node record"))
        #expect(node.detail.hasPrefix("/etc/iscsi/iscsid.conf: "))
        #expect(node.detail.contains("iscsid adopts the session when it starts, with /etc/iscsi/iscsid.conf's defaults"))
        #expect(node.detail.contains("node.session.timeo.replacement_timeout = 120"))
        // iscsiadm --logoutall skips a session it finds no record for: iscsid.conf's node.startup is not the session's.
        #expect(!node.detail.contains("node.startup"))
        #expect(node.fix?.hasPrefix("iscsiadm -m node -o new -T \(Self.target) -p 10.0.0.1:3260, then") == true)
        Self.expectOnly("node-record", items)
    }

    @Test func theFirmwaresRootWithoutRecordIsToldToRecordItFromTheIBFT() throws {
        let items = try Self.audit(try Self.changed(Self.firmwareFiles().merging([Self.nodePath: nil]) { $1 }))
        let node = try Self.item("node-record", items)
        #expect(node.detail.contains("the session is the firmware's (iBFT target0, logged in by iscsistart -b or the initramfs)"))
        #expect(node.fix?.hasPrefix("iscsiadm -m discovery -t fw (records the iBFT's targets, tpgt 1, node.discovery_type = fw)") == true)
        // A tpgt other than 1: the record -t fw writes is not the one iscsid reads.
        let other = AuditTests.session(tpgt: 2)
        let items2 = try Self.audit(try Self.changed(Self.firmwareFiles().merging([Self.nodePath: nil]) { $1 }),
                                    topology: Self.topology(session: other))
        #expect(try Self.item("node-record", items2).fix?.hasPrefix("iscsiadm -m node -o new -T \(Self.target) -p 10.0.0.1:3260,2 (iscsiadm -m discovery -t fw would write tpgt 1") == true)
    }

    @Test func aFirmwareRecordIsNeverLoggedOutWhateverItsStartup() throws {
        let record = Self.nodeRecord(startup: "manual") + "node.discovery_type = fw\n"
        let items = try Self.audit(try Self.changed([Self.nodePath: record]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .ok, "\(node.detail)")
        #expect(node.detail.contains("node.discovery_type = fw: --logoutall leaves it"))
        let manual = try Self.audit(try Self.changed([Self.nodePath: Self.nodeRecord(startup: "manual")]))
        #expect(try Self.item("node-record", manual).verdict == .fail)
    }

    @Test func aRecordUnderAnotherTpgtIsNotTheSessions() throws {
        // iscsid reads only address,port or address,port,<the session's tpgt> (idbm_rec_read).
        let other = "etc/iscsi/nodes/\(Self.target)/10.0.0.1,3260,2/default"
        let items = try Self.audit(try Self.changed([Self.nodePath: nil, other: Self.nodeRecord()]))
        let node = try Self.item("node-record", items)
        #expect(node.verdict == .fail)
        #expect(node.detail.contains("(/\(other.dropLast(8)) is for another tpgt: iscsid never reads it)"))
    }

    @Test func legacySingleFileRecordIsFound() throws {
        let legacy = "var/lib/iscsi/nodes/\(Self.target)/10.0.0.1,3260,1"
        let items = try Self.audit(try Self.changed([Self.nodePath: nil, legacy: Self.nodeRecord()]))
        #expect(try Self.item("node-record", items).detail.contains("/\(legacy)"))
        #expect(try Self.item("node-record", items).verdict == .ok)
    }

    @Test func recordMadeWithoutDiscoveryIsASingleFileAndIsFound() throws {
        // `iscsiadm -m node -o new -T … -p …` (the fix `check` prints) does not know the tpgt and writes
        // the old single file `address,port` (open-iscsi 2.1.8, seen in the e2e guest).
        let manual = "etc/iscsi/nodes/\(Self.target)/10.0.0.1,3260"
        let items = try Self.audit(try Self.changed([Self.nodePath: nil, manual: Self.nodeRecord()]))
        #expect(try Self.item("node-record", items).detail.contains("/\(manual)"))
        #expect(try Self.item("node-record", items).verdict == .ok)
    }

    // MARK: live session, disks, service

    @Test func liveRecoveryTimeoutTooShortFails() throws {
        let items = try Self.audit(try Self.goodFiles(), topology: Self.topology(session: Self.session(recovery: .seconds(120))))
        let live = try Self.item("live-session", items)
        #expect(live.verdict == .fail)
        #expect(live.fix?.hasPrefix("echo 86400 > /sys/class/iscsi_session/session1/recovery_tmo") == true)
        Self.expectOnly("live-session", items)
    }

    @Test func liveRecoveryOffIsFineAndLiveNOPsWarn() throws {
        let off = try Self.audit(try Self.goodFiles(), topology: Self.topology(session: Self.session(recovery: .off)))
        #expect(try Self.item("live-session", off).verdict == .ok)
        let nops = try Self.audit(try Self.goodFiles(), topology: Self.topology(session: Self.session(nops: 5)))
        #expect(try Self.item("live-session", nops).verdict == .warn)
        #expect(try Self.item("live-session", nops).detail.contains("connection1:0 has NOPs on (ping_tmo 5 recv_tmo 5)"))
        Self.expectOnly("live-session", nops)
    }

    @Test func untunedDiskWarnsAndLocalDisksAreIgnored() throws {
        let items = try Self.audit(try Self.goodFiles(), topology: Self.topology(timeout: 30, scheduler: "[mq-deadline] none"))
        let disks = try Self.item("disks", items)
        #expect(disks.verdict == .warn)
        #expect(disks.detail == "sda device/timeout is 30 s, not 90; sda scheduler is mq-deadline, not none")
        #expect(!disks.detail.contains("sdb"))
        Self.expectOnly("disks", items)
    }

    @Test func serviceNotEnabledWarns() throws {
        let items = try Self.audit(try Self.goodFiles(), enabled: false)
        let service = try Self.item("service", items)
        #expect(service.verdict == .warn)
        #expect(service.fix == "systemctl enable --now iscsi-rootd.service")
        Self.expectOnly("service", items)
    }

    @Test func maskedServiceFails() throws {
        let items = try Self.audit(try Self.changed(["etc/systemd/system/iscsi-rootd.service": ""]))
        #expect(try Self.item("service", items).verdict == .fail)
        Self.expectOnly("service", items)
    }

    // MARK: verdicts and formats

    @Test func worstVerdictAndExitCodes() {
        #expect(AuditVerdict.worst([]) == .ok)
        #expect(AuditVerdict.worst([.ok, .unknown, .ok]) == .unknown)
        #expect(AuditVerdict.worst([.unknown, .warn]) == .warn)
        #expect(AuditVerdict.worst([.warn, .fail, .ok]) == .fail)
        #expect([AuditVerdict.ok, .unknown, .warn, .fail].map(\.exitCode) == [0, 1, 1, 2])
    }

    @Test func unitFileContinuationsCommentsAndSections() {
        let file = UnitFile(path: "/x", text: "# c\n[Unit]\nConflicts=a.target \\\n  shutdown.target\n; d\n[Service]\nExecStart=/bin/true\n")
        let unit = LoadedUnit(name: "x.service", fragment: file, dropIns: [])
        #expect(unit.listEntries("Unit", "Conflicts").map(\.word) == ["a.target", "shutdown.target"])
        #expect(file.values("Service", "ExecStart") == ["/bin/true"])
        #expect(file.values("Unit", "ExecStart").isEmpty)
    }

    @Test func ipAddressParsing() {
        #expect(IPAddress.parse("10.0.0.1") == [10, 0, 0, 1])
        #expect(IPAddress.parse("[fd00::1]") == [0xfd, 0] + Array(repeating: 0, count: 13) + [1])
        #expect(IPAddress.parse("::1") == IPAddress.ipv6Loopback)
        #expect(IPAddress.parse("1:2:3:4:5:6:7:8")?.count == 16)
        #expect(IPAddress.parse("10.0.0") == nil)
        #expect(IPAddress.parse("1::2::3") == nil)
        #expect(IPAddress.parse("host.example") == nil)
    }

    @Test func globs() {
        #expect(Glob.matchesList(["en*", "eth[0-9]"], "eth0"))
        #expect(!Glob.matchesList(["en*", "eth[0-9]"], "eth10"))
        #expect(!Glob.matchesList(["!eth*"], "eth0"))
        #expect(Glob.matchesList(["!eth*"], "ibft0"))
        #expect(Glob.matches("ibft?", "ibft0"))
    }
}
