import CSystemd
import Glibc
import Synchronization
import ISCSIRootCore
import SystemPackage

/// Asks the kernel over NETLINK_ROUTE, on the caller's thread: the links and addresses there are,
/// and the route it would use to reach an address (RTM_GETROUTE, so policy rules and every table
/// count, which `/proc/net/route` cannot show). The kernel answers while the request is sent;
/// every wait is bounded.
public final class RouteNetlinkQuery: Sendable {
    private let socket: NetlinkSocket
    private let sequence = Counter()

    public init() throws(RouteNetlinkError) {
        do { socket = try NetlinkSocket(protocolNumber: 0, groups: 0) } catch { throw RouteNetlinkError(error) }
    }

    /// Every link and every address (two dumps), as RTM_NEWLINK and RTM_NEWADDR messages.
    public func dumpLinksAndAddresses() -> Result<[RouteNetlinkMessage], RouteNetlinkError> {
        var messages: [RouteNetlinkMessage] = []
        // RTM_GETLINK with a struct ifinfomsg, RTM_GETADDR with a struct ifaddrmsg; NLM_F_REQUEST | NLM_F_DUMP.
        for (type, header) in [(UInt16(18), [UInt8](repeating: 0, count: 16)), (UInt16(22), [UInt8](repeating: 0, count: 8))] {
            let answer = exchange(type: type, flags: 0x301, body: header) { message in
                switch message {
                case .done, .error: true
                default: false
                }
            }
            switch answer {
            case .success(let answer):
                if case .error(let errno, _)? = answer.last, errno != 0 {
                    return .failure(RouteNetlinkError("the kernel refused an rtnetlink dump: \(Errno(rawValue: errno))"))
                }
                messages += answer
            case .failure(let error):
                return .failure(error)
            }
        }
        return .success(messages)
    }

    /// The route the kernel would use now to reach `address` (RTM_GETROUTE with
    /// RTM_F_LOOKUP_TABLE, so the table a policy rule chose is named).
    public func route(to address: String) -> RouteLookup {
        guard let destination = IPAddressText.bytes(address) else { return .unknown("\(address) is not an IP address") }
        // struct rtmsg { family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags } + RTA_DST
        var body: [UInt8] = [destination.count == 4 ? 2 : 10, UInt8(destination.count * 8), 0, 0, 0, 0, 0, 0]
        body += Self.bytes(UInt32(0x1000))
        body += Self.bytes(UInt16(4 + destination.count)) + Self.bytes(UInt16(1)) + destination
        let answer = exchange(type: 26, flags: 0x1, body: body) { message in
            switch message {
            case .route, .error: true
            default: false
            }
        }
        switch answer {
        case .failure(let error):
            return .unknown(error.description)
        case .success(let messages):
            for message in messages {
                switch message {
                case .route(let route, _): return .route(route)
                case .error(let errno, _) where errno != 0: return .unreachable(Errno(rawValue: errno))
                default: continue
                }
            }
            return .unknown("the kernel sent no route for \(address)")
        }
    }

    /// The interface the kernel would send to `address` through, for `check`.
    public func portalRoute(to address: String) -> PortalRoute {
        switch route(to: address) {
        case .route(let route):
            guard let index = route.interfaceIndex else { return .unknown("the route to \(address) names no interface") }
            if route.type == 2 { return .interface("lo") }  // RTN_LOCAL: the portal is this machine
            guard case .success(let messages) = dumpLinksAndAddresses() else { return .unknown("the links could not be listed") }
            return .interface(NetworkSnapshot(messages).name(ofInterface: index))
        case .unreachable(let errno):
            return .unknown("no route (\(errno.symbolicName))")
        case .unknown(let reason):
            return .unknown(reason)
        }
    }

    /// Sends one request and collects the messages of its answer until `isLast` says so.
    private func exchange(type: UInt16, flags: UInt16, body: [UInt8],
                          until isLast: (RouteNetlinkMessage) -> Bool) -> Result<[RouteNetlinkMessage], RouteNetlinkError> {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Whatever an earlier, abandoned request left behind is not this answer.
        while case .success = socket.receive(into: &buffer) {}
        let number = sequence.next()
        let request = Self.bytes(UInt32(16 + body.count)) + Self.bytes(type) + Self.bytes(flags) + Self.bytes(number)
            + Self.bytes(UInt32(0)) + body
        let sent = request.withUnsafeBytes { send(socket.fd, $0.baseAddress, $0.count, 0) }
        if sent < 0 { return .failure(RouteNetlinkError("sending an rtnetlink request failed: \(Errno(rawValue: errno))")) }
        var messages: [RouteNetlinkMessage] = []
        for _ in 0..<10_000 {
            var descriptor = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 500)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return .failure(RouteNetlinkError("the kernel did not answer an rtnetlink request within 0.5 s")) }
            switch socket.receive(into: &buffer) {
            case .failure(.resourceTemporarilyUnavailable), .success(0):
                continue
            case .failure(let errno):
                return .failure(RouteNetlinkError("receiving an rtnetlink answer failed: \(errno)"))
            case .success(let count):
                let parsed: [RouteNetlinkMessage]
                do { parsed = try RouteNetlinkMessage.parse(datagram: buffer[..<count]) } catch {
                    return .failure(RouteNetlinkError("an rtnetlink answer did not parse: \(error)"))
                }
                for message in parsed {
                    messages.append(message)
                    if isLast(message) { return .success(messages) }
                }
            }
        }
        return .failure(RouteNetlinkError("an rtnetlink answer did not end"))
    }

    private static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}

/// Request sequence numbers.
private final class Counter: Sendable {
    private let value = Mutex<UInt32>(0)

    func next() -> UInt32 {
        value.withLock { $0 &+= 1; return $0 }
    }
}
