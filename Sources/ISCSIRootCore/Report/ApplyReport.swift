/// What `iscsi-rootd apply` prints: one line (or JSON object) per disk and setting.
public struct ApplyReport: Sendable {
    public let outcomes: [TuningOutcome]
    /// The iSCSI disks left as multipathd and udev set them (multipath paths; see `DiskPolicy.applies`).
    public let multipathPaths: Int

    public init(outcomes: [TuningOutcome], multipathPaths: Int = 0) {
        self.outcomes = outcomes
        self.multipathPaths = multipathPaths
    }

    /// The multipath paths among `devices`: iSCSI disks `apply` leaves to multipathd.
    public static func multipathPaths(_ devices: [SCSIDevice]) -> Int {
        devices.count { $0.isISCSI && $0.isMultipathPath }
    }

    /// Whether any setting failed (the exit code is then 1).
    public var anyFailed: Bool {
        outcomes.contains { if case .failed = $0.result { true } else { false } }
    }

    /// `sda  2:0:0:0  session1  timeout    changed 30 -> 90`.
    public var text: String {
        if outcomes.isEmpty {
            switch multipathPaths {
            case 0: return "no iSCSI disks to tune\n"
            case 1: return "1 iSCSI disk, a multipath path left to multipathd; nothing to tune\n"
            default: return "\(multipathPaths) iSCSI disks, all multipath paths left to multipathd; nothing to tune\n"
            }
        }
        let rows = outcomes.map { outcome in
            [outcome.disk, outcome.hctl.description, outcome.sessionNumber.map { ISCSISession.name($0) } ?? "-",
             outcome.setting.rawValue, Self.describe(outcome.result)]
        }
        return TextTable.columns(rows.map { $0.map(\.escapedForDisplay) }).joined(separator: "\n") + "\n"
    }

    static func describe(_ result: TuningResult) -> String {
        switch result {
        case .unchanged(let value): "unchanged \(value)"
        case .changed(let from, let to): "changed \(from) -> \(to)"
        case .wouldChange(let from, let to): "would change \(from) -> \(to)"
        case .failed(let reason): "FAILED: \(reason)"
        }
    }

    public var json: JSONValue {
        .object([
            ("version", .string(ISCSIRootVersion.current)),
            ("ok", .bool(!anyFailed)),
            ("results", .array(outcomes.map { outcome in
                var members: [(String, JSONValue)] = [
                    ("disk", .string(outcome.disk)),
                    ("hctl", .string(outcome.hctl.description)),
                    ("session", .optional(outcome.sessionNumber.map { ISCSISession.name($0) })),
                    ("setting", .string(outcome.setting.rawValue)),
                ]
                switch outcome.result {
                case .unchanged(let value):
                    members += [("result", .string("unchanged")), ("value", .string(value))]
                case .changed(let from, let to):
                    members += [("result", .string("changed")), ("from", .string(from)), ("to", .string(to))]
                case .wouldChange(let from, let to):
                    members += [("result", .string("would_change")), ("from", .string(from)), ("to", .string(to))]
                case .failed(let reason):
                    members += [("result", .string("failed")), ("reason", .string(reason))]
                }
                return .object(members)
            })),
        ])
    }
}
