import SystemPackage

/// The links and addresses of the daemon's network namespace, kept current from rtnetlink messages
/// (a dump at start and after lost messages, then each event).
public struct NetworkSnapshot: Sendable, Hashable {
    public private(set) var links: [Int32: NetworkLink] = [:]
    public private(set) var addresses: Set<InterfaceAddress> = []

    public init() {}

    /// A snapshot made of dump answers.
    public init(_ messages: [RouteNetlinkMessage]) {
        for message in messages { _ = apply(message) }
    }

    /// Applies one message. Returns whether it can change how a portal is reached (every link,
    /// address, route or rule message can: the kernel flushes routes without telling).
    public mutating func apply(_ message: RouteNetlinkMessage) -> Bool {
        switch message {
        case .link(let link, let removed):
            if removed {
                links[link.index] = nil
                addresses = addresses.filter { $0.interfaceIndex != link.index }
            } else {
                let known = links[link.index]
                links[link.index] = NetworkLink(index: link.index, name: link.name ?? known?.name, flags: link.flags,
                                                operationalState: link.operationalState ?? known?.operationalState)
            }
            return true
        case .address(let address, let removed):
            if removed { addresses.remove(address) } else { addresses.insert(address) }
            return true
        case .route, .rule:
            return true
        case .error, .done:
            return false
        }
    }

    /// `eth0`, or `interface 3` for an index without a known name.
    public func name(ofInterface index: Int32) -> String {
        links[index]?.name ?? "interface \(index)"
    }

    /// The interfaces that hold `address` (compared as bytes, so `2001:db8::15` and
    /// `2001:0db8::0015` are the same).
    public func interfaces(holding address: String) -> [Int32] {
        guard let bytes = IPAddressText.bytes(address) else { return [] }
        return addresses.filter { IPAddressText.bytes($0.address) == bytes }.map(\.interfaceIndex).sorted()
    }

    /// The global addresses of an interface in one family (4 or 16 bytes), sorted.
    func addresses(ofInterface index: Int32, size: Int) -> [String] {
        addresses.filter { address in
            guard address.interfaceIndex == index, let bytes = IPAddressText.bytes(address.address) else { return false }
            return bytes.count == size && !(bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)  // not fe80::/10
        }.map(\.address).sorted()
    }
}

/// The kernel's answer to "which way would you send a packet to this address now".
public enum RouteLookup: Sendable, Hashable {
    case route(RouteEntry)
    /// The kernel has no route (`ENETUNREACH`, `EHOSTUNREACH`, …).
    case unreachable(Errno)
    /// The question could not be asked or answered.
    case unknown(String)
}
