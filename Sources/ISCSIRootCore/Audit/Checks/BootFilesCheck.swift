/// The files the client boots next time. A diskless client boots the kernel and initramfs its boot source
/// serves (TFTP, iPXE, a local /boot), copied there by hand or by a hook (the Arch wiki: copy them to the
/// TFTP server "at every kernel/initcpio update"). After a kernel upgrade on the root the running kernel's
/// modules can be gone (Arch's kernel package takes them with it) and what the boot source serves no longer
/// matches what is installed; after a configuration change the image is older than what it should carry.
/// Nothing says so until the next boot fails: this item does, from the files alone.
struct BootFilesCheck {
    let system: FileTree
    let generator: InitramfsSystem

    static let id = "boot-files"
    static let title = "the next boot gets the installed kernel, its modules and a current initramfs"
    /// Where kernels keep their modules (usr-merged systems reach both through /lib → usr/lib).
    static let moduleDirectories = ["usr/lib/modules", "lib/modules"]

    /// An initramfs image and the kernel version it is for (nil: a preset's kernel, version not known).
    struct Image: Hashable {
        let path: String
        let version: String?
    }

    var item: AuditItem {
        guard let running = system.attribute("proc/sys/kernel/osrelease").value, !running.isEmpty else {
            return AuditItem(id: Self.id, title: Self.title, verdict: .unknown,
                             detail: "the running kernel's version is unreadable (/proc/sys/kernel/osrelease)")
        }
        var findings: [CheckFinding] = []
        let installed = installedKernels()
        let hook = postUpdateHook
        if modulesDirectory(of: running) == nil {
            findings.append(CheckFinding(
                .warn, "the running kernel \(running) has no modules directory (/usr/lib/modules/\(running)): a kernel upgrade removed it, so a module not loaded yet (a file system, a NIC) cannot load",
                fix: "reboot into the installed kernel\(installed.isEmpty ? "" : " (\(installed.joined(separator: ", ")))") once the boot source serves it and its initramfs; \(hook)"))
        }
        if let newest = installed.last, Self.isNewer(newest, than: running) || !installed.contains(running) {
            findings.append(CheckFinding(
                .warn, "installed kernel \(newest) is not the running \(running): the client boots \(newest) only once its boot source serves \(kernelFile(newest) ?? "its kernel")\(images.filter { $0.version == newest }.map { " and \($0.path)" }.joined())",
                fix: "copy the installed kernel and its initramfs to the boot source (TFTP, iPXE or /boot), then reboot; \(hook)"))
        }
        for image in images where image.version == nil || image.version == running || image.version == installed.last {
            if let finding = staleness(of: image) { findings.append(finding) }
        }
        return AuditItem(id: Self.id, title: Self.title, findings: findings, okDetail: okDetail(running: running))
    }

    private func okDetail(running: String) -> String {
        let modules = modulesDirectory(of: running).map { "its modules in /\($0)" } ?? ""
        let current = images.isEmpty ? "" : "; \(images.map(\.path).joined(separator: ", ")) newer than \(generatorName)'s configuration"
        let kernel = kernelFile(running).map { "; the boot source must get \($0)\(images.isEmpty ? "" : " and the image") after every update (\(postUpdateHook))" }
            ?? "; no kernel of it is installed on the root: the boot source keeps its own"
        return "running kernel \(running), \(modules)\(current)\(kernel)"
    }

    // MARK: What is installed

    /// The directory holding `version`'s modules, relative to the root; nil when there is none.
    func modulesDirectory(of version: String) -> String? {
        Self.moduleDirectories.map { "\($0)/\(version)" }.first { system.exists($0) }
    }

    /// Versions with a kernel image on the root, oldest first: `/usr/lib/modules/V/vmlinuz` (Arch, Fedora)
    /// or `/boot/vmlinuz-V` (Debian). Arch's `/boot/vmlinuz-linux` is named after its package, not a version.
    func installedKernels() -> [String] {
        var versions = Set<String>()
        for directory in Self.moduleDirectories {
            for version in system.list(directory) where system.exists("\(directory)/\(version)/vmlinuz") {
                versions.insert(version)
            }
        }
        for name in system.list("boot") where name.hasPrefix("vmlinuz-") {
            let version = String(name.dropFirst("vmlinuz-".count))
            if version.first?.isNumber == true { versions.insert(version) }
        }
        return versions.sorted { Self.isNewer($1, than: $0) }
    }

    /// The kernel file the boot source copies for `version`.
    func kernelFile(_ version: String) -> String? {
        (["boot/vmlinuz-\(version)"] + Self.moduleDirectories.map { "\($0)/\(version)/vmlinuz" })
            .first { system.exists($0) }.map { "/" + $0 }
    }

