import Foundation
import Testing
@testable import ISCSIRootCore
import SysfsFixtures

/// The `boot-files` item: after a kernel upgrade or a configuration change on the root, says that the next
/// boot will not get what is installed, in the generator's terms (Arch with mkinitcpio presets, Debian with
/// initramfs-tools, dracut), and stays quiet on a netbooted client whose kernel lives on the boot server.
@Suite struct BootFilesCheckTests {
    static let running = "6.1.0-56-amd64"
    static let newer = "6.1.0-57-amd64"
    static let hour: Int64 = 3600
    static let base: Int64 = 1_790_000_000

    /// Lays out `files` (path → (contents, modification time)) and runs the item for `generator`.
    static func item(_ files: [String: (String, Int64)], generator: InitramfsSystem) throws -> AuditItem {
        try TemporaryDirectory.with("boot-files") { path in
            for (relative, (contents, time)) in files {
                let url = URL(fileURLWithPath: path).appendingPathComponent(relative)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try contents.write(to: url, atomically: false, encoding: .utf8)
                var times = [timespec(tv_sec: Int(time), tv_nsec: 0), timespec(tv_sec: Int(time), tv_nsec: 0)]
                #expect(utimensat(AT_FDCWD, url.path, &times, 0) == 0)
            }
            return BootFilesCheck(system: FileTree(root: path), generator: generator).item
        }
    }

    static func running(_ version: String = running) -> [String: (String, Int64)] {
        ["proc/sys/kernel/osrelease": ("\(version)\n", base)]
    }

    // MARK: Debian, initramfs-tools

    static func debian(modules: [String] = [running], kernels: [String] = [running],
                       image: Int64 = base + hour, config: Int64 = base) -> [String: (String, Int64)] {
        var files = running()
        for version in modules { files["lib/modules/\(version)/modules.dep"] = ("", base) }
        for version in kernels {
            files["boot/vmlinuz-\(version)"] = ("kernel", base)
            files["boot/initrd.img-\(version)"] = ("image", image)
        }
        files["etc/initramfs-tools/initramfs.conf"] = ("MODULES=most\n", base)
        files["etc/iscsi/iscsi.initramfs"] = ("ISCSI_TARGET_NAME=iqn.2003-01.org.example:root\n", config)
        return files
    }

