/// The firmware's iSCSI boot record: the iSCSI Boot Firmware Table (iBFT) that an iSCSI boot ROM (iPXE's
/// `sanhook`, a NIC's option ROM) leaves for the OS, as the kernel's `iscsi_ibft` module shows it under
/// `/sys/firmware/ibft` (`initiator`, `targetN`, `ethernetN`; drivers/firmware/iscsi_ibft.c). It says what
/// the firmware logged in to before Linux ran; it carries no session timers. An attribute the firmware left
/// empty is absent (the module hides zero addresses and empty strings), and so is nil here.
public struct FirmwareBoot: Sendable, Hashable {
    /// `/sys/firmware/ibft/targetN`.
    public struct Target: Sendable, Hashable {
        /// N of `targetN`.
        public let index: Int
        /// `target-name`: the target's IQN.
        public let name: String?
        /// `ip-addr`: dotted IPv4, or the full IPv6 form (`%pI6`).
        public let address: String?
        /// `port`.
        public let port: Int?
        /// `lun` as the kernel prints it: the eight LUN bytes, each `%x` without padding (LUN 1: `01000000`).
        public let lunText: String?
        /// `nic-assoc`: N of the `ethernetN` the firmware reached the target through.
        public let nicIndex: Int?

        public init(index: Int, name: String?, address: String?, port: Int?, lunText: String?, nicIndex: Int?) {
            self.index = index
            self.name = name
            self.address = address
            self.port = port
            self.lunText = lunText
            self.nicIndex = nicIndex
        }

        /// `target0`.
        public var directoryName: String { "target\(index)" }

        /// `10.0.2.2:3262`, `[fd00::1]:3260`.
        public var portal: String? {
            guard let address else { return nil }
            let host = address.contains(":") ? "[\(address)]" : address
            return port.map { "\(host):\($0)" } ?? host
        }

        /// The LUN as Linux numbers it (scsilun_to_int), when the kernel's text can be read back: with eight
        /// digits every byte was below 16 and printed as one digit. Longer text is ambiguous (`%x` without
        /// padding: `110…` may be 0x11,0x0 or 0x1,0x10), so nil: show `lunText` then.
        public var lun: Int? {
            guard let lunText, lunText.count == 8 else { return nil }
            let bytes = lunText.compactMap { $0.hexDigitValue }
            guard bytes.count == 8 else { return nil }
            var lun = 0
            for level in stride(from: 0, to: 8, by: 2) {
                lun |= ((bytes[level] << 8) | bytes[level + 1]) << (level * 8)
            }
            return lun
        }

        /// `LUN 1`, or the kernel's text when it cannot be decoded.
        public var lunDescription: String {
            lun.map { "LUN \($0)" } ?? lunText.map { "LUN bytes \($0)" } ?? "LUN unknown"
        }
    }

    /// How the firmware configured a NIC (`origin`: the IP address origin of the iBFT specification, as in
    /// RFC 4293's IpAddressOriginTC; a DHCP server address in `dhcp` when it used one).
    public enum AddressOrigin: Sendable, Hashable, CustomStringConvertible {
        case dhcp
        case manual
        /// Another origin (`origin` as a number), or none given.
        case other(Int?)

        /// From `origin` and whether `dhcp` (the DHCP server's address) is present.
        init(origin: Int?, dhcpServer: String?) {
            if dhcpServer != nil || origin == 3 {
                self = .dhcp
            } else if origin == 1 {
                self = .manual
            } else {
                self = .other(origin)
            }
        }

        public var description: String {
            switch self {
            case .dhcp: "DHCP"
            case .manual: "static"
            case .other(let origin?): "origin \(origin)"
            case .other(nil): "origin unknown"
            }
        }

        /// `dhcp`, `static`, `other`: the JSON and metrics label.
        public var label: String {
            switch self {
            case .dhcp: "dhcp"
            case .manual: "static"
            case .other: "other"
            }
        }
    }

    /// `/sys/firmware/ibft/ethernetN`.
    public struct NIC: Sendable, Hashable {
        /// N of `ethernetN`.
        public let index: Int
        /// `mac`, lower case (`52:54:00:12:34:56`).
        public let mac: String?
        /// `ip-addr`.
        public let address: String?
        /// `prefix-len`.
        public let prefixLength: Int?
        public let gateway: String?
        /// `dhcp`: the DHCP server the firmware got its address from.
        public let dhcpServer: String?
        /// `origin`.
        public let origin: Int?
        /// The kernel's name of the interface with this MAC (`eth0`, `ens3`, or `ibft0` when dracut renamed
        /// it): whatever the kernel calls it now. Nil when no interface has the MAC.
        public let interface: String?

