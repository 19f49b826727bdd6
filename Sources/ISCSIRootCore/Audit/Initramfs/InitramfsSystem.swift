/// The initramfs generator that logged the root in, as the system's files and kernel command line show it.
enum InitramfsSystem: Sendable, Hashable {
    /// mkinitcpio with its busybox init: runtime hooks from `HOOKS=(…)`.
    case mkinitcpio(hooks: [String], config: String)
    /// mkinitcpio with its `systemd` hook: systemd runs the initramfs; hooks add units.
    case mkinitcpioSystemd(hooks: [String], config: String)
    /// dracut's iscsi module (`netroot=iscsi:…`, `root=iscsi:…`, `rd.iscsi.firmware`).
    case dracut
    /// Debian's initramfs-tools with open-iscsi's `local-top/iscsi` (`/etc/iscsi/iscsi.initramfs`).
    case initramfsTools
    /// None of them: a hand-made initramfs (or firmware) logged in.
    case unidentified

    /// The words of the running kernel's command line (`/proc/cmdline`); empty when unreadable.
    static func commandLine(of system: FileTree) -> [String] {
        system.attribute("proc/cmdline").value?.split(separator: " ").map(String.init) ?? []
    }

    /// Decides from the kernel command line first (dracut's words are its own), then from which
    /// generator is configured or installed under `system`.
    static func detect(in system: FileTree, cmdline: [String]) -> InitramfsSystem {
        let dracutWords = cmdline.contains { $0.hasPrefix("netroot=iscsi") || $0.hasPrefix("rd.iscsi.") }
        if dracutWords { return .dracut }
        if let mkinitcpio = MkinitcpioConfig.load(from: system) {
            return mkinitcpio.hooks.contains("systemd")
                ? .mkinitcpioSystemd(hooks: mkinitcpio.hooks, config: mkinitcpio.path)
                : .mkinitcpio(hooks: mkinitcpio.hooks, config: mkinitcpio.path)
        }
        let installed = { (paths: [String]) in paths.contains { system.exists($0) } }
        if installed(["etc/initramfs-tools/initramfs.conf", "usr/sbin/mkinitramfs", "sbin/mkinitramfs"]) {
            return .initramfsTools
        }
        // A hostonly image (dracut -f on a client booted from the disk) keeps netroot= in its own
        // /etc/cmdline.d, so the live command line need not show it: the installed generator made the image.
        if installed(["usr/lib/dracut/modules.d/95iscsi", "usr/bin/dracut", "usr/sbin/dracut"]) {
            return .dracut
        }
        return .unidentified
    }
}

/// mkinitcpio's configuration: `/etc/mkinitcpio.conf`, then `/etc/mkinitcpio.conf.d/*.conf`, the last
/// `HOOKS=(…)` winning (they are bash files; only the array assignment is read).
struct MkinitcpioConfig: Sendable, Hashable {
    let path: String
    let hooks: [String]

    static func load(from system: FileTree) -> MkinitcpioConfig? {
        let dropIns = system.list("etc/mkinitcpio.conf.d").filter { $0.hasSuffix(".conf") }.sorted()
            .map { "etc/mkinitcpio.conf.d/\($0)" }
        var found: MkinitcpioConfig?
        for path in ["etc/mkinitcpio.conf"] + dropIns {
            guard case .success(let text) = system.read(path) else { continue }
            if let hooks = hooksArray(text) { found = MkinitcpioConfig(path: "/" + path, hooks: hooks) }
        }
        return found
    }

    /// The words of the last `HOOKS=(…)` (possibly over several lines), comments dropped.
    static func hooksArray(_ text: String) -> [String]? { array("HOOKS", in: text) }

    /// The words of the last bash array assignment `NAME=(…)` (possibly over several lines), comments and
    /// quotes dropped: mkinitcpio's HOOKS, a preset's PRESETS.
    static func array(_ name: String, in text: String) -> [String]? {
        let opening = name + "=("
        var result: [String]?
        var collecting: [String]?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine.prefix { $0 != "#" }).trimmingWhitespace[...]
            if collecting == nil {
                guard line.hasPrefix(opening) else { continue }
                line = line.dropFirst(opening.count)
                collecting = []
            }
            let closed = line.contains(")")
            collecting! += line.prefix { $0 != ")" }.split(whereSeparator: { $0 == " " || $0 == "\t" })
                .map { String($0.filter { $0 != "\"" && $0 != "'" }) }
            if closed {
                result = collecting
                collecting = nil
            }
        }
        return result
    }
}
