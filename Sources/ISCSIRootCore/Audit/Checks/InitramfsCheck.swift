/// The initramfs that logs the root in does so with the iSCSI-root settings (NOPs off, a day of
/// replacement timeout), said in the terms of the generator that built it: mkinitcpio's hooks (busybox
/// or systemd), dracut's kernel command line and config, Debian's /etc/iscsi/iscsi.initramfs.
/// The session it made keeps its NOP settings until the next login (`live-session` shows them).
struct InitramfsCheck {
    let system: FileTree
    let layout: InstallLayout

    static let title = "initramfs logs / in with the iSCSI-root settings"
    static let summary = "NOPs 0/0, replacement_timeout \(Configuration.recommendedRecoveryTimeout)"

    var item: AuditItem {
        let cmdline = InitramfsSystem.commandLine(of: system)
        switch InitramfsSystem.detect(in: system, cmdline: cmdline) {
        case .mkinitcpio(let hooks, let config): return mkinitcpio(hooks: hooks, config: config)
        case .mkinitcpioSystemd(let hooks, let config): return mkinitcpioSystemd(hooks: hooks, config: config)
        case .dracut: return dracut(cmdline: cmdline)
        case .initramfsTools: return initramfsTools()
        case .unidentified:
            return AuditItem(id: "initramfs", title: Self.title, verdict: .ok,
                             detail: "no mkinitcpio, dracut or initramfs-tools set up here: a hand-made initramfs logged / in; its settings show in live-session")
        }
    }