    /// Kernel versions in the order `sort -V` gives them: runs of digits compare as numbers.
    static func isNewer(_ a: String, than b: String) -> Bool {
        var left = a.unicodeScalars[...]
        var right = b.unicodeScalars[...]
        while let x = left.first, let y = right.first {
            let xDigits = left.prefix(while: isDigit)
            let yDigits = right.prefix(while: isDigit)
            if !xDigits.isEmpty && !yDigits.isEmpty {
                let xValue = String(String.UnicodeScalarView(xDigits.drop { $0 == "0" }))
                let yValue = String(String.UnicodeScalarView(yDigits.drop { $0 == "0" }))
                if xValue.count != yValue.count { return xValue.count > yValue.count }
                if xValue != yValue { return xValue > yValue }
                left = left.dropFirst(xDigits.count)
                right = right.dropFirst(yDigits.count)
            } else {
                if x != y { return x.value > y.value }
                left = left.dropFirst()
                right = right.dropFirst()
            }
        }
        return !left.isEmpty && right.isEmpty
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    // MARK: The generator's images

    private var generatorName: String {
        switch generator {
        case .mkinitcpio, .mkinitcpioSystemd: "mkinitcpio"
        case .dracut: "dracut"
        case .initramfsTools: "initramfs-tools"
        case .unidentified: "the initramfs generator"
        }
    }

    /// The images the generator makes, per installed kernel: mkinitcpio's presets, or the per-version names
    /// dracut and initramfs-tools use (`initrd.img-V` on Debian, `initramfs-V.img` on Fedora; the one that
    /// exists, else the distribution's). None for a hand-made initramfs: nothing on the root says where it is.
    var images: [Image] {
        switch generator {
        case .mkinitcpio, .mkinitcpioSystemd:
            return mkinitcpioImages()
        case .dracut, .initramfsTools:
            let debian = generator == .initramfsTools || system.exists("etc/debian_version")
            return installedKernels().map { version in
                let names = ["boot/initrd.img-\(version)", "boot/initramfs-\(version).img"]
                return Image(path: "/" + (names.first { system.exists($0) } ?? names[debian ? 0 : 1]), version: version)
            }
        case .unidentified:
            return []
        }
    }

    /// `/etc/mkinitcpio.d/PKGBASE.preset`: each preset's `NAME_image`; the kernel is the one whose modules
    /// directory's `pkgbase` file names PKGBASE.
    private func mkinitcpioImages() -> [Image] {
        let versionOf: [String: String] = Dictionary(
            Self.moduleDirectories.flatMap { directory in
                system.list(directory).compactMap { version in
                    system.attribute("\(directory)/\(version)/pkgbase").value.map { ($0, version) }
                }
            }, uniquingKeysWith: { a, b in Self.isNewer(a, than: b) ? a : b })
        return system.list("etc/mkinitcpio.d").filter { $0.hasSuffix(".preset") }.sorted().flatMap { name -> [Image] in
            guard case .success(let text) = system.read("etc/mkinitcpio.d/\(name)") else { return [] }
            let pkgbase = String(name.dropLast(".preset".count))
            return (MkinitcpioConfig.array("PRESETS", in: text) ?? []).compactMap { preset in
                ShellAssignments.last("\(preset)_image", in: text).map { Image(path: $0, version: versionOf[pkgbase]) }
            }
        }
    }

    /// The files whose change an image must carry.
    private var configuration: [String] {
        let dropIns = { (directory: String) in system.list(directory).sorted().map { "\(directory)/\($0)" } }
        switch generator {
        case .mkinitcpio, .mkinitcpioSystemd:
            return ["etc/mkinitcpio.conf"] + dropIns("etc/mkinitcpio.conf.d")
                + ["hooks", "install"].flatMap { kind in ["iscsi", "sd-iscsi"].flatMap { ["etc/initcpio/\(kind)/\($0)", "usr/lib/initcpio/\(kind)/\($0)"] } }
        case .dracut:
            return ["etc/dracut.conf"] + dropIns("etc/dracut.conf.d")
        case .initramfsTools:
            return ["etc/initramfs-tools/initramfs.conf"] + dropIns("etc/initramfs-tools/conf.d") + ["etc/iscsi/iscsi.initramfs"]
        case .unidentified:
            return []
        }
    }

    private func staleness(of image: Image) -> CheckFinding? {
        let relative = String(image.path.drop { $0 == "/" })
        guard let built = system.modificationTime(relative) else {
            return CheckFinding(.warn, "\(generatorName)'s image \(image.path) is missing", fix: rebuild(image))
        }
        let newer = configuration.filter { (system.modificationTime($0) ?? .min) > built }
        guard !newer.isEmpty else { return nil }
        return CheckFinding(.warn, "\(image.path) is older than \(newer.map { "/" + $0 }.joined(separator: ", ")): it does not carry that change",
                            fix: rebuild(image))
    }

    private func rebuild(_ image: Image) -> String {
        let command = switch generator {
        case .mkinitcpio, .mkinitcpioSystemd: "mkinitcpio -P"
        case .dracut: "dracut --force \(image.path)\(image.version.map { " \($0)" } ?? "")"
        case .initramfsTools: "update-initramfs -u -k \(image.version ?? "all")"
        case .unidentified: "rebuild it"
        }
        return "\(command), then copy \(image.path) to the boot source; \(postUpdateHook)"
    }

    /// Where the generator runs a hook after every rebuild: the place for the copy to the boot source.
    var postUpdateHook: String {
        switch generator {
        case .mkinitcpio, .mkinitcpioSystemd:
            "an executable in /etc/initcpio/post/ runs after every mkinitcpio build, with the kernel and image paths as arguments"
        case .dracut:
            "a kernel-install plugin in /etc/kernel/install.d/ (or, on Debian, a script in /etc/kernel/postinst.d/) runs after every kernel and image update"
        case .initramfsTools:
            "an executable in /etc/initramfs/post-update.d/ runs after every update-initramfs, with the version and image path as arguments"
        case .unidentified:
            "a hook of the initramfs generator can copy them after every update"
        }
    }
}
