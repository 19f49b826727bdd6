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

    @Test func mkinitcpiosSystemdHookNeedsSdIscsi() throws {
        let busyboxHook = try Self.initramfs([
            "etc/mkinitcpio.conf": "HOOKS=(base systemd autodetect block iscsi filesystems)\n",
            "usr/lib/initcpio/hooks/iscsi": try AuditTests.shipped("packaging/arch/initcpio/hooks/iscsi"),
        ])
        #expect(busyboxHook.verdict == .warn)
        #expect(busyboxHook.detail.contains("mkinitcpio (systemd hook, HOOKS in /etc/mkinitcpio.conf): HOOKS names iscsi, whose runtime hook runs only in the busybox init"))
        #expect(busyboxHook.fix?.contains("put sd-iscsi after block in HOOKS in /etc/mkinitcpio.conf") == true)

        let none = try Self.initramfs(["etc/mkinitcpio.conf": "HOOKS=(base systemd autodetect block filesystems)\n"])
        #expect(none.verdict == .warn)
        #expect(none.detail.contains("has no sd-iscsi hook"))

        let notInstalled = try Self.initramfs(["etc/mkinitcpio.conf": "HOOKS=(base systemd block sd-iscsi filesystems)\n"])
        #expect(notInstalled.verdict == .warn)
        #expect(notInstalled.detail.contains("install/sd-iscsi or hooks/iscsi is not installed"))
    }

    @Test func mkinitcpiosSystemdHookWithTheShippedSdIscsiPasses() throws {
        let files: [String: String?] = [
            "etc/mkinitcpio.conf": "HOOKS=(base systemd autodetect modconf block sd-iscsi filesystems fsck)\n",
            "etc/initcpio/install/sd-iscsi": try AuditTests.shipped("packaging/arch/initcpio/install/sd-iscsi"),
            "etc/initcpio/hooks/iscsi": try AuditTests.shipped("packaging/arch/initcpio/hooks/iscsi"),
        ]
        let shipped = try Self.initramfs(files)
        #expect(shipped.verdict == .ok, "\(shipped.detail)")
        #expect(shipped.detail.contains("mkinitcpio (systemd hook, HOOKS in /etc/mkinitcpio.conf): /etc/initcpio/install/sd-iscsi running the login of /etc/initcpio/hooks/iscsi"))

        // The login code is what counts: a hooks/iscsi without -P settings warns.
        let old = try Self.initramfs(files.merging(["etc/initcpio/hooks/iscsi": "run_hook() {\n    iscsistart -t \"$iscsi_target_name\"\n}\n"]) { $1 })
        #expect(old.verdict == .warn)
        #expect(old.detail.contains("noop_out_interval not set"))
        #expect(old.fix?.contains("make install-initcpio") == true)
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

    /// A hostonly image (dracut -f on a client booted from the disk) keeps netroot= in its own
    /// /etc/cmdline.d: the live command line has no dracut word, the installed dracut made the image.
    @Test func anInstalledDracutIsJudgedWithoutNetrootOnTheCommandLine() throws {
        let dracut = ["proc/cmdline": "BOOT_IMAGE=/vmlinuz-6.1 root=UUID=1234 ro\n",
                      "usr/lib/dracut/modules.d/95iscsi/module-setup.sh": "check() { :; }\n"]
        let bare = try Self.initramfs(dracut)
        #expect(bare.verdict == .warn, "\(bare.detail)")
        #expect(bare.detail.hasPrefix("dracut (iscsi module)"))
        #expect(bare.detail.contains("noop_out_interval not set (iscsiadm's default 5)"))

        let shipped = try Self.initramfs(dracut.merging(
            ["etc/dracut.conf.d/iscsi-rootd.conf": try AuditTests.shipped("initramfs/dracut-iscsi-rootd.conf")]) { $1 })
        #expect(shipped.verdict == .ok, "\(shipped.detail)")
    }

    /// dracut reads /etc/dracut.conf, then the drop-ins by name (/etc replacing /usr/lib's file of the same
    /// name; iscsi-rootd.conf before site.conf), then the boot's command line; comments count for nothing.
    @Test func dracutsOrderDecidesWhichSettingWins() throws {
        let base = ["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
                    "etc/dracut.conf.d/iscsi-rootd.conf": try AuditTests.shipped("initramfs/dracut-iscsi-rootd.conf")]
        let later = try Self.initramfs(base.merging(["etc/dracut.conf.d/site.conf":
            "kernel_cmdline+=\" rd.iscsi.param=node.session.timeo.replacement_timeout=120 \"\n"]) { $1 })
        #expect(later.verdict == .warn)
        #expect(later.detail.contains("node.session.timeo.replacement_timeout = 120"))
        #expect(later.detail.contains("/etc/dracut.conf.d/site.conf"))

        let cmdlineWins = try Self.initramfs(base.merging(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot) rd.iscsi.param=node.conn[0].timeo.noop_out_timeout=5\n"]) { $1 })
        #expect(cmdlineWins.verdict == .warn)
        #expect(cmdlineWins.detail.contains("noop_out_timeout = 5"))

        let replaced = try Self.initramfs(base.merging([
            "usr/lib/dracut/dracut.conf.d/50-iscsi.conf": "kernel_cmdline+=\" rd.iscsi.param=node.conn[0].timeo.noop_out_interval=5 \"\n",
            "etc/dracut.conf.d/50-iscsi.conf": "# replaced: kernel_cmdline+=\" rd.iscsi.param=node.conn[0].timeo.noop_out_interval=5 \"\n",
        ]) { $1 })
        #expect(replaced.verdict == .ok, "\(replaced.detail)")

        let inMainConfig = try Self.initramfs(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
                                               "etc/dracut.conf": try AuditTests.shipped("initramfs/dracut-iscsi-rootd.conf")])
        #expect(inMainConfig.verdict == .ok, "\(inMainConfig.detail)")
        #expect(inMainConfig.detail.contains("/etc/dracut.conf gives"))
    }

    /// dracut sources its configuration as shell: `kernel_cmdline=` (no `+`) in a later file replaces
    /// what earlier files set, so the rd.iscsi.param= they carried never reach the image.
    @Test func aLaterPlainKernelCmdlineAssignmentReplacesTheEarlierSettings() throws {
        let base = ["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
                    "etc/dracut.conf.d/iscsi-rootd.conf": try AuditTests.shipped("initramfs/dracut-iscsi-rootd.conf")]
        let replaced = try Self.initramfs(base.merging(["etc/dracut.conf.d/site.conf": "kernel_cmdline=\"ip=dhcp\"\n"]) { $1 })
        #expect(replaced.verdict == .warn, "\(replaced.detail)")
        #expect(replaced.detail.contains("node.session.timeo.replacement_timeout not set (iscsiadm's default 120)"))
        #expect(replaced.detail.contains("/etc/dracut.conf.d/site.conf"))
        #expect(!replaced.detail.contains("/etc/dracut.conf.d/iscsi-rootd.conf"))
        // site.conf is read after iscsi-rootd.conf: copying the example there again would not help.
        #expect(replaced.fix?.hasPrefix("add rd.iscsi.param=") == true, "\(replaced.fix ?? "")")
        #expect(replaced.fix?.contains("to kernel_cmdline= in /etc/dracut.conf.d/site.conf (read after /etc/dracut.conf.d/iscsi-rootd.conf") == true,
                "\(replaced.fix ?? "")")

        let mainReplaced = try Self.initramfs(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
                                               "etc/dracut.conf": "kernel_cmdline=\"\(Self.params)\"\n",
                                               "etc/dracut.conf.d/10-net.conf": "  kernel_cmdline='ip=dhcp'  # the site's network\n"])
        #expect(mainReplaced.verdict == .warn, "\(mainReplaced.detail)")
        // 10-net.conf is read before iscsi-rootd.conf: the example's kernel_cmdline+= would add to it.
        #expect(mainReplaced.fix?.hasPrefix("copy ") == true, "\(mainReplaced.fix ?? "")")

        // A replacement that carries the settings, and additions after it, still pass.
        let setAgain = try Self.initramfs(["proc/cmdline": "BOOT_IMAGE=/vmlinuz \(Self.netroot)\n",
                                           "etc/dracut.conf": "kernel_cmdline=\"rd.iscsi.param=node.session.timeo.replacement_timeout=120\"\n",
                                           "etc/dracut.conf.d/50-iscsi.conf": "kernel_cmdline=\"\(Self.params)\"\nkernel_cmdline+=\" ip=dhcp \"\n"])
        #expect(setAgain.verdict == .ok, "\(setAgain.detail)")
        #expect(!setAgain.detail.contains("/etc/dracut.conf "))
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

    @Test func initramfsToolsWithOpenIscsiLeftOutWarns() throws {
        let files: [String: String?] = [
            "etc/initramfs-tools/initramfs.conf": "MODULES=most\n",
            "etc/iscsi/iscsi.initramfs": try AuditTests.shipped("initramfs/iscsi.initramfs"),
            "etc/initramfs-tools/conf.d/open-iscsi": "# local\nNO_ISCSI_IN_INITRAMFS=\"yes\"\n",
        ]
        let left = try Self.initramfs(files)
        #expect(left.verdict == .warn)
        #expect(left.detail.contains("/etc/initramfs-tools/conf.d/open-iscsi sets NO_ISCSI_IN_INITRAMFS=yes"))
        #expect(left.fix?.hasPrefix("remove NO_ISCSI_IN_INITRAMFS=yes from /etc/initramfs-tools/conf.d/open-iscsi") == true)

        // Commented out or set back later: the hook puts the login in.
        let back = try Self.initramfs(files.merging(
            ["etc/initramfs-tools/conf.d/open-iscsi": "#NO_ISCSI_IN_INITRAMFS=yes\nNO_ISCSI_IN_INITRAMFS=yes\nNO_ISCSI_IN_INITRAMFS=no\n"]) { $1 })
        #expect(back.verdict == .ok, "\(back.detail)")
    }

    @Test func hooksArrays() {
        #expect(MkinitcpioConfig.hooksArray("HOOKS=(base udev)\n#HOOKS=(x)\nHOOKS=(\"base\" 'systemd' iscsi)\n")
            == ["base", "systemd", "iscsi"])
        #expect(MkinitcpioConfig.hooksArray("MODULES=()\n") == nil)
        #expect(MkinitcpioConfig.hooksArray("HOOKS=(base # comment\n  net iscsi\n)\n") == ["base", "net", "iscsi"])
    }
}
