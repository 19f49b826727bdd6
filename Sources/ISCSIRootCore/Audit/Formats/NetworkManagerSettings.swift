/// What NetworkManager's files say about the interface under the root: left alone
/// (`unmanaged-devices=`, a `[device]` section with `managed=0`), configured by a keyfile profile
/// (`[ipv4] method=manual` keeps its address; `auto` is DHCP), and `keep-configuration=`.
struct NetworkManagerSettings {
    let system: FileTree

    /// NetworkManager.conf and its drop-ins in the order NetworkManager reads them (later wins).
    var configurationFiles: [UnitFile] {
        var paths: [String] = []
        for directory in ["usr/lib/NetworkManager/conf.d", "run/NetworkManager/conf.d"] {
            paths += system.list(directory).filter { $0.hasSuffix(".conf") }.sorted().map { "\(directory)/\($0)" }
        }
        paths.append("etc/NetworkManager/NetworkManager.conf")
        paths += system.list("etc/NetworkManager/conf.d").filter { $0.hasSuffix(".conf") }.sorted()
            .map { "etc/NetworkManager/conf.d/\($0)" }
        return paths.compactMap { path in
            guard case .success(let text) = system.read(path) else { return nil }
            return UnitFile(path: "/\(path)", text: text)
        }
    }

    /// Keyfile profiles (`*.nmconnection`) bound to `interface` by `interface-name=`.
    func profiles(for interface: String) -> [UnitFile] {
        var result: [UnitFile] = []
        for directory in ["etc/NetworkManager/system-connections", "run/NetworkManager/system-connections"] {
            for name in system.list(directory).sorted() where name.hasSuffix(".nmconnection") {
                guard case .success(let text) = system.read("\(directory)/\(name)") else { continue }
                let file = UnitFile(path: "/\(directory)/\(name)", text: text)
                if file.values("connection", "interface-name").last == interface { result.append(file) }
            }
        }
        return result
    }

    /// A device spec list (`interface-name:eth*;mac:52:54:00:12:34:56;*`) matching the interface.
    static func specMatches(_ list: String, interface: String, macAddress: String?) -> Bool {
        list.split(separator: ";").map { $0.trimmingWhitespace }.contains { spec in
            if spec == "*" { return true }
            if spec.hasPrefix("interface-name:") {
                var pattern = String(spec.dropFirst("interface-name:".count))
                if pattern.hasPrefix("=") || pattern.hasPrefix("~") { pattern.removeFirst() }
                return Glob.matches(pattern, interface)
            }
            if spec.hasPrefix("mac:"), let macAddress { return spec.dropFirst(4).lowercased() == macAddress }
            return false
        }
    }

    func judge(interface: String, session: ISCSISession, localAddress: String?, macAddress: String?) -> AuditItem {
        let title = NetworkCheck.title
        let files = configurationFiles
        for file in files.reversed() {
            if let list = file.values("keyfile", "unmanaged-devices").last,
               Self.specMatches(list, interface: interface, macAddress: macAddress) {
                return AuditItem(id: "network", title: title, verdict: .ok,
                                 detail: "\(interface) carries \(session.name); NetworkManager leaves it alone (unmanaged-devices= in \(file.path))")
            }
            for section in Set(file.assignments.map(\.section)) where section == "device" || section.hasPrefix("device-") {
                let spec = file.values(section, "match-device").last
                if spec.map({ Self.specMatches($0, interface: interface, macAddress: macAddress) }) ?? (section == "device"),
                   systemdBoolean(file.values(section, "managed").last) == false {
                    return AuditItem(id: "network", title: title, verdict: .ok,
                                     detail: "\(interface) carries \(session.name); NetworkManager leaves it alone (managed=0 in [\(section)] of \(file.path))")
                }
            }
        }
        let unmanagedFix = "or leave it to the initramfs: unmanaged-devices=interface-name:\(interface) in [keyfile] of /etc/NetworkManager/conf.d/iscsi-root.conf"
        if let profile = profiles(for: interface).first {
            let method = profile.values("ipv4", "method").last ?? "auto"
            let prefix = "\(interface) carries \(session.name) and NetworkManager configures it with \(profile.path) (ipv4.method=\(method))"
            switch method {
            case "manual":
                let addresses = profile.assignments.filter { $0.section == "ipv4" && $0.key.hasPrefix("address") }
                    .map { String($0.value.split(separator: ",")[0].split(separator: "/")[0]) }
                if let localAddress, !addresses.contains(where: { IPAddress.parse($0) == IPAddress.parse(localAddress) }) {
                    return AuditItem(id: "network", title: title, verdict: .warn,
                                     detail: "\(prefix), but its addresses (\(addresses.joined(separator: ", "))) are not the session's \(localAddress)",
                                     fix: "set ipv4.addresses of \(profile.path) to \(localAddress) with its prefix, \(unmanagedFix)")
                }
                return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix): a static address")
            case "disabled", "ignore":
                return AuditItem(id: "network", title: title, verdict: .ok, detail: "\(prefix): NetworkManager does not touch its IPv4 address")
            default:
                return AuditItem(id: "network", title: title, verdict: .warn,
                                 detail: "\(prefix): DHCP, a renewal can hand out another address under the root",
                                 fix: "give \(interface) a static address (nmcli connection modify ID ipv4.method manual ipv4.addresses \(localAddress ?? "ADDRESS")/PREFIX), a static lease at the DHCP server, \(unmanagedFix)")
            }
        }
        if let off = files.last(where: { file in
            Set(file.assignments.map(\.section)).contains { ($0 == "device" || $0.hasPrefix("device-")) && systemdBoolean(file.values($0, "keep-configuration").last) == false }
        }) {
            return AuditItem(id: "network", title: title, verdict: .fail,
                             detail: "\(interface) carries \(session.name); NetworkManager runs with keep-configuration=no (\(off.path)): at start it replaces the initramfs configuration under the root",
                             fix: "remove keep-configuration=no from \(off.path), \(unmanagedFix)")
        }
        return AuditItem(id: "network", title: title, verdict: .unknown,
                         detail: "\(interface) carries \(session.name); NetworkManager runs and has no profile with interface-name=\(interface): it keeps the initramfs configuration at start (keep-configuration), but whether a generic profile takes the interface over cannot be told from its files",
                         fix: "leave \(interface) to the initramfs: unmanaged-devices=interface-name:\(interface) in [keyfile] of /etc/NetworkManager/conf.d/iscsi-root.conf, or give it a profile with a static address")
    }
}

/// `/etc/network/interfaces` (and `interfaces.d/*`) of ifupdown: the method of an interface's IPv4 stanza.
struct IfupdownInterfaces {
    let system: FileTree

    /// `dhcp`, `static`, `manual` … of `iface NAME inet METHOD`; nil when no stanza names it.
    func method(of interface: String) -> String? {
        var texts: [String] = []
        if case .success(let text) = system.read("etc/network/interfaces") { texts.append(text) }
        for name in system.list("etc/network/interfaces.d").sorted() {
            if case .success(let text) = system.read("etc/network/interfaces.d/\(name)") { texts.append(text) }
        }
        for text in texts {
            for line in text.textLines {
                let words = line.trimmingWhitespace.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if words.count >= 4, words[0] == "iface", words[1] == interface, words[2] == "inet" { return String(words[3]) }
            }
        }
        return nil
    }
}
