/// One rtnetlink (NETLINK_ROUTE) message, reduced to what decides whether an iSCSI session can reach
/// its portal: links, addresses, routes and policy rules, plus the control messages of a request.
/// The same messages arrive as multicast events and as answers to dumps and route lookups.
public enum RouteNetlinkMessage: Sendable, Hashable {
    /// RTM_NEWLINK (16) or, with `removed`, RTM_DELLINK (17).
    case link(NetworkLink, removed: Bool)
    /// RTM_NEWADDR (20) or, with `removed`, RTM_DELADDR (21).
    case address(InterfaceAddress, removed: Bool)
    /// RTM_NEWROUTE (24) or, with `removed`, RTM_DELROUTE (25); also the answer to RTM_GETROUTE.
    case route(RouteEntry, removed: Bool)
    /// RTM_NEWRULE (32) or RTM_DELRULE (33): policy routing changed.
    case rule(removed: Bool)
    /// NLMSG_ERROR (2): `errno` 0 is an acknowledgement; `sequence` is the request's.
    case error(errno: Int32, sequence: UInt32)
    /// NLMSG_DONE (3): the end of a dump.
    case done(sequence: UInt32)

    /// Parses one datagram: zero or more netlink messages, in host byte order. Message types
    /// that say nothing about reachability (neighbours, qdiscs, …) are skipped.
    public static func parse(datagram: some Collection<UInt8>) throws(RouteNetlinkParseError) -> [RouteNetlinkMessage] {
        let bytes = Array(datagram)
        var messages: [RouteNetlinkMessage] = []
        var offset = 0
        while bytes.count - offset >= 16 {
            let length = Int(bytes.u32(offset))
            guard length >= 16, length <= bytes.count - offset else {
                throw .badMessageLength(offset: offset, length: length, available: bytes.count - offset)
            }
            let type = bytes.u16(offset + 4)
            let sequence = bytes.u32(offset + 8)
            let body = Array(bytes[(offset + 16)..<(offset + length)])
            if let message = try message(type: type, sequence: sequence, body: body) { messages.append(message) }
            offset += (length + 3) & ~3
        }
        return messages
    }

    private static func message(type: UInt16, sequence: UInt32, body: [UInt8]) throws(RouteNetlinkParseError)
        -> RouteNetlinkMessage? {
        func need(_ size: Int) throws(RouteNetlinkParseError) {
            if body.count < size { throw .truncated(type: type, size: body.count, needed: size) }
        }
        switch type {
        case 2:
            try need(4)
            return .error(errno: -Int32(bitPattern: body.u32(0)), sequence: sequence)
        case 3:
            return .done(sequence: sequence)
        case 16, 17:
            // struct ifinfomsg { u8 family, pad; u16 type; s32 index; u32 flags, change }
            try need(16)
            let attributes = Attributes(body, from: 16)
            let link = NetworkLink(index: Int32(bitPattern: body.u32(4)), name: attributes.string(3),
                                   flags: body.u32(8), operationalState: attributes.byte(16).map(OperationalState.init))
            return .link(link, removed: type == 17)
        case 20, 21:
            // struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index }; IFA_LOCAL (2) is the
            // interface's own address, IFA_ADDRESS (1) the peer's on point-to-point links.
            try need(8)
            let attributes = Attributes(body, from: 8)
            guard let raw = attributes[2] ?? attributes[1], let address = IPAddressText.format(raw) else { return nil }
            return .address(InterfaceAddress(interfaceIndex: Int32(bitPattern: body.u32(4)), address: address,
                                             prefixLength: Int(body[1])), removed: type == 21)
        case 24, 25:
            // struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags }
            try need(12)
            let attributes = Attributes(body, from: 12)
            let table = attributes.u32(15) ?? UInt32(body[4])
            let destination = attributes[1].flatMap(IPAddressText.format)
            let route = RouteEntry(
                family: body[0] == 10 ? .ipv6 : .ipv4, destination: destination, prefixLength: Int(body[1]),
                table: table, type: body[7], interfaceIndex: attributes.u32(4).map { Int32(bitPattern: $0) },
                gateway: attributes[5].flatMap(IPAddressText.format), preferredSource: attributes[7].flatMap(IPAddressText.format))
            return .route(route, removed: type == 25)
        case 32, 33:
            return .rule(removed: type == 33)
        default:
            return nil
        }
    }
}

/// A network interface as RTM_NEWLINK describes it.
public struct NetworkLink: Sendable, Hashable {
    public let index: Int32
    public let name: String?
    /// `IFF_*`: IFF_UP (0x1) administratively up, IFF_LOWER_UP (0x10000) carrier.
    public let flags: UInt32
    public let operationalState: OperationalState?

    public init(index: Int32, name: String?, flags: UInt32, operationalState: OperationalState?) {
        self.index = index
        self.name = name
        self.flags = flags
        self.operationalState = operationalState
    }

    public var isUp: Bool { flags & 0x1 != 0 }
    public var hasCarrier: Bool { flags & 0x10000 != 0 }