    private func item(_ system: String, _ parameters: RootLoginParameters, source: String, fix: String) -> AuditItem {
        let problems = parameters.problems
        if problems.isEmpty {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .ok, detail: "\(system): \(source) gives \(Self.summary)")
        }
        return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                         detail: "\(system): \(source) leaves \(problems.joined(separator: ", ")): the root session keeps those until its next login",
                         fix: fix)
    }

    /// A hook file of mkinitcpio's (KIND: hooks, install): /etc/initcpio wins over /usr/lib/initcpio (the only two
    /// directories it reads).
    private func initcpioFile(_ kind: String, _ name: String) -> (path: String, text: String)? {
        for directory in ["etc/initcpio/\(kind)", "usr/lib/initcpio/\(kind)"] {
            if case .success(let text) = system.read("\(directory)/\(name)") { return ("/\(directory)/\(name)", text) }
        }
        return nil
    }

    private func mkinitcpio(hooks: [String], config: String) -> AuditItem {
        let rebuild = "then mkinitcpio -P"
        guard hooks.contains("iscsi") else {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "mkinitcpio (busybox init): HOOKS in \(config) has no iscsi hook: something else logged / in, with settings this audit cannot see",
                             fix: "add iscsi after block to HOOKS in \(config) (iscsi-rootd's hook: make install-initcpio), \(rebuild)")
        }
        guard let hook = initcpioFile("hooks", "iscsi") else {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "mkinitcpio (busybox init): HOOKS in \(config) names iscsi, but no hooks/iscsi is installed",
                             fix: "install iscsi-rootd's hook (make install-initcpio), \(rebuild)")
        }
        return item("mkinitcpio (busybox init, HOOKS in \(config))", RootLoginParameters(text: hook.text),
                    source: "the iscsi hook \(hook.path) (iscsistart -P)",
                    fix: "install iscsi-rootd's iscsi hook over \(hook.path) (make install-initcpio), \(rebuild)")
    }

    /// A systemd initramfs never runs busybox runtime hooks: iscsi-rootd's sd-iscsi install hook brings units
    /// that run the iscsi hook's login code (hooks/iscsi), so that file's settings are the login's.
    private func mkinitcpioSystemd(hooks: [String], config: String) -> AuditItem {
        let system = "mkinitcpio (systemd hook, HOOKS in \(config))"
        let rebuild = "then mkinitcpio -P"
        guard hooks.contains("sd-iscsi") else {
            let iscsi = hooks.contains("iscsi") ? "names iscsi, whose runtime hook runs only in the busybox init" : "has no sd-iscsi hook"
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "\(system): HOOKS \(iscsi): something else logged / in, with settings this audit cannot see",
                             fix: "put sd-iscsi after block in HOOKS in \(config) (iscsi-rootd's hook for a systemd initramfs: make install-initcpio; base must come before systemd), \(rebuild)")
        }
        guard let install = initcpioFile("install", "sd-iscsi"), let hook = initcpioFile("hooks", "iscsi") else {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "\(system): HOOKS names sd-iscsi, but install/sd-iscsi or hooks/iscsi is not installed",
                             fix: "install iscsi-rootd's hooks (make install-initcpio), \(rebuild)")
        }
        return item(system, RootLoginParameters(text: hook.text),
                    source: "\(install.path) running the login of \(hook.path) (iscsistart -P)",
                    fix: "install iscsi-rootd's hooks over \(install.path) and \(hook.path) (make install-initcpio), \(rebuild)")
    }

    /// The name of iscsi-rootd's dracut drop-in.
    static let dracutDropIn = "iscsi-rootd.conf"

    /// dracut's iscsi module writes every `rd.iscsi.param=` of the command line (including what
    /// `kernel_cmdline=` in its config put into the image's /etc/cmdline.d) into the node record it logs
    /// in with (iscsiadm); unset keys keep open-iscsi's defaults.
    private func dracut(cmdline: [String]) -> AuditItem {
        // The image's /etc/cmdline.d comes before the boot's own command line, whose words win.
        var text = ""
        var sources: [String] = []
        // dracut's order: /etc/dracut.conf, then the drop-ins of both directories by name, a file in /etc
        // replacing the one of the same name in /usr/lib.
        var dropIns: [String: String] = [:]
        // The drop-in whose `kernel_cmdline=` replaced what earlier files set, last of all (by name).
        var replacer: (name: String, path: String)?
        for directory in ["usr/lib/dracut/dracut.conf.d", "etc/dracut.conf.d"] {
            for file in system.list(directory) where file.hasSuffix(".conf") { dropIns[file] = "\(directory)/\(file)" }
        }
        for name in [""] + dropIns.keys.sorted() {
            let path = name.isEmpty ? "etc/dracut.conf" : dropIns[name]!
            guard case .success(let config) = system.read(path) else { continue }
            // dracut sources each file as shell: `kernel_cmdline+=` adds, `kernel_cmdline=` replaces what
            // earlier files set (their rd.iscsi.param= never reach the image).
            for line in config.split(separator: "\n") {
                let code = line.prefix { $0 != "#" }.drop { $0 == " " || $0 == "\t" }
                guard code.hasPrefix("kernel_cmdline") else { continue }
                let assignment = code.dropFirst("kernel_cmdline".count)
                if assignment.hasPrefix("+=") {
                    text += " " + assignment.dropFirst(2)
                    if assignment.contains(text: "rd.iscsi.param="), sources.last != "/\(path)" { sources.append("/\(path)") }
                } else if assignment.hasPrefix("=") {
                    text = String(assignment.dropFirst())
                    sources = ["/\(path)"]
                    replacer = name.isEmpty ? nil : (name, "/\(path)")
                }
            }
        }
        text += " " + cmdline.filter { $0.hasPrefix("rd.iscsi.param=") }.joined(separator: " ")
        sources.insert("the kernel command line", at: 0)
        let words = RootLoginParameters.recommended.map { "rd.iscsi.param=\($0)" }.joined(separator: " ")
        return item("dracut (iscsi module)", RootLoginParameters(text: text, login: "iscsiadm"), source: "rd.iscsi.param= on \(sources.joined(separator: " and "))",
                    fix: dracutFix(words: words, replacer: replacer))
    }

    /// Where the settings go: iscsi-rootd's drop-in, unless a drop-in read after it replaces
    /// `kernel_cmdline` (then that file must carry them).
    private func dracutFix(words: String, replacer: (name: String, path: String)?) -> String {
        let example = layout.example("dracut-iscsi-rootd.conf")
        let orCommandLine = "or add to the kernel command line: \(words)"
        if let replacer, replacer.name > Self.dracutDropIn {
            return "add \(words) to kernel_cmdline= in \(replacer.path) (read after /etc/dracut.conf.d/\(Self.dracutDropIn), its kernel_cmdline= replaces what \(example) sets) and run dracut -f, \(orCommandLine)"
        }
        return "copy \(example) to /etc/dracut.conf.d/\(Self.dracutDropIn) and run dracut -f, \(orCommandLine)"
    }

    /// open-iscsi's local-top/iscsi sources /etc/iscsi.initramfs (copied from /etc/iscsi/iscsi.initramfs)
    /// and calls iscsistart without -P: only a wrapper defined there passes the settings.
    private func initramfsTools() -> AuditItem {
        let path = "etc/iscsi/iscsi.initramfs"
        let fix = "copy \(layout.example("iscsi.initramfs")) to /\(path) (set ISCSI_TARGET_NAME and ISCSI_TARGET_IP, or keep root=iscsi: on the kernel command line), then update-initramfs -u"
        // open-iscsi's initramfs hook sources this file and leaves iscsistart, the initiator name and
        // iscsi.initramfs out of the image when it sets NO_ISCSI_IN_INITRAMFS=yes.
        let optOut = "etc/initramfs-tools/conf.d/open-iscsi"
        if case .success(let conf) = system.read(optOut), ShellAssignments.last("NO_ISCSI_IN_INITRAMFS", in: conf) == "yes" {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "Debian initramfs-tools: /\(optOut) sets NO_ISCSI_IN_INITRAMFS=yes, so open-iscsi's hook leaves the iSCSI login out of the image: something else logged / in, with settings this audit cannot see",
                             fix: "remove NO_ISCSI_IN_INITRAMFS=yes from /\(optOut), \(fix)")
        }
        guard case .success(let text) = system.read(path) else {
            return AuditItem(id: "initramfs", title: Self.title, verdict: .warn,
                             detail: "Debian initramfs-tools (open-iscsi's local-top/iscsi): no /\(path), so iscsistart logs in once with its defaults (NOPs 5/5 s, replacement_timeout 120 s) and no retry",
                             fix: fix)
        }
        return item("Debian initramfs-tools (open-iscsi's local-top/iscsi)", RootLoginParameters(text: text),
                    source: "/\(path)", fix: fix)
    }
}
