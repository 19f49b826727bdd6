/// `--color=auto|always|never`: whether text output is coloured.
public enum ColorMode: String, Sendable, CaseIterable {
    /// Colour on a terminal, unless `NO_COLOR` is set to a non-empty value (no-color.org).
    case auto
    case always
    case never

    /// Whether to colour: `terminal` is whether standard output is one, `noColor` the value of
    /// `NO_COLOR` (nil when unset). An explicit `always` or `never` wins over the environment.
    public func enabled(terminal: Bool, noColor: String?) -> Bool {
        switch self {
        case .always: true
        case .never: false
        case .auto: terminal && (noColor ?? "").isEmpty
        }
    }
}
