/// The iSCSI-root settings an initramfs passes to its login (`iscsistart -P`, dracut's
/// `rd.iscsi.param=`): NOP-Outs off and a replacement timeout of at least a day.
struct RootLoginParameters: Sendable, Hashable {
    /// Every `KEY=VALUE` of the three settings found in `text` (a kernel command line, a hook, a
    /// config file); the last one of each key wins.
    let values: [String: String]
    /// The program whose defaults an unset key gets (iscsistart, or iscsiadm for dracut).
    let login: String

    static let keys = [NodeRecord.noopOutInterval, NodeRecord.noopOutTimeout, NodeRecord.replacementTimeout]

    init(text: String, login: String = "iscsistart") {
        self.login = login
        var values: [String: String] = [:]
        let words = text.split { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\"" || $0 == "'" || $0 == "\\" }
        for word in words {
            for key in Self.keys {
                guard let range = word.range(of: key + "=") else { continue }
                values[key] = String(word[range.upperBound...].prefix { $0.isNumber })
            }
        }
        self.values = values
    }

    /// What is missing or wrong, one phrase each (empty: all three are right).
    var problems: [String] {
        var problems: [String] = []
        for key in [NodeRecord.noopOutInterval, NodeRecord.noopOutTimeout] where values[key] != "0" {
            problems.append("\(key) \(values[key].map { "= \($0)" } ?? "not set (\(login)'s default 5)")")
        }
        let replacement = values[NodeRecord.replacementTimeout]
        if (replacement.flatMap { Int($0) } ?? 0) < Configuration.recommendedRecoveryTimeout {
            problems.append("\(NodeRecord.replacementTimeout) \(replacement.map { "= \($0)" } ?? "not set (\(login)'s default 120)")")
        }
        return problems
    }

    /// The settings as `-P` arguments of iscsistart / words of a kernel command line.
    static let recommended = [
        "\(NodeRecord.noopOutInterval)=0", "\(NodeRecord.noopOutTimeout)=0",
        "\(NodeRecord.replacementTimeout)=\(Configuration.recommendedRecoveryTimeout)",
    ]
}