        public init(index: Int, mac: String?, address: String?, prefixLength: Int?, gateway: String?,
                    dhcpServer: String?, origin: Int?, interface: String?) {
            self.index = index
            self.mac = mac
            self.address = address
            self.prefixLength = prefixLength
            self.gateway = gateway
            self.dhcpServer = dhcpServer
            self.origin = origin
            self.interface = interface
        }

        /// `ethernet0`.
        public var directoryName: String { "ethernet\(index)" }

        public var addressOrigin: AddressOrigin { AddressOrigin(origin: origin, dhcpServer: dhcpServer) }

        /// `eth0 (52:54:00:12:34:56) 10.0.2.15/24 by DHCP from 10.0.2.2, gateway 10.0.2.2`.
        public var summary: String {
            var text = "\(interface ?? "no interface") (\(mac ?? "MAC unknown"))"
            if let address { text += " \(address)\(prefixLength.map { "/\($0)" } ?? "")" }
            switch addressOrigin {
            case .dhcp: text += " by DHCP" + (dhcpServer.map { " from \($0)" } ?? "")
            case .manual: text += " static"
            case .other: text += " (\(addressOrigin))"
            }
            if let gateway { text += ", gateway \(gateway)" }
            return text
        }
    }

    /// `initiator/initiator-name`.
    public let initiatorName: String?
    /// Sorted by index.
    public let targets: [Target]
    /// Sorted by index.
    public let nics: [NIC]

    public init(initiatorName: String?, targets: [Target], nics: [NIC]) {
        self.initiatorName = initiatorName
        self.targets = targets
        self.nics = nics
    }

    /// The directory the kernel shows the table in, relative to sysfs.
    public static let directory = "firmware/ibft"
    /// At most this many targets and NICs are read (the iBFT has two of each; a hostile tree is bounded).
    static let maximumEntries = 16

    /// The table under `sysfs` (a tree rooted at /sys); nil when there is none (no iBFT, or `iscsi_ibft`
    /// not loaded).
    public static func read(sysfs: FileTree) -> FirmwareBoot? {
        guard sysfs.exists(directory) else { return nil }
        let entries = sysfs.list(directory)
        func indexes(_ prefix: String) -> [Int] {
            Array(entries.compactMap { TopologyScanner.number(after: prefix, in: $0) }.sorted().prefix(maximumEntries))
        }
        func text(_ path: String) -> String? {
            sysfs.attribute("\(directory)/\(path)").value.flatMap { $0.isEmpty ? nil : $0 }
        }
        func number(_ path: String) -> Int? {
            text(path).flatMap { Int(bounded: $0, in: 0...Int(Int32.max)) }
        }
        let macs = interfacesByMAC(sysfs: sysfs)
        let targets = indexes("target").map { index in
            let directory = "target\(index)"
            return Target(index: index, name: text("\(directory)/target-name"), address: text("\(directory)/ip-addr"),
                          port: number("\(directory)/port"), lunText: text("\(directory)/lun"),
                          nicIndex: number("\(directory)/nic-assoc"))
        }
        let nics = indexes("ethernet").map { index in
            let directory = "ethernet\(index)"
            let mac = text("\(directory)/mac")?.lowercased()
            return NIC(index: index, mac: mac, address: text("\(directory)/ip-addr"),
                       prefixLength: number("\(directory)/prefix-len"), gateway: text("\(directory)/gateway"),
                       dhcpServer: text("\(directory)/dhcp"), origin: number("\(directory)/origin"),
                       interface: mac.flatMap { macs[$0] })
        }
        return FirmwareBoot(initiatorName: text("initiator/initiator-name"), targets: targets, nics: nics)
    }

    /// `sys/class/net/*/address` → interface name (the first in name order when two share a MAC).
    static func interfacesByMAC(sysfs: FileTree) -> [String: String] {
        var byMAC: [String: String] = [:]
        for name in sysfs.list("class/net").sorted().prefix(4096) {
            guard let mac = sysfs.attribute("class/net/\(name)/address").value?.lowercased(), byMAC[mac] == nil else { continue }
            byMAC[mac] = name
        }
        return byMAC
    }

