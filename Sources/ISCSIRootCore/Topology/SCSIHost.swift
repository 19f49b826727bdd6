/// A SCSI host (`/sys/class/scsi_host/hostN`), with the iSCSI host attributes where there are any.
public struct SCSIHost: Sendable, Hashable {
    /// N of `/sys/class/scsi_host/hostN`.
    public let number: Int
    /// `/sys/class/scsi_host/hostN/state`.
    public let state: Reading<HostState>
    /// `/sys/class/iscsi_host/hostN/netdev`: set for offloading HBAs, "not set" for iscsi_tcp.
    public let netdev: Reading<String>
    /// `/sys/class/iscsi_host/hostN/ipaddress`: the initiator's address, once a session is bound.
    public let ipAddress: Reading<String>

    public init(number: Int, state: Reading<HostState>, netdev: Reading<String>, ipAddress: Reading<String>) {
        self.number = number
        self.state = state
        self.netdev = netdev
        self.ipAddress = ipAddress
    }

    /// `host2`.
    public var name: String { "host\(number)" }
}

/// `scsi_host/hostN/state`. It shows `recovery` only while the SCSI error handler runs.
public enum HostState: Sendable, Hashable, CustomStringConvertible {
    case running
    /// Any of the kernel's recovery states (`recovery`, `cancel/recovery`, `del/recovery`).
    case recovery(String)
    case other(String)

    public init(_ text: String) {
        if text == "running" {
            self = .running
        } else if text.hasSuffix("recovery") {
            self = .recovery(text)
        } else {
            self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .running: "running"
        case .recovery(let text), .other(let text): text
        }
    }
}
