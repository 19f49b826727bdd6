/// An event the kernel's iSCSI transport multicasts on NETLINK_ISCSI group 1: a doorbell. The daemon polls
/// sysfs at once on it and reads what happened there and in the kernel log, whose `detected conn error (N)`
/// line `KernelStorageSignal` decodes (the one decoder of a connection error); so only the event's type is read.
///
/// Not sent: the recovery timeout (FAILED → FREE) and the return to LOGGED_IN; polling sees those.
public enum ISCSIKernelEvent: Sendable, Hashable {
    /// `ISCSI_KEVENT_CONN_ERROR` (102): the connection failed; the session goes FAILED.
    case connectionError
    /// `ISCSI_KEVENT_CREATE_SESSION` (106).
    case sessionCreated
    /// `ISCSI_KEVENT_DESTROY_SESSION` (104).
    case sessionDestroyed
    /// `ISCSI_KEVENT_UNBIND_SESSION` (105): logout started; the SCSI target is being removed.
    case sessionUnbound
    /// Messages were lost (`ENOBUFS`): re-poll everything.
    case overflow

    /// Parses one datagram from the NETLINK_ISCSI socket: zero or more netlink messages, each
    /// carrying a `struct iscsi_uevent` (include/scsi/iscsi_if.h) whose first u32, in host byte order, is its
    /// type. Events the daemon does not act on (received login PDUs, path requests, …) are skipped.
    public static func parse(datagram: some Collection<UInt8>) throws(NetlinkParseError) -> [ISCSIKernelEvent] {
        let bytes = Array(datagram)
        var events: [ISCSIKernelEvent] = []
        var offset = 0
        while bytes.count - offset >= netlinkHeaderSize {
            let length = Int(bytes.uint32(at: offset))
            guard length >= netlinkHeaderSize, length <= bytes.count - offset else {
                throw .badMessageLength(offset: offset, length: length, available: bytes.count - offset)
            }
            let payloadSize = length - netlinkHeaderSize
            guard payloadSize >= 4 else { throw .truncated(size: payloadSize) }
            switch bytes.uint32(at: offset + netlinkHeaderSize) {
            case 102: events.append(.connectionError)
            case 104: events.append(.sessionDestroyed)
            case 105: events.append(.sessionUnbound)
            case 106: events.append(.sessionCreated)
            default: break
            }
            offset += (length + 3) & ~3  // NLMSG_ALIGN
        }
        return events
    }

    /// `struct nlmsghdr`.
    private static let netlinkHeaderSize = 16
}

/// A datagram that does not hold well-formed netlink messages.
public enum NetlinkParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A netlink header's length field is below the header size or beyond the datagram.
    case badMessageLength(offset: Int, length: Int, available: Int)
    /// A message too short to hold an iscsi_uevent's type.
    case truncated(size: Int)

    public var description: String {
        switch self {
        case .badMessageLength(let offset, let length, let available):
            "netlink message at byte \(offset) claims \(length) bytes; \(available) remain (at least 16 needed)"
        case .truncated(let size):
            "iscsi_uevent truncated to \(size) bytes (its type needs 4)"
        }
    }
}

extension Array where Element == UInt8 {
    /// The u32 at `offset`, in host byte order (the kernel writes netlink fields that way).
    fileprivate func uint32(at offset: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}
