/// How one link of the boot/shutdown chain stands.
public enum AuditVerdict: Sendable, Hashable, Comparable, CustomStringConvertible {
    case ok
    /// Could not be decided from the files (e.g. NetworkManager manages the network).
    case unknown
    /// Works today, but a known failure mode is open.
    case warn
    /// The root can be lost: a shutdown or an outage breaks it.
    case fail

    /// The process exit code, like `status`: 0 all ok, 1 warnings or unknowns, 2 failures.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .unknown, .warn: 1
        case .fail: 2
        }
    }

    /// The worst verdict of `verdicts`; `.ok` when there are none.
    public static func worst(_ verdicts: some Sequence<AuditVerdict>) -> AuditVerdict {
        verdicts.max() ?? .ok
    }

    public var description: String {
        switch self {
        case .ok: "ok"
        case .unknown: "unknown"
        case .warn: "warn"
        case .fail: "fail"
        }
    }
}

/// One audited link: a stable id for scripts, what was checked, the verdict, what was found and,
/// unless it is ok, the exact fix.
public struct AuditItem: Sendable, Hashable {
    public let id: String
    public let title: String
    public let verdict: AuditVerdict
    public let detail: String
    public let fix: String?

    public init(id: String, title: String, verdict: AuditVerdict, detail: String, fix: String? = nil) {
        self.id = id
        self.title = title
        self.verdict = verdict
        self.detail = detail
        self.fix = fix
    }
}

/// A problem found by a check: the part of the verdict and detail it contributes, and its fix.
struct CheckFinding {
    let verdict: AuditVerdict
    let detail: String
    let fix: String?

    init(_ verdict: AuditVerdict, _ detail: String, fix: String? = nil) {
        self.verdict = verdict
        self.detail = detail
        self.fix = fix
    }
}

extension AuditItem {
    /// Folds findings into one item: the worst verdict, the details joined, the fixes in order.
    /// No findings means ok with `okDetail`.
    init(id: String, title: String, findings: [CheckFinding], okDetail: String) {
        guard !findings.isEmpty else {
            self.init(id: id, title: title, verdict: .ok, detail: okDetail)
            return
        }
        let fixes = findings.compactMap(\.fix)
        self.init(id: id, title: title, verdict: AuditVerdict.worst(findings.map(\.verdict)),
                  detail: findings.map(\.detail).joined(separator: "; "),
                  fix: fixes.isEmpty ? nil : fixes.joined(separator: "\n"))
    }
}
