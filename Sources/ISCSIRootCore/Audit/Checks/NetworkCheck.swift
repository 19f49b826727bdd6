/// The interface carrying the root session keeps its configuration when the network manager stops or
/// restarts (systemd #28363, #32426: networkd flushing the addresses under an iSCSI root).
struct NetworkCheck {
    let system: FileTree
    let session: ISCSISession

    /// networkd's .network directories, highest precedence first.
    static let networkDirectories = ["etc/systemd/network", "run/systemd/network", "usr/lib/systemd/network",
                                     "lib/systemd/network"]
    static let example = "/usr/share/doc/iscsi-rootd/examples/50-iscsi-root.network"

    var item: AuditItem {
        let title = "network of the root session keeps its configuration"
        guard let address = session.connections.first?.persistentAddress.value else {
            return AuditItem(id: "network", title: title, verdict: .unknown,
                             detail: "the portal address of \(session.name) is unknown")
        }
        guard let interface = RouteTable(system: system).interface(for: address) else {
            return AuditItem(id: "network", title: title, verdict: .unknown,
                             detail: "no route to the portal \(address) in /proc/net/route or /proc/net/ipv6_route")
        }
        if interface == "lo" {
            return AuditItem(id: "network", title: title, verdict: .ok,
                             detail: "the portal \(address) is local (lo): no network manager takes it down")
        }
        if let file = matchingNetworkFile(interface) {
            return judge(file, interface: interface)
        }
        if networkManagerPresent {
            return AuditItem(id: "network", title: title, verdict: .unknown,
                             detail: "\(interface) carries \(session.name); NetworkManager is present and its behaviour at stop is not audited",
                             fix: "make sure NetworkManager leaves \(interface) alone (e.g. unmanaged-devices=interface-name:\(interface) in NetworkManager.conf), or manage it with systemd-networkd and KeepConfiguration=yes")
        }
        return AuditItem(id: "network", title: title, verdict: .ok,
                         detail: "\(interface) carries \(session.name); no systemd-networkd .network file matches it, so the initramfs configuration stays")
    }

    func judge(_ file: UnitFile, interface: String) -> AuditItem {
        let title = "network of the root session keeps its configuration"
        let prefix = "\(interface) carries \(session.name) and is managed by \(file.path)"
        if systemdBoolean(file.values("Link", "Unmanaged").last) == true {
            return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix) with Unmanaged=yes")
        }
        let keep = file.values("Network", "KeepConfiguration").last?.lowercased()
        let usesDHCP = file.values("Network", "DHCP").last.map { systemdBoolean($0) != false } ?? false
        let hasStatic = !file.values("Network", "Address").isEmpty || !file.values("Address", "Address").isEmpty
        let kept: Bool
        switch keep {
        case "yes", "true", "1", "on": kept = true
        case "static": kept = !usesDHCP
        case "dhcp", "dhcp-on-stop": kept = !hasStatic
        default: kept = false
        }
        if kept {
            return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix) with KeepConfiguration=\(keep ?? "")")
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
                         fix: "add KeepConfiguration=yes to [Network] in \(file.path) (example: \(Self.example)), or Unmanaged=yes in [Link]")
    }

    /// The .network file networkd applies to `interface`: the first matching one in file-name order
    /// (one per name, the earlier directory winning).
    func matchingNetworkFile(_ interface: String) -> UnitFile? {
        var byName: [String: String] = [:]
        for directory in Self.networkDirectories {
            for name in system.list(directory) where name.hasSuffix(".network") && byName[name] == nil {
                byName[name] = "\(directory)/\(name)"
            }
        }
        let macAddress = system.attribute("sys/class/net/\(interface)/address").value?.lowercased()
        for name in byName.keys.sorted() {
            guard let path = byName[name], case .success(let text) = system.read(path) else { continue }
            let file = UnitFile(path: "/\(path)", text: text)
            if matches(file, interface: interface, macAddress: macAddress) { return file }
        }
        return nil
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

/// fnmatch-style globs (`*`, `?`, `[...]`) as systemd's match lists use them.
enum Glob {
    /// A systemd match list: `!` before the first word negates the whole list.
    static func matchesList(_ words: [String], _ name: String) -> Bool {
        guard let first = words.first else { return true }
        if first.hasPrefix("!") {
            let patterns = [String(first.dropFirst())] + words.dropFirst()
            return !patterns.contains { matches($0, name) }
        }
        return words.contains { matches($0, name) }
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        matches(Array(pattern), 0, Array(name), 0)
    }

    private static func matches(_ pattern: [Character], _ p: Int, _ name: [Character], _ n: Int) -> Bool {
        if p == pattern.count { return n == name.count }
        switch pattern[p] {
        case "*":
            return (n...name.count).contains { matches(pattern, p + 1, name, $0) }
        case "?":
            return n < name.count && matches(pattern, p + 1, name, n + 1)
        case "[":
            guard n < name.count, let close = pattern[(p + 1)...].firstIndex(of: "]") else { break }
            var set = Array(pattern[(p + 1)..<close])
            let negated = set.first == "!" || set.first == "^"
            if negated { set.removeFirst() }
            var found = false
            var index = 0
            while index < set.count {
                if index + 2 < set.count && set[index + 1] == "-" {
                    if set[index] <= name[n] && name[n] <= set[index + 2] { found = true }
                    index += 3
                } else {
                    if set[index] == name[n] { found = true }
                    index += 1
                }
            }
            return found != negated && matches(pattern, close + 1, name, n + 1)
        default:
            break
        }
        return n < name.count && pattern[p] == name[n] && matches(pattern, p + 1, name, n + 1)
    }
}
