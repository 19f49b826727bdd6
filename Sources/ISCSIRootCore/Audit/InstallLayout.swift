/// Where iscsi-rootd was installed under a system root (`make install` with PREFIX=/usr/local, the
/// default, or /usr as packages do): the fixes `check` prints name the files the install put there,
/// not assumed paths.
struct InstallLayout: Sendable, Hashable {
    /// Highest precedence first, as on systemd's unit search path.
    static let prefixes = ["/usr/local", "/usr"]

    /// `/usr/local` or `/usr`.
    let prefix: String

    /// The prefix that holds the installed service, else the installed examples; `/usr` when neither
    /// is found (a package's layout).
    init(system: FileTree) {
        let marks = ["lib/systemd/system/\(ServiceEnabledCheck.name)", "share/doc/iscsi-rootd/examples"]
        prefix = marks.lazy.compactMap { mark in Self.prefixes.first { system.exists("\($0)/\(mark)") } }.first ?? "/usr"
    }

    /// Where the units and the iscsid drop-ins are.
    var unitDirectory: String { "\(prefix)/lib/systemd/system" }

    /// One of the installed examples (`iscsid.service`, `50-iscsi-root.network`, `iscsi-root-node.sh`).
    func example(_ name: String) -> String { "\(prefix)/share/doc/iscsi-rootd/examples/\(name)" }
}
