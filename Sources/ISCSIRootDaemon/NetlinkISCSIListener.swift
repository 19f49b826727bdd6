import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// Listens to the kernel's iSCSI transport on NETLINK_ISCSI multicast group 1 (the group iscsid
/// joins; listening does not disturb it) on its own thread, delivering `ISCSIKernelEvent`s.
///
/// Needs CAP_NET_ADMIN (`notPermitted` otherwise) and the `scsi_transport_iscsi` module loaded in
/// the initial network namespace (`protocolNotSupported` otherwise): the daemon then polls only.
public final class NetlinkISCSIListener: Sendable {
    /// The events, as the kernel sent them. A datagram that cannot be parsed, or lost messages,
    /// show up as `.overflow`. Finishes after `stop()`.
    public let events: AsyncStream<ISCSIKernelEvent>
    private let thread: DedicatedThread

    /// Joins the multicast group and starts the listening thread.
    public init(bufferedEventLimit: Int = 1024) throws(NetlinkISCSIError) {
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch { throw .wakeEvent(error) }
        let (events, continuation) = AsyncStream.makeStream(
            of: ISCSIKernelEvent.self, bufferingPolicy: .bufferingOldest(bufferedEventLimit))
        continuation.onTermination = { _ in wake.signal() }
        self.events = events
        thread = try DedicatedThread.start(name: "iscsi-netlink", wake: wake) {
            (wake, started: (Result<Void, NetlinkISCSIError>) -> Void) in
            defer { continuation.finish() }
            let socket: ISCSINetlinkSocket
            do throws(NetlinkISCSIError) {
                socket = try ISCSINetlinkSocket()
            } catch {
                started(.failure(error))
                return
            }
            started(.success(()))
            socket.run(wake: wake, into: StreamOutlet(continuation, overflow: .overflow))
        }
    }

    /// Stops the thread, closes the socket and finishes `events`. Later calls do nothing.
    public func stop() {
        thread.stop()
    }
}

/// Why the NETLINK_ISCSI listener could not start.
public enum NetlinkISCSIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Binding to the multicast group needs CAP_NET_ADMIN (`EPERM`).
    case notPermitted
    /// The kernel has no NETLINK_ISCSI (`EPROTONOSUPPORT`): `scsi_transport_iscsi` is not loaded
    /// yet, or this is not the initial network namespace.
    case protocolNotSupported
    /// Any other failure of `socket` or `bind`.
    case system(call: String, Errno)
    /// The wake `eventfd` could not be created.
    case wakeEvent(Errno)

    public var description: String {
        switch self {
        case .notPermitted:
            "joining NETLINK_ISCSI group 1 needs CAP_NET_ADMIN (EPERM)"
        case .protocolNotSupported:
            "the kernel offers no NETLINK_ISCSI (EPROTONOSUPPORT): scsi_transport_iscsi is not loaded, or this is not the initial network namespace"
        case .system(let call, let errno):
            "\(call) for NETLINK_ISCSI failed: \(errno.symbolicName) (\(errno))"
        case .wakeEvent(let errno):
            "cannot create the NETLINK_ISCSI listener's wake eventfd: \(errno.symbolicName) (\(errno))"
        }
    }
}

/// The bound netlink socket, owned by the listener thread.
private struct ISCSINetlinkSocket: ~Copyable {
    private static let protocolNumber: Int32 = 8  // NETLINK_ISCSI
    private static let iscsidGroup: UInt32 = 1  // ISCSI_NL_GRP_ISCSID
    private let fd: Int32

    init() throws(NetlinkISCSIError) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Self.protocolNumber)
        if fd < 0 {
            if errno == EPROTONOSUPPORT { throw .protocolNotSupported }
            throw .system(call: "socket", Errno(rawValue: errno))
        }
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        address.nl_groups = Self.iscsidGroup
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

    func run(wake: WakeEvent, into outlet: StreamOutlet<ISCSIKernelEvent>) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !outlet.consumerGone {
            switch wake.wait(for: fd, timeoutMilliseconds: outlet.pollTimeoutMilliseconds) {
            case .woken, .failed:
                return
            case .timedOut:
                outlet.flushOverflow()
            case .readable:
                drain(buffer: &buffer, into: outlet)
            }
        }
    }

    private func drain(buffer: inout [UInt8], into outlet: StreamOutlet<ISCSIKernelEvent>) {
        for _ in 0..<1024 where !outlet.consumerGone {
            var sender = sockaddr_nl()
            var senderSize = socklen_t(MemoryLayout<sockaddr_nl>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &sender) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &senderSize)
                    }
                }
            }
            if count < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case ENOBUFS: outlet.send(.overflow)
                default: return
                }
                continue
            }
            // Only the kernel (port 0) speaks for the iSCSI transport.
            guard sender.nl_pid == 0 else { continue }
            do {
                for event in try ISCSIKernelEvent.parse(datagram: buffer[..<count]) { outlet.send(event) }
            } catch {
                outlet.send(.overflow)
            }
        }
    }
}
