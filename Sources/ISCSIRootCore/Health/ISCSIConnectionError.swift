/// The kernel's reason for a connection error (`enum iscsi_err`), as the kernel log's `connection1:0: detected
/// conn error (1022)` gives it (`KernelStorageSignal`).
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
