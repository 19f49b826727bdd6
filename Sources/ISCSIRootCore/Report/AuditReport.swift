/// What `iscsi-rootd check` prints: each link of the boot/shutdown chain with its verdict and fix.
public struct AuditReport: Sendable {
    public let items: [AuditItem]

    public init(items: [AuditItem]) {
        self.items = items
    }

    public var worst: AuditVerdict { AuditVerdict.worst(items.map(\.verdict)) }

    /// Items that are not ok, as one line each (for the daemon's journal entries and STATUS).
    public var problems: [String] {
        items.filter { $0.verdict != .ok }.map { "\($0.id): \($0.verdict) — \($0.detail)" }
    }

    /// `ok    fstab          / has _netdev …`, then indented fix lines.
    public var text: String {
        var lines: [String] = []
        let width = items.map(\.id.count).max() ?? 0
        for item in items {
            let verdict = item.verdict.description.uppercased()
            lines.append(verdict + String(repeating: " ", count: 8 - verdict.count)
                + item.id + String(repeating: " ", count: width - item.id.count) + "  " + item.title)
            lines.append(String(repeating: " ", count: 10 + width) + item.detail)
            if let fix = item.fix {
                for (index, line) in fix.split(separator: "\n").enumerated() {
                    lines.append(String(repeating: " ", count: 10 + width) + (index == 0 ? "fix: " : "     ") + line)
                }
            }
        }
        return lines.map(\.escapedForDisplay).joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        .object([
            ("version", .string(ISCSIRootVersion.current)),
            ("overall", .string(worst.description)),
            ("items", .array(items.map { item in
                .object([
                    ("id", .string(item.id)),
                    ("title", .string(item.title)),
                    ("verdict", .string(item.verdict.description)),
                    ("detail", .string(item.detail)),
                    ("fix", .optional(item.fix)),
                ])
            })),
        ])
    }
}
