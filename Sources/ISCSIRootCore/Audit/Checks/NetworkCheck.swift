/// How the kernel reaches a portal, from its own answer (RTM_GETROUTE: policy rules and every table count).
public enum PortalRoute: Sendable, Hashable {
    /// The interface a packet to the portal leaves through.
    case interface(String)
    /// The kernel has no route (the reason, e.g. `ENETUNREACH`), or the question failed.
    case unknown(String)
}

/// The interface carrying the root session keeps its configuration when the network manager stops or
/// restarts (systemd #28363, #32426: networkd flushing the addresses under an iSCSI root), and its
/// address does not change at a DHCP renewal.
struct NetworkCheck {
    let system: FileTree
    let session: ISCSISession
    /// The session's host: `ipaddress` is the session's own address.
    let host: SCSIHost?
    /// The kernel's answer; nil: read the main table of `proc/net/route`.
    let kernelRoute: PortalRoute?
    /// The firmware's boot record: when it names the session's target, its NIC (found by MAC, whatever
    /// the kernel calls it) is the session's interface when no route says otherwise.
    var firmware: FirmwareBoot? = nil

    /// The directories systemd-networkd reads .network files from, highest precedence first (its
    /// NETWORK_DIRS; /lib only on split-usr systems).
    static let networkDirectories = ["etc/systemd/network", "run/systemd/network", "usr/local/lib/systemd/network",
                                     "usr/lib/systemd/network", "lib/systemd/network"]
    static let title = "network of the root session keeps its configuration and address"

    var item: AuditItem {
        let nic = firmwareNIC
        let base = judgedInterface(firmwareNIC: nic)
        var findings: [CheckFinding] = []
        if let nic {
            var note = "the firmware booted through iBFT \(nic.directoryName): \(nic.summary)"
            if let interface = base.interface, let name = nic.interface, name != interface {
                note += ", but the route to the portal leaves through \(interface)"
            }
            findings.append(CheckFinding(.ok, note))
        }
        findings += deadFirmwareNameMatches(mac: nic?.mac ?? base.interface.flatMap(macAddress))
        guard !findings.isEmpty else { return base.item }
        let fixes = ([base.item.fix] + findings.map(\.fix)).compactMap { $0 }
        return AuditItem(id: base.item.id, title: base.item.title,
                         verdict: AuditVerdict.worst([base.item.verdict] + findings.map(\.verdict)),
                         detail: ([base.item.detail] + findings.map(\.detail)).joined(separator: "; "),
                         fix: fixes.isEmpty ? nil : fixes.joined(separator: "\n"))
    }

    /// The firmware's NIC when the iBFT names the session's target.
    var firmwareNIC: FirmwareBoot.NIC? {
        guard let firmware, firmware.differences(from: session).isEmpty, let target = firmware.target(for: session) else { return nil }
        return firmware.nic(of: target)
    }

    /// The interface carrying the session (the kernel's route to the portal; without one, the firmware's NIC)
    /// and how its network manager treats it.
    func judgedInterface(firmwareNIC: FirmwareBoot.NIC?) -> (item: AuditItem, interface: String?) {
        let title = Self.title
        guard let address = session.connections.first?.persistentAddress.value else {
            return (AuditItem(id: "network", title: title, verdict: .unknown,
                              detail: "the portal address of \(session.name) is unknown"), nil)
        }
        let interface: String
        switch kernelRoute {
        case .interface(let name)?:
            interface = name
        case .unknown(let reason)?:
            guard let name = firmwareNIC?.interface else {
                return (AuditItem(id: "network", title: title, verdict: .unknown,
                                  detail: "the kernel gives no route to the portal \(address): \(reason)"), nil)
            }
            interface = name
        case nil:
            guard let name = RouteTable(system: system).interface(for: address) ?? firmwareNIC?.interface else {
                return (AuditItem(id: "network", title: title, verdict: .unknown,
                                  detail: "no route to the portal \(address) in the main table (/proc/net/route, /proc/net/ipv6_route; policy rules are not seen there)"), nil)
            }
            interface = name
        }
        return (judged(interface: interface, address: address), interface)
    }

