import ISCSIRootCore
import SystemPackage

/// Listens to the kernel's iSCSI transport on NETLINK_ISCSI multicast group 1 (the group iscsid
/// joins; listening does not disturb it) on its own thread, delivering `ISCSIKernelEvent`s to a
/// consumer's inbox (a datagram that cannot be parsed, or lost messages, as `.overflow`).
///
/// Needs CAP_NET_ADMIN (`notPermitted` otherwise) and the `scsi_transport_iscsi` module loaded in
/// the initial network namespace (`protocolNotSupported` otherwise): the daemon then polls only.
public final class NetlinkISCSIListener: Sendable {
    private let listener: NetlinkMulticastListener<ISCSIKernelEvent>

    /// Joins the multicast group and starts the listening thread, which calls `deliver` with each
    /// event as the kernel sent it (false: no room, `.overflow` follows).
    public init(deliver: @escaping @Sendable (ISCSIKernelEvent) -> Bool) throws(NetlinkISCSIError) {
        do {
            listener = try NetlinkMulticastListener(
                name: "iscsi-netlink", protocolNumber: 8 /* NETLINK_ISCSI */, groups: 1 /* ISCSI_NL_GRP_ISCSID */,
                overflow: .overflow, parse: { try? ISCSIKernelEvent.parse(datagram: $0) }, deliver: deliver)
        } catch {
            switch error {
            case .notPermitted: throw .notPermitted
            case .protocolNotSupported: throw .protocolNotSupported
            case .system(let call, let errno): throw .system(call: call, errno)
            case .wakeEvent(let errno): throw .wakeEvent(errno)
            }
        }
    }

    /// Stops the thread and closes the socket. Later calls do nothing.
    public func stop() {
        listener.stop()
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
