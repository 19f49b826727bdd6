/// An iSCSI connection (`/sys/class/iscsi_connection/connectionS:C`).
public struct ISCSIConnection: Sendable, Hashable {
    /// `connectionS:C` of `/sys/class/iscsi_connection/connectionS:C` (S is the session's number).
    public let name: String
    /// `/sys/class/iscsi_connection/connectionS:C/state`.
    public let state: Reading<ConnectionState>
    /// `/sys/class/iscsi_connection/connectionS:C/persistent_address`: the portal's address.
    public let persistentAddress: Reading<String>
    /// `/sys/class/iscsi_connection/connectionS:C/persistent_port`: the portal's port.
    public let persistentPort: Reading<Int>
    /// `/sys/class/iscsi_connection/connectionS:C/ping_tmo`: how long a NOP-Out waits for
    /// its answer (the node record's `noop_out_timeout`); 0 = NOPs off.
    public let pingTimeout: Reading<Int>
    /// `/sys/class/iscsi_connection/connectionS:C/recv_tmo`: how long the connection may be
    /// idle before a NOP-Out is sent (the node record's `noop_out_interval`); 0 = NOPs off.
    public let receiveTimeout: Reading<Int>

    public init(name: String, state: Reading<ConnectionState>, persistentAddress: Reading<String>,
                persistentPort: Reading<Int>, pingTimeout: Reading<Int>, receiveTimeout: Reading<Int>) {
        self.name = name
        self.state = state
        self.persistentAddress = persistentAddress
        self.persistentPort = persistentPort
        self.pingTimeout = pingTimeout
        self.receiveTimeout = receiveTimeout
    }

    /// `10.0.0.1:3260` or `[fd00::1]:3260`; nil when the address is unknown.
    public var portal: String? {
        guard let address = persistentAddress.value else { return nil }
        let host = address.contains(":") ? "[\(address)]" : address
        if let port = persistentPort.value { return "\(host):\(port)" }
        return host
    }

    /// Whether NOP-Outs are on (either timer above zero).
    public var nopsEnabled: Bool {
        (pingTimeout.value ?? 0) > 0 || (receiveTimeout.value ?? 0) > 0
    }
}

/// `iscsi_connection/connectionN:M/state`.
public enum ConnectionState: Sendable, Hashable, CustomStringConvertible {
    case up, down, failed, bound
    case other(String)

    public init(_ text: String) {
        switch text {
        case "up": self = .up
        case "down": self = .down
        case "failed": self = .failed
        case "bound": self = .bound
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .up: "up"
        case .down: "down"
        case .failed: "failed"
        case .bound: "bound"
        case .other(let text): text
        }
    }
}