    @Test func aCurrentDebianClientIsOkAndNamesWhatTheBootSourceNeeds() throws {
        let item = try Self.item(Self.debian(), generator: .initramfsTools)
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail.contains("running kernel 6.1.0-56-amd64, its modules in /lib/modules/6.1.0-56-amd64"))
        #expect(item.detail.contains("/boot/initrd.img-6.1.0-56-amd64 newer than initramfs-tools's configuration"))
        #expect(item.detail.contains("the boot source must get /boot/vmlinuz-6.1.0-56-amd64 and the image"))
        #expect(item.detail.contains("/etc/initramfs/post-update.d/"))
    }

    @Test func anImageOlderThanIscsiInitramfsWarnsWithTheRebuild() throws {
        let item = try Self.item(Self.debian(image: Self.base, config: Self.base + Self.hour), generator: .initramfsTools)
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("/boot/initrd.img-6.1.0-56-amd64 is older than /etc/iscsi/iscsi.initramfs"))
        #expect(item.fix?.contains("update-initramfs -u -k 6.1.0-56-amd64, then copy /boot/initrd.img-6.1.0-56-amd64 to the boot source") == true)
    }

    @Test func aNewerInstalledKernelWarnsWithTheFilesToCopy() throws {
        let item = try Self.item(Self.debian(modules: [Self.running, Self.newer], kernels: [Self.running, Self.newer]),
                                 generator: .initramfsTools)
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("installed kernel 6.1.0-57-amd64 is not the running 6.1.0-56-amd64"))
        #expect(item.detail.contains("/boot/vmlinuz-6.1.0-57-amd64 and /boot/initrd.img-6.1.0-57-amd64"))
    }

    @Test func aMissingImageWarns() throws {
        var files = Self.debian()
        files["boot/initrd.img-\(Self.running)"] = nil
        let item = try Self.item(files, generator: .initramfsTools)
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("initramfs-tools's image /boot/initrd.img-6.1.0-56-amd64 is missing"))
    }

    // MARK: Arch, mkinitcpio

    static let preset = """
        # mkinitcpio preset file for the 'linux' package
        ALL_kver="/boot/vmlinuz-linux"
        PRESETS=('default')
        default_image="/boot/initramfs-linux.img"
        """

    /// An Arch client after `pacman -Syu` took linux from 6.12.1 to 6.12.3: the old modules went with the package.
    static func arch(upgraded: Bool, image: Int64 = base + hour) -> [String: (String, Int64)] {
        let installed = upgraded ? "6.12.3-arch1-1" : "6.12.1-arch1-1"
        var files = running("6.12.1-arch1-1")
        files["usr/lib/modules/\(installed)/vmlinuz"] = ("kernel", base)
        files["usr/lib/modules/\(installed)/pkgbase"] = ("linux\n", base)
        files["boot/vmlinuz-linux"] = ("kernel", base)
        files["boot/initramfs-linux.img"] = ("image", image)
        files["etc/mkinitcpio.conf"] = ("HOOKS=(base udev block iscsi filesystems)\n", base)
        files["etc/mkinitcpio.d/linux.preset"] = (preset, base)
        return files
    }

    static let mkinitcpio = InitramfsSystem.mkinitcpio(hooks: ["base", "udev", "block", "iscsi", "filesystems"], config: "/etc/mkinitcpio.conf")

    @Test func archBeforeTheUpgradeIsOk() throws {
        let item = try Self.item(Self.arch(upgraded: false), generator: Self.mkinitcpio)
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail.contains("its modules in /usr/lib/modules/6.12.1-arch1-1"))
        #expect(item.detail.contains("/boot/initramfs-linux.img newer than mkinitcpio's configuration"))
        #expect(item.detail.contains("/etc/initcpio/post/"))
    }

    @Test func archAfterTheUpgradeSaysTheModulesAreGoneAndWhatToBoot() throws {
        let item = try Self.item(Self.arch(upgraded: true), generator: Self.mkinitcpio)
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("the running kernel 6.12.1-arch1-1 has no modules directory"))
        #expect(item.detail.contains("installed kernel 6.12.3-arch1-1 is not the running 6.12.1-arch1-1"))
        #expect(item.detail.contains("/usr/lib/modules/6.12.3-arch1-1/vmlinuz and /boot/initramfs-linux.img"))
        #expect(item.fix?.contains("/etc/initcpio/post/") == true)
    }

    @Test func archImageOlderThanTheHookWarns() throws {
        var files = Self.arch(upgraded: false, image: Self.base)
        files["usr/lib/initcpio/hooks/iscsi"] = ("run_hook() { :; }\n", Self.base + Self.hour)
        let item = try Self.item(files, generator: Self.mkinitcpio)
        #expect(item.verdict == .warn)
        #expect(item.detail.contains("/boot/initramfs-linux.img is older than /usr/lib/initcpio/hooks/iscsi"))
        #expect(item.fix?.hasPrefix("mkinitcpio -P, then copy /boot/initramfs-linux.img to the boot source") == true)
    }

    // MARK: Netbooted, unreadable

    @Test func aNetbootedClientWithoutAKernelOnTheRootIsOk() throws {
        var files = Self.running()
        files["lib/modules/\(Self.running)/modules.dep"] = ("", Self.base)
        let item = try Self.item(files, generator: .unidentified)
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail.contains("no kernel of it is installed on the root: the boot source keeps its own"))
    }

    @Test func anUnreadableKernelVersionIsUnknown() throws {
        let item = try Self.item([:], generator: .unidentified)
        #expect(item.verdict == .unknown)
    }

    @Test func versionsCompareAsSortDashVDoes() {
        #expect(BootFilesCheck.isNewer("6.1.0-57-amd64", than: "6.1.0-9-amd64"))
        #expect(BootFilesCheck.isNewer("6.12.3-arch1-1", than: "6.12.1-arch1-1"))
        #expect(BootFilesCheck.isNewer("6.10.0", than: "6.9.12"))
        #expect(!BootFilesCheck.isNewer("6.1.0-56-amd64", than: "6.1.0-56-amd64"))
        #expect(BootFilesCheck.isNewer("6.1.0-56-amd64", than: "6.1.0-56"))
    }
}

/// Values in files a shell sources are read the way the shell reads them.
@Suite struct ShellAssignmentTests {
    @Test func quotedValuesKeepTheirBlanksAndHashes() {
        #expect(ShellAssignments.last("default_image", in: "default_image=\"/boot/my image.img\"\n") == "/boot/my image.img")
        #expect(ShellAssignments.last("X", in: "X='a # b' # comment\n") == "a # b")
        #expect(ShellAssignments.last("X", in: "X=a#b\n") == "a#b")
        #expect(ShellAssignments.last("X", in: "X=plain # comment\n") == "plain")
        #expect(ShellAssignments.last("X", in: "X=one;Y=two\n") == "one")
        #expect(ShellAssignments.last("X", in: "X=\"say \\\"hi\\\" \\n\"\n") == "say \"hi\" \\n")
        #expect(ShellAssignments.last("X", in: "X=a\\ b\n") == "a b")
        #expect(ShellAssignments.last("X", in: "X=\"unterminated\n") == "unterminated")
        #expect(ShellAssignments.last("X", in: "X=\nX=yes\n") == "yes")
        #expect(ShellAssignments.last("X", in: "#X=no\nXY=no\n") == nil)
    }

    @Test func aPresetImageWithABlankIsFound() throws {
        var files = BootFilesCheckTests.arch(upgraded: false)
        files["boot/initramfs-linux.img"] = nil
        files["boot/my image.img"] = ("image", BootFilesCheckTests.base + BootFilesCheckTests.hour)
        files["etc/mkinitcpio.d/linux.preset"] = ("PRESETS=('default')\ndefault_image=\"/boot/my image.img\"\n", BootFilesCheckTests.base)
        let item = try BootFilesCheckTests.item(files, generator: BootFilesCheckTests.mkinitcpio)
        #expect(item.verdict == .ok, "\(item.detail)")
        #expect(item.detail.contains("/boot/my image.img newer than mkinitcpio's configuration"))
    }
}
