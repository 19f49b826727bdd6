import CSystemd
import Glibc
import SystemPackage

/// A netlink socket bound to multicast groups, and the listening thread the NETLINK_ISCSI and
/// NETLINK_ROUTE listeners share: the socket is created on its own `DedicatedThread`, which drains
/// it into the consumer's inbox until `stop()` is called.
final class NetlinkMulticastListener<Event: Sendable>: Sendable {
    private let thread: DedicatedThread

    /// Binds to `groups` of `protocolNumber` on a new thread named `name` and starts delivering
    /// what `parse` makes of each datagram from the kernel to `deliver` (false: no room); a
    /// datagram that cannot be parsed, lost messages (`ENOBUFS`) or a full inbox become `overflow`.
    init(name: String, protocolNumber: Int32, groups: UInt32, overflow: Event,
         parse: @escaping @Sendable ([UInt8]) -> [Event]?,
         deliver: @escaping @Sendable (Event) -> Bool) throws(NetlinkSocketError) {
        thread = try DedicatedThread.polling(
            name: name, overflow: overflow, deliver: deliver, wakeEventFailure: NetlinkSocketError.wakeEvent
        ) { () throws(NetlinkSocketError) -> NetlinkDatagrams<Event> in
            NetlinkDatagrams(socket: try NetlinkSocket(protocolNumber: protocolNumber, groups: groups), parse: parse)
        }
    }

    /// Stops the thread and closes the socket. Later calls do nothing.
    func stop() {
        thread.stop()
    }
}

/// Why a netlink socket could not be opened.
enum NetlinkSocketError: Error, Sendable, Hashable {
    /// Joining the groups needs a capability (`EPERM`, `EACCES`).
    case notPermitted
    /// The kernel has no such netlink protocol (`EPROTONOSUPPORT`).
    case protocolNotSupported
    /// Any other failure of `socket` or `bind`.
    case system(call: String, Errno)
    /// The wake `eventfd` could not be created.
    case wakeEvent(Errno)
}

/// A bound netlink socket, owned by one thread.
struct NetlinkSocket: ~Copyable, Sendable {
    let fd: Int32

    init(protocolNumber: Int32, groups: UInt32) throws(NetlinkSocketError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), protocolNumber)
        if fd < 0 {
            if errno == EPROTONOSUPPORT { throw .protocolNotSupported }
            throw .system(call: "socket", Errno(rawValue: errno))
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = groups
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        if bound < 0 {
            let error = errno
            close(fd)
            if error == EPERM || error == EACCES { throw .notPermitted }
            throw .system(call: "bind", Errno(rawValue: error))
        }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// Receives one datagram from the kernel (port 0) without waiting: its byte count, 0 for a
    /// datagram from anyone else (to be ignored), or the errno (`EAGAIN` when there is none).
    func receive(into buffer: inout [UInt8]) -> Result<Int, Errno> {
        var sender = sockaddr_nl()
        var senderSize = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &sender) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &senderSize)
                }
            }
        }
        if count < 0 { return .failure(Errno(rawValue: errno)) }
        // Only the kernel (port 0) speaks for the transport and the routing tables.
        return .success(sender.nl_pid == 0 ? count : 0)
    }

}

/// A multicast listener's socket as its thread polls it: each datagram from the kernel becomes the
/// events `parse` makes of it.
struct NetlinkDatagrams<Event: Sendable>: ~Copyable, PolledSource {
    let socket: NetlinkSocket
    let parse: @Sendable ([UInt8]) -> [Event]?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(socket: consuming NetlinkSocket, parse: @escaping @Sendable ([UInt8]) -> [Event]?) {
        self.socket = socket
        self.parse = parse
    }

    var descriptor: Int32 { socket.fd }

    /// Receives every datagram queued (at most 1024 a turn); a lost message (`ENOBUFS`) or one
    /// `parse` rejects becomes `overflow`.
    mutating func drain(into outlet: SourceOutlet<Event>) {
        for _ in 0..<1024 {
            switch socket.receive(into: &buffer) {
            case .failure(.noBufferSpace):
                outlet.flushOverflow()
            case .failure:
                return
            case .success(0):
                continue
            case .success(let count):
                if let events = parse(Array(buffer[..<count])) {
                    for event in events { outlet.send(event) }
                } else {
                    outlet.flushOverflow()
                }
            }
        }
    }
}
