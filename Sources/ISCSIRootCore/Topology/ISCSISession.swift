/// An iSCSI session (`/sys/class/iscsi_session/sessionN`), as the kernel's iSCSI transport class
/// (scsi_transport_iscsi) shows it. `username`/`password` are never read.
public struct ISCSISession: Sendable, Hashable {
    /// N of `/sys/class/iscsi_session/sessionN`.
    public let number: Int
    /// Where `/sys/class/iscsi_session/sessionN` leads, less `iscsi_session/sessionN`:
    /// the session's device directory, e.g. `/devices/platform/host2/session1`.
    public let devpath: String
    /// H of the `hostH` directory above `devpath`: the SCSI host the session hangs under.
    public let hostNumber: Int?
    /// `/sys/class/iscsi_session/sessionN/state`.
    public let state: Reading<SessionState>
    /// `/sys/class/iscsi_session/sessionN/target_state`: the target's state in the transport class
    /// (`ALLOCATED`, `SCANNED`, `UNBINDING`, `UNBOUND`).
    public let targetState: Reading<String>
    /// `/sys/class/iscsi_session/sessionN/targetname`: the target's IQN.
    public let targetName: Reading<String>
    /// `/sys/class/iscsi_session/sessionN/tpgt`: the target portal group tag.
    public let tpgt: Reading<Int>
    /// `/sys/class/iscsi_session/sessionN/recovery_tmo`.
    public let recoveryTimeout: Reading<RecoveryTimeout>
    /// `/sys/class/iscsi_session/sessionN/ifacename`: open-iscsi's iface (`default` for iscsi_tcp).
    public let ifaceName: Reading<String>
    /// `/sys/class/iscsi_session/sessionN/initiatorname`: the initiator's IQN.
    public let initiatorName: Reading<String>
    /// `/sys/class/iscsi_session/sessionN/creator`: the pid of the process that created the session
    /// (iscsid, or -1 for a session the kernel made itself).
    public let creator: Reading<Int>
    /// `/sys/class/iscsi_connection/connectionN:C`, sorted by name.
    public let connections: [ISCSIConnection]

    public init(number: Int, devpath: String, hostNumber: Int?, state: Reading<SessionState>,
                targetState: Reading<String>, targetName: Reading<String>, tpgt: Reading<Int>,
                recoveryTimeout: Reading<RecoveryTimeout>, ifaceName: Reading<String>,
                initiatorName: Reading<String>, creator: Reading<Int>, connections: [ISCSIConnection]) {
        self.number = number
        self.devpath = devpath
        self.hostNumber = hostNumber
        self.state = state
        self.targetState = targetState
        self.targetName = targetName
        self.tpgt = tpgt
        self.recoveryTimeout = recoveryTimeout
        self.ifaceName = ifaceName
        self.initiatorName = initiatorName
        self.creator = creator
        self.connections = connections
    }

    /// `session1`: how the kernel names session `number`, and every message, field and label with it.
    public static func name(_ number: Int) -> String { "session\(number)" }

    /// `root session1` when it carries `/`, `/usr` or swap, else `session1`.
    public static func name(_ number: Int, root: Bool) -> String { root ? "root \(name(number))" : name(number) }

    /// `session1`.
    public var name: String { Self.name(number) }

    /// The portal of the first connection.
    public var portal: String? { connections.first?.portal }

    /// Whether any connection has NOP-Outs on.
    public var nopsEnabled: Bool { connections.contains { $0.nopsEnabled } }
}

/// `iscsi_session/sessionN/state`: what the iSCSI transport class says of a session.
public enum SessionState: Sendable, Hashable, CustomStringConvertible {
    /// Logged in; I/O flows (as far as the kernel knows).
    case loggedIn
    /// The connection failed; the session is in recovery until `recovery_tmo` runs out.
    case failed
    /// Recovery timed out (or the session is being torn down): I/O fails.
    case free
    case other(String)

    public init(_ text: String) {
        switch text {
        case "LOGGED_IN": self = .loggedIn
        case "FAILED": self = .failed
        case "FREE": self = .free
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .loggedIn: "LOGGED_IN"
        case .failed: "FAILED"
        case .free: "FREE"
        case .other(let text): text
        }
    }
}

/// The session's replacement (recovery) timeout: how long I/O waits for a failed session before
/// it fails. The kernel shows and takes `off` (stored as -1) for "never give up".
public enum RecoveryTimeout: Sendable, Hashable, CustomStringConvertible {
    case seconds(Int)
    case off

    /// Parses `recovery_tmo`: `off`, or seconds (a negative number also means off).
    public init?(sysfs text: String) {
        if text == "off" {
            self = .off
        } else if let value = Int(bounded: text, in: Int(Int32.min)...Int(Int32.max)) {
            self = value < 0 ? .off : .seconds(value)
        } else {
            return nil
        }
    }

    /// The JSON form: seconds, or -1 for off.
    public var jsonValue: Int {
        switch self {
        case .seconds(let seconds): seconds
        case .off: -1
        }
    }

    public var description: String {
        switch self {
        case .seconds(let seconds): "\(seconds)"
        case .off: "off"
        }
    }
}