    func judged(interface: String, address: String) -> AuditItem {
        let title = Self.title
        if interface == "lo" {
            return AuditItem(id: "network", title: title, verdict: .ok,
                             detail: "the portal \(address) is local (lo): no network manager takes it down")
        }
        if let file = matchingNetworkFile(interface) {
            return judge(file, interface: interface)
        }
        if networkManagerPresent {
            return NetworkManagerSettings(system: system).judge(interface: interface, session: session, localAddress: localAddress,
                                                                macAddress: macAddress(interface))
        }
        if let method = IfupdownInterfaces(system: system).method(of: interface) {
            return judgeIfupdown(method: method, interface: interface)
        }
        return AuditItem(id: "network", title: title, verdict: .ok,
                         detail: "\(interface) carries \(session.name); no systemd-networkd .network file, NetworkManager or /etc/network/interfaces stanza manages it, so the initramfs configuration stays")
    }

    /// `.network` files whose `[Match] Name=` asks for `ibft*` (the Arch wiki's iSCSI boot snippet) and that
    /// match no interface here: the kernel's iscsi_ibft module names no interface; only dracut's `ip=ibft`
    /// (`rd.iscsi.ibft`) renames the firmware's NIC to ibftN (ifname=), while mkinitcpio, initramfs-tools and
    /// the kernel keep its own name. Such a file protects nothing; matching the NIC by MAC does.
    func deadFirmwareNameMatches(mac: String?) -> [CheckFinding] {
        let interfaces = system.list("sys/class/net")
        var findings: [CheckFinding] = []
        for (name, path) in networkFiles().sorted(by: { $0.key < $1.key }) {
            guard case .success(let text) = system.read(path) else { continue }
            let file = UnitFile(path: "/\(path)", text: text)
            let names = file.assignments.filter { $0.section == "Match" && $0.key == "Name" }
                .flatMap { $0.value.split(separator: " ").map(String.init) }
            guard !file.isEmpty, names.contains(where: { $0.hasPrefix("ibft") }),
                  !interfaces.contains(where: { Glob.matchesList(names, $0) }) else { continue }
            findings.append(CheckFinding(.warn, "\(file.path) matches Name=\(names.joined(separator: " ")), which no interface here is called: only dracut's ip=ibft (rd.iscsi.ibft) renames the firmware's NIC to ibftN; the kernel, mkinitcpio and initramfs-tools keep its own name, so \(name) protects nothing",
                                         fix: "match the NIC by its MAC address in \(file.path): [Match] MACAddress=\(mac ?? "<the MAC of /sys/firmware/ibft/ethernet0/mac>") instead of Name= (example: \(InstallLayout(system: system).example("50-iscsi-root-ibft.network")))"))
        }
        return findings
    }

    /// The session's own address (`iscsi_host/hostN/ipaddress`).
    var localAddress: String? { host?.ipAddress.value }

    func macAddress(_ interface: String) -> String? {
        system.attribute("sys/class/net/\(interface)/address").value?.lowercased()
    }

