/// The Prometheus text exposition format, version 0.0.4 (what node_exporter's textfile collector and
/// `promtool check metrics` read): each metric family once, with `# HELP` and `# TYPE`, then its
/// samples. Label values are escaped as the format demands and cut to a bounded length; samples carry
/// no timestamps (the textfile collector rejects them).
public struct Exposition: Sendable {
    public enum Kind: String, Sendable {
        case gauge, counter, histogram
    }

    /// One line of a family: `name` + `suffix` (`_bucket`, `_sum`, `_count` for histograms), labels, value.
    public struct Sample: Sendable {
        public let suffix: String
        public let labels: [(String, String)]
        public let value: Double

        public init(_ labels: [(String, String)] = [], _ value: Double, suffix: String = "") {
            self.suffix = suffix
            self.labels = labels
            self.value = value
        }
    }

    /// Label values longer than this are cut (an iSCSI name is at most 223 bytes).
    public static let maximumLabelLength = 256

    public private(set) var text = ""
    private var families: Set<String> = []

    public init() {}

    /// Appends a family; one without samples is left out. A name may appear only once.
    public mutating func add(_ name: String, _ kind: Kind, help: String, _ samples: [Sample]) {
        guard !samples.isEmpty else { return }
        precondition(families.insert(name).inserted, "metric family \(name) added twice")
        text += "# HELP \(name) \(Self.escape(help: help))\n# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            text += name + sample.suffix
            if !sample.labels.isEmpty {
                text += "{" + sample.labels.map { "\($0.0)=\"\(Self.escape(labelValue: $0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(Self.format(sample.value))\n"
        }
    }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n`; any other control character (which the format cannot
    /// escape, and which must not reach a terminal through `status --prometheus`) → U+FFFD; cut to
    /// `maximumLabelLength` characters.
    public static func escape(labelValue: String) -> String {
        var escaped = ""
        for character in labelValue.prefix(maximumLabelLength) {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n", "\r\n": escaped += "\\n"
            case _ where character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }):
                escaped.append("\u{FFFD}")
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// HELP text: `\` → `\\`, line feed → `\n`.
    static func escape(help: String) -> String {
        var escaped = ""
        for character in help {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n", "\r\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Whole numbers without a fraction, `+Inf`, `-Inf`, `NaN`, else the shortest exact decimal.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