    /// The NIC a target names (`nic-assoc`), else the only NIC.
    public func nic(of target: Target) -> NIC? {
        if let index = target.nicIndex, let nic = nics.first(where: { $0.index == index }) { return nic }
        return nics.count == 1 ? nics[0] : nil
    }

    /// The target a session is compared with: the one with its IQN, else the first.
    public func target(for session: ISCSISession) -> Target? {
        targets.first { $0.name != nil && $0.name == session.targetName.value } ?? targets.first
    }

    /// How the live session differs from the firmware's record (target, portal, initiator): empty when it is
    /// the session the firmware booted. Unknown values on either side are not differences.
    public func differences(from session: ISCSISession) -> [String] {
        guard let target = target(for: session) else { return ["the iBFT names no target"] }
        var differences: [String] = []
        if let firmware = target.name, let live = session.targetName.value, firmware != live {
            differences.append("target \(live), the firmware's is \(firmware)")
        }
        if let connection = session.connections.first, let live = connection.persistentAddress.value,
           let firmware = target.address, !Self.sameAddress(live, firmware) {
            differences.append("portal address \(live), the firmware's is \(firmware)")
        } else if let live = session.connections.first?.persistentPort.value, let firmware = target.port, live != firmware {
            differences.append("port \(live), the firmware's is \(firmware)")
        }
        if let firmware = initiatorName, let live = session.initiatorName.value, firmware != live {
            differences.append("initiator \(live), the firmware's is \(firmware)")
        }
        return differences
    }

    /// Two address texts for the same address (the kernel prints iBFT IPv6 addresses in full, sessions compressed).
    static func sameAddress(_ a: String, _ b: String) -> Bool {
        if let x = IPAddress.parse(a), let y = IPAddress.parse(b) { return x == y }
        return a == b
    }

    /// `target0 iqn…:target @ 10.0.2.2:3262 LUN 1 as iqn…:client, via ethernet0 eth0 (52:54:…) 10.0.2.15/24 by DHCP…`.
    public func summary(of target: Target) -> String {
        var text = "\(target.directoryName) \(target.name ?? "target unknown") @ \(target.portal ?? "portal unknown") \(target.lunDescription)"
        text += " as \(initiatorName ?? "initiator unknown")"
        if let nic = nic(of: target) { text += ", via \(nic.directoryName) \(nic.summary)" }
        return text
    }
}

extension FirmwareBoot {
    /// The firmware's record beside the live root session: `status`'s line, JSON and metrics, and its
    /// finding when they differ (another target or initiator: whoever debugs the boot is looking at the
    /// wrong thing, or the initramfs ignored the firmware).
    public struct RootComparison: Sendable, Hashable {
        public let firmware: FirmwareBoot
        /// The first session under `/` (nil when `/` is not on iSCSI).
        public let session: ISCSISession?
        /// The iBFT target compared with it.
        public let target: FirmwareBoot.Target?
        /// Empty when the root session is the one the firmware booted.
        public let differences: [String]

        public init?(_ firmware: FirmwareBoot?, topology: Topology) {
            guard let firmware else { return nil }
            self.firmware = firmware
            session = topology.root.flatMap { topology.sessions(of: $0).first }
            target = session.flatMap(firmware.target(for:)) ?? firmware.targets.first
            differences = session.map(firmware.differences(from:)) ?? []
        }

        /// Whether the root session is the firmware's: nil when `/` is on no iSCSI session.
        public var matches: Bool? { session == nil ? nil : differences.isEmpty }

        /// `firmware (iBFT): target0 iqn… @ 10.0.2.2:3262 LUN 1 as iqn…, via ethernet0 eth0 (…) …; root session1 is it`.
        public var line: String {
            let record = target.map(firmware.summary(of:)) ?? "no target (initiator \(firmware.initiatorName ?? "unknown"))"
            let verdict = switch (session, matches) {
            case (let session?, true?): "; root \(session.name) is it"
            case (let session?, _): "; root \(session.name) is NOT it: \(differences.joined(separator: ", "))"
            default: "; / is on no iSCSI session"
            }
            return "firmware (iBFT): \(record)\(verdict)"
        }

        /// A warning when the root session is not the firmware's.
        var finding: Finding? {
            guard let session, matches == false else { return nil }
            return Finding(.warning, session.name,
                           "not the session the firmware booted (iBFT \(target?.directoryName ?? "")): \(differences.joined(separator: ", "))",
                           concernsRoot: true)
        }
    }
}
