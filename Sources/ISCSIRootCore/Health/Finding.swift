/// One thing worth telling: what it concerns, how bad, and what it means.
public struct Finding: Sendable, Hashable {
    public let severity: Severity
    /// `session1`, `sda`, `host2`, `/`.
    public let subject: String
    public let message: String
    /// Whether it concerns `/`, `/usr` or swap.
    public let concernsRoot: Bool

    /// `findings` with those concerning `/`, `/usr` or swap first, each group in its given order.
    public static func rootFirst(_ findings: [Finding]) -> [Finding] {
        findings.filter(\.concernsRoot) + findings.filter { !$0.concernsRoot }
    }

    public init(_ severity: Severity, _ subject: String, _ message: String, concernsRoot: Bool = false) {
        self.severity = severity
        self.subject = subject
        self.message = message
        self.concernsRoot = concernsRoot
    }
}
