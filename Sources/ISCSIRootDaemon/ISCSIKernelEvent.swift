/// An event the kernel's iSCSI transport multicasts on NETLINK_ISCSI group 1, reduced to what
/// the daemon acts on: re-poll the session at once.
///
/// Not sent: the recovery timeout (FAILED → FREE) and the return to LOGGED_IN; polling sees those.
public enum ISCSIKernelEvent: Sendable, Hashable {
    /// `ISCSI_KEVENT_CONN_ERROR` (102): the connection failed; the session goes FAILED.
    case connectionError(session: UInt32, connection: UInt32, error: ISCSIConnectionError)
    /// `ISCSI_KEVENT_CREATE_SESSION` (106).
    case sessionCreated(session: UInt32, host: UInt32)
    /// `ISCSI_KEVENT_DESTROY_SESSION` (104).
    case sessionDestroyed(session: UInt32, host: UInt32)
    /// `ISCSI_KEVENT_UNBIND_SESSION` (105): logout started; the SCSI target is being removed.
    case sessionUnbound(session: UInt32, host: UInt32)
    /// Messages were lost (`ENOBUFS`): re-poll everything.
    case overflow

    /// Parses one datagram from the NETLINK_ISCSI socket: zero or more netlink messages, each
    /// carrying a `struct iscsi_uevent` in host byte order (include/scsi/iscsi_if.h). Events the
    /// daemon does not act on (received login PDUs, path requests, …) are skipped.
    public static func parse(datagram: some Collection<UInt8>) throws(NetlinkParseError) -> [ISCSIKernelEvent] {
        let bytes = Array(datagram)
        var events: [ISCSIKernelEvent] = []
        var offset = 0
        while bytes.count - offset >= Layout.netlinkHeaderSize {
            let length = Int(bytes.uint32(at: offset))
            guard length >= Layout.netlinkHeaderSize, length <= bytes.count - offset else {
                throw .badMessageLength(offset: offset, length: length, available: bytes.count - offset)
            }
            let payload = bytes[(offset + Layout.netlinkHeaderSize)..<(offset + length)]
            if let event = try event(in: Array(payload)) { events.append(event) }
            offset += (length + 3) & ~3  // NLMSG_ALIGN
        }
        return events
    }

    private static func event(in uevent: [UInt8]) throws(NetlinkParseError) -> ISCSIKernelEvent? {
        guard uevent.count >= Layout.typeSize else { throw .truncated(type: nil, size: uevent.count) }
        let type = uevent.uint32(at: 0)
        guard Layout.handledTypes.contains(type) else { return nil }
        guard uevent.count >= Layout.returnOffset + Layout.returnSize else {
            throw .truncated(type: type, size: uevent.count)
        }
        let first = uevent.uint32(at: Layout.returnOffset)
        let second = uevent.uint32(at: Layout.returnOffset + 4)
        switch type {
        case Layout.connectionError:
            // struct msg_conn_error { sid, cid, error }
            let error = uevent.uint32(at: Layout.returnOffset + 8)
            return .connectionError(session: first, connection: second, error: ISCSIConnectionError(rawValue: error))
        case Layout.createSession:
            // struct msg_create_session_ret { sid, host_no }
            return .sessionCreated(session: first, host: second)
        case Layout.unbindSession:
            // struct msg_unbind_session { sid, host_no }
            return .sessionUnbound(session: first, host: second)
        default:
            // struct msg_session_destroyed { host_no, sid }
            return .sessionDestroyed(session: second, host: first)
        }
    }

    /// Offsets in `struct nlmsghdr` and `struct iscsi_uevent`.
    private enum Layout {
        static let netlinkHeaderSize = 16
        static let typeSize = 4
        // type, iferror (u32 each), transport_handle (u64), then the 24-byte request union `u`.
        static let returnOffset = 4 + 4 + 8 + 24
        // The fields of the reply union `r` read here: three u32.
        static let returnSize = 12

        static let connectionError: UInt32 = 102
        static let destroySession: UInt32 = 104
        static let unbindSession: UInt32 = 105
        static let createSession: UInt32 = 106
        static let handledTypes: Set<UInt32> = [connectionError, destroySession, unbindSession, createSession]
    }
}

/// The kernel's reason for a connection error (`enum iscsi_err`).
public struct ISCSIConnectionError: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// 1020: the target closed the TCP connection (or it was reset).
    public static let tcpConnectionClosed = ISCSIConnectionError(rawValue: 1020)
    /// 1022: a NOP-Out ping got no answer within `ping_tmo`.
    public static let nopTimedOut = ISCSIConnectionError(rawValue: 1022)

    /// The kernel's name for the code, as in "detected conn error (1020)" messages.
    public var name: String? {
        switch rawValue {
        case 1011: "ISCSI_ERR_CONN_FAILED"
        case 1013: "ISCSI_ERR_SESSION_FAILED"
        case 1019: "ISCSI_ERR_XMIT_FAILED"
        case 1020: "ISCSI_ERR_TCP_CONN_CLOSE"
        case 1021: "ISCSI_ERR_SCSI_EH_SESSION_RST"
        case 1022: "ISCSI_ERR_NOP_TIMEDOUT"
        default: nil
        }
    }

    /// `ISCSI_ERR_TCP_CONN_CLOSE (1020)`, or just the number for codes without a name here.
    public var description: String {
        name.map { "\($0) (\(rawValue))" } ?? "\(rawValue)"
    }
}

/// A datagram that does not hold well-formed netlink messages.
public enum NetlinkParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A netlink header's length field is below the header size or beyond the datagram.
    case badMessageLength(offset: Int, length: Int, available: Int)
    /// An iscsi_uevent too short for its type (`nil` when even the type is missing).
    case truncated(type: UInt32?, size: Int)

    public var description: String {
        switch self {
        case .badMessageLength(let offset, let length, let available):
            "netlink message at byte \(offset) claims \(length) bytes; \(available) remain (at least 16 needed)"
        case .truncated(let type, let size):
            "iscsi_uevent\(type.map { " of type \($0)" } ?? "") truncated to \(size) bytes"
        }
    }
}

extension Array where Element == UInt8 {
    /// The u32 at `offset`, in host byte order (the kernel writes netlink fields that way).
    fileprivate func uint32(at offset: Int) -> UInt32 {
        withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}
