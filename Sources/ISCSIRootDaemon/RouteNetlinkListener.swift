import ISCSIRootCore
import SystemPackage

/// Listens to NETLINK_ROUTE multicast groups (links, IPv4 and IPv6 addresses, routes and policy
/// rules) on its own thread: the moment an address, a link or a route under an iSCSI session
/// changes, the event loop hears of it. No capability is needed; it describes the daemon's own
/// network namespace.
public final class RouteNetlinkListener: Sendable {
    /// A message from the kernel, or `.overflow` when messages were lost: re-read everything.
    public enum Event: Sendable, Hashable {
        case message(RouteNetlinkMessage)
        case overflow
    }

    /// RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE, RTMGRP_IPV4_RULE, RTMGRP_IPV6_IFADDR,
    /// RTMGRP_IPV6_ROUTE, and RTNLGRP_IPV6_RULE (group 19).
    static let groups: UInt32 = 0x1 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | (1 << 18)

    private let listener: NetlinkMulticastListener<Event>

    /// Joins the groups and starts the listening thread, which calls `deliver` with each event
    /// (false: no room, `.overflow` follows).
    public init(deliver: @escaping @Sendable (Event) -> Bool) throws(RouteNetlinkError) {
        do {
            listener = try NetlinkMulticastListener(
                name: "iscsi-rtnetlink", protocolNumber: 0 /* NETLINK_ROUTE */, groups: Self.groups, overflow: .overflow,
                parse: { datagram in (try? RouteNetlinkMessage.parse(datagram: datagram)).map { $0.map(Event.message) } },
                deliver: deliver)
        } catch {
            throw RouteNetlinkError(error)
        }
    }

    /// Stops the thread and closes the socket. Later calls do nothing.
    public func stop() {
        listener.stop()
    }
}

/// Why a NETLINK_ROUTE socket could not be opened or a request failed.
public struct RouteNetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }

    init(_ error: NetlinkSocketError) {
        switch error {
        case .notPermitted: description = "joining the NETLINK_ROUTE groups was refused (EPERM)"
        case .protocolNotSupported: description = "the kernel offers no NETLINK_ROUTE (EPROTONOSUPPORT)"
        case .system(let call, let errno): description = "\(call) for NETLINK_ROUTE failed: \(errno.symbolicName) (\(errno))"
        case .wakeEvent(let errno): description = "cannot create the rtnetlink listener's wake eventfd: \(errno.symbolicName) (\(errno))"
        }
    }
}
