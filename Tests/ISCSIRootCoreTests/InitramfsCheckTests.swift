import Testing
@testable import ISCSIRootCore

/// The `initramfs` item: what logged / in (mkinitcpio busybox or systemd, dracut, initramfs-tools), with
/// which settings, and the fix in that system's terms; the shipped pieces pass.
@Suite struct InitramfsCheckTests {
    static let netroot = "netroot=iscsi:10.0.0.1::3260:1:iqn.2003-01.org.example:root ip=10.0.0.2::10.0.0.254:255.255.255.0::eth0:off"
    static let params = "rd.iscsi.param=node.conn[0].timeo.noop_out_interval=0 rd.iscsi.param=node.conn[0].timeo.noop_out_timeout=0 rd.iscsi.param=node.session.timeo.replacement_timeout=86400"

    static func initramfs(_ changes: [String: String?]) throws -> AuditItem {
        try AuditTests.item("initramfs", try AuditTests.audit(try AuditTests.changed(changes)))
    }

    @Test func aHandMadeInitramfsIsLeftToLiveSession() throws {
        let item = try Self.initramfs([:])
        #expect(item.verdict == .ok)
        #expect(item.detail.contains("hand-made initramfs"))
    }

    @Test func mkinitcpioWithTheShippedHookPasses() throws {
        let conf = "# vim:set ft=sh\nMODULES=()\nHOOKS=(base udev autodetect microcode modconf\n       block iscsi # the root\n       filesystems fsck)\n"
        let item = try Self.initramfs([
            "etc/mkinitcpio.conf": conf,
            "usr/lib/initcpio/hooks/iscsi": try AuditTests.shipped("packaging/arch/initcpio/hooks/iscsi"),
        ])
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail.contains("mkinitcpio (busybox init, HOOKS in /etc/mkinitcpio.conf)"))
        #expect(item.detail.contains("/usr/lib/initcpio/hooks/iscsi"))
    }

    @Test func mkinitcpioWithAnotherHookOrNoneWarns() throws {
        let foreign = try Self.initramfs([
            "etc/mkinitcpio.conf": "HOOKS=(base udev block iscsi filesystems)\n",
            "etc/initcpio/hooks/iscsi": "run_hook() {\n    iscsistart -i \"$iscsi_initiator\" -t \"$iscsi_target_name\" -g 1 -a \"$iscsi_target_ip\"\n}\n",
        ])
        #expect(foreign.verdict == .warn)
        #expect(foreign.detail.contains("node.conn[0].timeo.noop_out_interval not set"))
        #expect(foreign.fix?.contains("make install-initcpio") == true)
        #expect(foreign.fix?.contains("mkinitcpio -P") == true)

        let without = try Self.initramfs(["etc/mkinitcpio.conf": "HOOKS=(base udev block filesystems)\n",
                                          "etc/mkinitcpio.conf.d/50-net.conf": "HOOKS=(base udev net block filesystems)\n"])
        #expect(without.verdict == .warn)
        #expect(without.detail.contains("HOOKS in /etc/mkinitcpio.conf.d/50-net.conf has no iscsi hook"))
    }

    @Test func mkinitcpiosSystemdHookIsNotCovered() throws {
        let item = try Self.initramfs(["etc/mkinitcpio.conf": "HOOKS=(base systemd autodetect block iscsi filesystems)\n"])
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("systemd hook"))
        #expect(item.fix?.contains("HOOKS=(base udev autodetect modconf block iscsi filesystems fsck) in /etc/mkinitcpio.conf") == true)
        #expect(item.fix?.contains("dracut-iscsi-rootd.conf") == true)
    }

    @Test func dracutReadsRdIscsiParamFromTheCommandLineOrItsConfig() throws {
        let onCmdline = try Self.initramfs(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot) \(Self.params)\n"])
        #expect(onCmdline.verdict == .ok, "\(onCmdline.detail)")
        #expect(onCmdline.detail.hasPrefix("dracut"))

        let inConfig = try Self.initramfs([
            "proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
            "etc/dracut.conf.d/iscsi-rootd.conf": try AuditTests.shipped("initramfs/dracut-iscsi-rootd.conf"),
        ])
        #expect(inConfig.verdict == .ok, "\(inConfig.detail)")
        #expect(inConfig.detail.contains("/etc/dracut.conf.d/iscsi-rootd.conf"))

        let bare = try Self.initramfs(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot) rd.iscsi.param=node.session.timeo.replacement_timeout=600\n"])
        #expect(bare.verdict == .warn)
        #expect(bare.detail.contains("node.session.timeo.replacement_timeout = 600"))
        #expect(bare.detail.contains("noop_out_interval not set (iscsiadm's default 5)"))
        #expect(bare.fix?.contains("/usr/share/doc/iscsi-rootd/examples/dracut-iscsi-rootd.conf to /etc/dracut.conf.d/") == true)
        #expect(bare.fix?.contains(Self.params) == true)
    }

    @Test func initramfsToolsNeedsTheShippedIscsiInitramfs() throws {
        let tools = ["etc/initramfs-tools/initramfs.conf": "MODULES=most\nBUSYBOX=auto\n"]
        let shipped = try Self.initramfs(tools.merging(
            ["etc/iscsi/iscsi.initramfs": try AuditTests.shipped("initramfs/iscsi.initramfs")]) { $1 })
        #expect(shipped.verdict == .ok, "\(shipped.detail)")
        #expect(shipped.detail.contains("Debian initramfs-tools"))

        let stock = try Self.initramfs(tools.merging(
            ["etc/iscsi/iscsi.initramfs": "ISCSI_TARGET_NAME=iqn.2003-01.org.example:root\nISCSI_TARGET_IP=10.0.0.1\n"]) { $1 })
        #expect(stock.verdict == .warn)
        #expect(stock.fix?.contains("update-initramfs -u") == true)

        let none = try Self.initramfs(tools)
        #expect(none.verdict == .warn)
        #expect(none.detail.contains("iscsistart logs in once with its defaults (NOPs 5/5 s, replacement_timeout 120 s)"))
    }

    @Test func hooksArrays() {
        #expect(MkinitcpioConfig.hooksArray("HOOKS=(base udev)\n#HOOKS=(x)\nHOOKS=(\"base\" 'systemd' iscsi)\n")
            == ["base", "systemd", "iscsi"])
        #expect(MkinitcpioConfig.hooksArray("MODULES=()\n") == nil)
        #expect(MkinitcpioConfig.hooksArray("HOOKS=(base # comment\n  net iscsi\n)\n") == ["base", "net", "iscsi"])
    }
}
