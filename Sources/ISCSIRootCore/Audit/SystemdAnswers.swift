/// What the running systemd says about one unit: `systemctl show -p LoadState -p FragmentPath -p
/// DropInPaths -p UnitFileState`. Empty strings where systemd has no value.
public struct ManagedUnit: Sendable, Hashable {
    /// loaded, not-found, masked, bad-setting, error.
    public let loadState: String
    public let fragmentPath: String
    public let dropInPaths: [String]
    /// enabled, enabled-runtime, disabled, static, masked, … (empty for units without a file).
    public let unitFileState: String

    public init(loadState: String, fragmentPath: String, dropInPaths: [String], unitFileState: String) {
        self.loadState = loadState
        self.fragmentPath = fragmentPath
        self.dropInPaths = dropInPaths
        self.unitFileState = unitFileState
    }
}

/// The running systemd's answers for the units the audit reads (`BootChainAudit.unitNames`), asked
/// once per audit over sd-bus by ISCSIRootDaemon's `SystemdManager`. The audit trusts them over its own
/// reading of the unit search path: systemd knows generators, transient units and every directory.
public struct SystemdAnswers: Sendable, Hashable {
    /// The manager's major version (252 for "252.39-1~deb12u2").
    public let version: Int?
    public let units: [String: ManagedUnit]

    public init(version: Int?, units: [String: ManagedUnit]) {
        self.version = version
        self.units = units
    }

    /// The major version in systemd's `Version` property ("252.39-1~deb12u2", "256.7-1-arch", "v257").
    public static func majorVersion(_ text: String) -> Int? {
        Int(text.drop { $0 == "v" }.prefix(while: \.isNumber))
    }
}
