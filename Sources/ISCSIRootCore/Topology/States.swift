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

/// `scsi_device`'s `device/state`.
public enum DeviceState: Sendable, Hashable, CustomStringConvertible {
    case running
    /// I/O is queued while the transport recovers.
    case blocked
    /// The transport gave up: I/O fails at once.
    case transportOffline
    /// The SCSI error handler gave up: I/O fails at once.
    case offline
    case other(String)

    public init(_ text: String) {
        switch text {
        case "running": self = .running
        case "blocked", "created-blocked": self = .blocked
        case "transport-offline": self = .transportOffline
        case "offline": self = .offline
        default: self = .other(text)
        }
    }

    public var description: String {
        switch self {
        case .running: "running"
        case .blocked: "blocked"
        case .transportOffline: "transport-offline"
        case .offline: "offline"
        case .other(let text): text
        }
    }
}