    /// Why the link carries nothing, or nil when it is up with a carrier.
    public var downReason: String? {
        if !isUp { return "administratively down" }
        if !hasCarrier { return "no carrier" }
        return nil
    }
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`, as `ip link` shows it).
public struct OperationalState: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public var description: String {
        switch rawValue {
        case 0: "UNKNOWN"
        case 1: "NOTPRESENT"
        case 2: "DOWN"
        case 3: "LOWERLAYERDOWN"
        case 4: "TESTING"
        case 5: "DORMANT"
        case 6: "UP"
        default: "state \(rawValue)"
        }
    }
}

/// An address on an interface.
public struct InterfaceAddress: Sendable, Hashable {
    public let interfaceIndex: Int32
    /// `10.0.2.15`, `2001:db8::15`.
    public let address: String
    public let prefixLength: Int

    public init(interfaceIndex: Int32, address: String, prefixLength: Int) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
    }
}

/// A route, as a table holds it or as RTM_GETROUTE answers for one destination.
public struct RouteEntry: Sendable, Hashable {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    public let family: Family
    public let destination: String?
    public let prefixLength: Int
    /// 254 main, 255 local, others from policy rules.
    public let table: UInt32
    /// RTN_*: 1 unicast, 2 local, 3 broadcast, 6 blackhole, 7 unreachable, 8 prohibit.
    public let type: UInt8
    public let interfaceIndex: Int32?
    public let gateway: String?
    /// The source address a new connection would use (`RTA_PREFSRC`).
    public let preferredSource: String?

    public init(family: Family, destination: String?, prefixLength: Int, table: UInt32, type: UInt8,
                interfaceIndex: Int32?, gateway: String?, preferredSource: String?) {
        self.family = family
        self.destination = destination
        self.prefixLength = prefixLength
        self.table = table
        self.type = type
        self.interfaceIndex = interfaceIndex
        self.gateway = gateway
        self.preferredSource = preferredSource
    }

    /// `main`, `local`, or the number.
    public var tableName: String {
        switch table {
        case 254: "main"
        case 255: "local"
        case 253: "default"
        default: String(table)
        }
    }
}

/// A datagram that does not hold well-formed rtnetlink messages.
public enum RouteNetlinkParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case badMessageLength(offset: Int, length: Int, available: Int)
    case truncated(type: UInt16, size: Int, needed: Int)

    public var description: String {
        switch self {
        case .badMessageLength(let offset, let length, let available):
            "rtnetlink message at byte \(offset) claims \(length) bytes; \(available) remain (at least 16 needed)"
        case .truncated(let type, let size, let needed):
            "rtnetlink message of type \(type) has \(size) bytes after its header; \(needed) needed"
        }
    }
}

/// The `struct rtattr` list after a fixed header: type → payload (the first of each type).
struct Attributes {
    private var values: [UInt16: [UInt8]] = [:]

    init(_ bytes: [UInt8], from start: Int) {
        var offset = start
        while bytes.count - offset >= 4 {
            let length = Int(bytes.u16(offset))
            guard length >= 4, length <= bytes.count - offset else { break }
            let type = bytes.u16(offset + 2) & 0x3fff  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            if values[type] == nil { values[type] = Array(bytes[(offset + 4)..<(offset + length)]) }
            offset += (length + 3) & ~3
        }
    }

    subscript(type: UInt16) -> [UInt8]? { values[type] }

    func u32(_ type: UInt16) -> UInt32? {
        guard let value = values[type], value.count >= 4 else { return nil }
        return value.u32(0)
    }

    func byte(_ type: UInt16) -> UInt8? { values[type]?.first }

    /// A NUL-terminated string, bounded by the attribute.
    func string(_ type: UInt16) -> String? {
        values[type].map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Addresses from their 4 or 16 bytes to the usual text (RFC 5952 for IPv6), and back.
public enum IPAddressText {
    /// `10.0.2.15` for 4 bytes, `2001:db8::15` for 16; nil for other sizes.
    public static func format(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return nil }
        let words = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        // The longest run of two or more zero words becomes "::" (the first, when runs tie).
        var best: (start: Int, length: Int) = (-1, 0)
        var index = 0
        while index < 8 {
            guard words[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && words[end] == 0 { end += 1 }
            if end - index > best.length { best = (index, end - index) }
            index = end
        }
        let hex = words.map { String($0, radix: 16) }
        if best.length < 2 { return hex.joined(separator: ":") }
        return hex[..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.length)...].joined(separator: ":")
    }

    /// The bytes of `10.0.2.15` or `2001:db8::15` (brackets allowed); nil for anything else.
    public static func bytes(_ text: String) -> [UInt8]? { IPAddress.parse(text) }
}

extension Array where Element == UInt8 {
    /// The u32 at `offset`, in host byte order (the kernel writes netlink fields that way).
    fileprivate func u32(_ offset: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }

    fileprivate func u16(_ offset: Int) -> UInt16 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    }
}
