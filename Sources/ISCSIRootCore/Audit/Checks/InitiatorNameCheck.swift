/// Where the root session's initiator name came from, and whether every client booted from this
/// image would use the same one. Two initiators logging in with one name end each other's session
/// at every login (the target reinstates the session for the newest), so a golden image's own
/// `/etc/iscsi/initiatorname.iscsi` must not be what names the clients.
struct InitiatorNameCheck {
    let system: FileTree
    let topology: Topology
    let session: ISCSISession
    /// The firmware's iBFT, when the machine has one.
    let firmware: FirmwareBoot?

    static let id = "initiator-name"
    static let title = "the root session's initiator name is this client's own"
    /// The file the image carries (open-iscsi's; written once, at package install time).
    static let imageFile = "etc/iscsi/initiatorname.iscsi"
    /// What iscsi-rootd's initramfs hooks write when they derive a name at boot (`/run` moves into
    /// the root at switch_root): `InitiatorName=` and `DerivedFrom=`.
    static let derivedRecord = "run/iscsi-rootd/initiatorname"
    /// The kernel command line words that name the initiator: dracut's, then the one mkinitcpio's and
    /// initramfs-tools' hooks read (dracut takes it too).
    static let commandLineKeys = ["rd.iscsi.initiator=", "iscsi_initiator="]

    var item: AuditItem {
        guard let live = session.initiatorName.value else {
            return AuditItem(id: Self.id, title: Self.title, verdict: .unknown,
                             detail: "\(session.name)'s initiatorname is unreadable (\(session.initiatorName.unknownReason ?? "?"))",
                             fix: "run iscsi-rootd check as root on the client itself, where /sys/class/iscsi_session/\(session.name)/initiatorname is readable")
        }
        let cmdline = system.attribute("proc/cmdline").value?.split(separator: " ").map(String.init) ?? []
        var fromCommandLine: (key: String, name: String)?
        for word in cmdline {
            for key in Self.commandLineKeys where word.hasPrefix(key) { fromCommandLine = (key, String(word.dropFirst(key.count))) }
        }
        if let fromCommandLine, fromCommandLine.name == live {
            return ok("\(live), from the kernel command line (\(fromCommandLine.key)): as per client as the boot entry that sets it")
        }
        if let ibft = firmware?.initiatorName, ibft == live {
            return ok("\(live), from the firmware's iBFT (/sys/firmware/ibft/initiator/initiator-name): this machine's own")
        }
        let derived = Self.keyValues(system, Self.derivedRecord)
        if derived["InitiatorName"] == live {
            return ok("\(live), derived at boot from \(derived["DerivedFrom"] ?? "this client") by iscsi-rootd's initramfs hook (/\(Self.derivedRecord))")
        }
        let image = Self.keyValues(system, Self.imageFile)["InitiatorName"]
        guard image == live else {
            return AuditItem(id: Self.id, title: Self.title, verdict: .unknown,
                             detail: "\(session.name) logged in as \(live), which neither the kernel command line, iBFT nor /\(Self.imageFile)"
                                 + " (\(image ?? "no InitiatorName=")) names: set by an initramfs this audit cannot read, or the file changed since boot",
                             fix: "if clients share this image, make sure each gets its own name; the ways this check can see: "
                                 + fix(prefix: String(live.prefix { $0 != ":" })))
        }
        guard let shared = SharedImage(topology.root) else {
            return ok("\(live), from this image's own /\(Self.imageFile): fine while the image is this client's alone (a copy of it "
                      + "would log in with the same name)")
        }
        let cmdlineNote = fromCommandLine.map { " (\($0.key)\($0.name) on the kernel command line did not name this session)" } ?? ""
        return AuditItem(id: Self.id, title: Self.title, verdict: .warn,
                         detail: "\(session.name) logged in as \(live), from the image's own /\(Self.imageFile)\(cmdlineNote), and / is \(shared.description): "
                             + "every client booted from this image uses the same name, and the target ends one client's session whenever another logs in",
                         fix: fix(prefix: String(live.prefix { $0 != ":" })))
    }

    private func ok(_ detail: String) -> AuditItem {
        AuditItem(id: Self.id, title: Self.title, verdict: .ok, detail: detail)
    }

    /// The fix in the terms of the generator that built the initramfs.
    func fix(prefix: String) -> String {
        let cmdline = system.attribute("proc/cmdline").value?.split(separator: " ").map(String.init) ?? []
        let derive = "or let iscsi-rootd's hook derive one at boot"
        switch InitramfsSystem.detect(in: system, cmdline: cmdline) {
        case .dracut:
            return "give each client rd.iscsi.initiator=\(prefix):<its own name> on its kernel command line (its boot loader or PXE entry, one per MAC), then reboot it"
        case .mkinitcpio, .mkinitcpioSystemd:
            return "give each client iscsi_initiator=\(prefix):<its own name> on its kernel command line, \(derive): iscsi_initiator=derive:mac "
                + "(\(prefix):<MAC of the boot interface>) or iscsi_initiator=derive:machine-id (from systemd.machine_id= or the firmware's DMI product UUID)"
        case .initramfsTools:
            return "give each client iscsi_initiator=\(prefix):<its own name> on its kernel command line (ISCSI_INITIATOR in /etc/iscsi/iscsi.initramfs is in the image, "
                + "the same for all), \(derive): ISCSI_ROOTD_INITIATOR_FROM=mac (or machine-id) in /etc/iscsi/iscsi.initramfs, then update-initramfs -u"
        case .unidentified:
            return "give each client its own name: from iBFT, or from the kernel command line its initramfs reads"
        }
    }

    /// `KEY=VALUE` lines of a small file (comments and blanks skipped); empty when unreadable.
    static func keyValues(_ system: FileTree, _ path: String) -> [String: String] {
        guard case .success(let text) = system.read(path, limit: 64 << 10) else { return [:] }
        var values: [String: String] = [:]
        for line in text.textLines {
            let trimmed = line.trimmingWhitespace
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            values[String(trimmed[..<equals]).trimmingWhitespace] = String(trimmed[trimmed.index(after: equals)...]).trimmingWhitespace
        }
        return values
    }
}