    /// ifupdown (`/etc/network/interfaces`): a static address stays; DHCP can change at renewal, and
    /// `ifdown` releases it.
    func judgeIfupdown(method: String, interface: String) -> AuditItem {
        let prefix = "\(interface) carries \(session.name) and is configured by /etc/network/interfaces (inet \(method))"
        switch method {
        case "static", "manual", "loopback":
            return AuditItem(id: "network", title: Self.title, verdict: .ok, detail: prefix)
        default:
            return AuditItem(id: "network", title: Self.title, verdict: .warn,
                             detail: "\(prefix): a DHCP renewal can hand out another address, and ifdown releases it, under the root",
                             fix: "configure \(interface) as 'iface \(interface) inet static' with the address the initramfs uses (\(localAddress ?? "the session's address")), or give it a static lease at the DHCP server")
        }
    }

    func judge(_ file: UnitFile, interface: String) -> AuditItem {
        let title = Self.title
        let prefix = "\(interface) carries \(session.name) and is managed by \(file.path)"
        if systemdBoolean(file.values("Link", "Unmanaged").last) == true {
            return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix) with Unmanaged=yes")
        }
        let keep = file.values("Network", "KeepConfiguration").last?.lowercased()
        let usesDHCP = file.values("Network", "DHCP").last.map { systemdBoolean($0) != false } ?? false
        let staticAddresses = file.values("Network", "Address") + file.values("Address", "Address")
        let hasStatic = !staticAddresses.isEmpty
        let kept: Bool
        switch keep {
        case "yes", "true", "1", "on": kept = true
        case "static": kept = !usesDHCP
        case "dhcp", "dhcp-on-stop": kept = !hasStatic
        default: kept = false
        }
        if kept {
            let how = usesDHCP ? "DHCP (the lease must not change at renewal: a static lease)" : "a static address"
            // No Address= and no DHCP: networkd configures no address of its own and keeps the initramfs' one.
            if !usesDHCP, hasStatic, let local = localAddress,
               !staticAddresses.contains(where: { IPAddress.parse(String($0.split(separator: "/")[0])) == IPAddress.parse(local) }) {
                return AuditItem(id: "network", title: title, verdict: .warn,
                                 detail: "\(prefix) with KeepConfiguration=\(keep ?? ""), but its static Address= (\(staticAddresses.joined(separator: ", "))) is not the session's \(local): a restart of networkd moves the interface to it",
                                 fix: "set Address= in \(file.path) to \(local) with its prefix, as the initramfs configured it")
            }
            return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix) with KeepConfiguration=\(keep ?? ""), \(how)")
        }
        let legacy = (file.values("DHCPv4", "CriticalConnection") + file.values("DHCP", "CriticalConnection")).last
        if systemdBoolean(legacy) == true {
            return AuditItem(id: "network", title: title, verdict: .warn,
                             detail: "\(prefix) with the deprecated CriticalConnection=yes",
                             fix: "replace CriticalConnection=yes with KeepConfiguration=yes in [Network] of \(file.path)")
        }
        let current = keep.map { "KeepConfiguration=\($0) does not cover all its addresses" } ?? "no KeepConfiguration="
        return AuditItem(id: "network", title: title, verdict: .fail,
                         detail: "\(prefix), \(current): networkd removes its addresses and routes when it stops or restarts, under the root",
                         fix: "add KeepConfiguration=yes to [Network] in \(file.path) (example: \(InstallLayout(system: system).example("50-iscsi-root.network"))), or Unmanaged=yes in [Link]")
    }

    /// The .network file networkd applies to `interface`: the first matching one in file-name order
    /// (one per name, the earlier directory winning). An empty file or a link to /dev/null masks its
    /// name: it hides the same name in later directories and applies to no interface.
    func matchingNetworkFile(_ interface: String) -> UnitFile? {
        let byName = networkFiles()
        let macAddress = system.attribute("sys/class/net/\(interface)/address").value?.lowercased()
        for name in byName.keys.sorted() {
            guard let path = byName[name], case .success(let text) = system.read(path) else { continue }
            let file = UnitFile(path: "/\(path)", text: text)
            if !file.isEmpty && matches(file, interface: interface, macAddress: macAddress) { return file }
        }
        return nil
    }

    /// The .network files in force, by file name (the earlier directory winning).
    func networkFiles() -> [String: String] {
        var byName: [String: String] = [:]
        for directory in Self.networkDirectories {
            for name in system.list(directory) where name.hasSuffix(".network") && byName[name] == nil {
                byName[name] = "\(directory)/\(name)"
            }
        }
        return byName
    }

    /// `[Match]` with Name= (globs, `!` negation) and MACAddress=; other match keys are not
    /// evaluated and never match. No [Match] keys at all matches every interface.
    func matches(_ file: UnitFile, interface: String, macAddress: String?) -> Bool {
        let keys = file.assignments.filter { $0.section == "Match" }
        for assignment in keys {
            let words = assignment.value.split(separator: " ").map(String.init)
            switch assignment.key {
            case "Name":
                if !Glob.matchesList(words, interface) { return false }
            case "MACAddress", "PermanentMACAddress":
                guard let macAddress, words.contains(where: { $0.lowercased() == macAddress }) else { return false }
            default:
                return false
            }
        }
        return true
    }

    var networkManagerPresent: Bool {
        !ProcessInfo.named("NetworkManager", in: system).isEmpty
            || UnitLookup(system: system).isEnabled("NetworkManager.service")
    }
}
