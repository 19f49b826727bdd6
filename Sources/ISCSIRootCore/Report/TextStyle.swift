/// ANSI colour for severities, only when writing to a terminal.
struct TextStyle {
    let enabled: Bool

    func severity(_ severity: Severity) -> String {
        guard enabled else { return severity.description }
        let code = switch severity {
        case .ok: "32"
        case .warning: "33"
        case .critical: "1;31"
        case .unknown: "35"
        }
        return "\u{1B}[\(code)m\(severity)\u{1B}[0m"
    }
}
