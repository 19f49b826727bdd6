/// How bad something is, in the monitoring-plugin convention (the exit code of `status`).
public enum Severity: Int, Sendable, Hashable, Comparable, CustomStringConvertible {
    case ok = 0
    case warning = 1
    case critical = 2
    /// The tree could not be read at all.
    case unknown = 3

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    public var description: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }

    /// The JSON form: `ok`, `warning`, `critical`, `unknown`.
    public var jsonName: String { description.lowercased() }
}
