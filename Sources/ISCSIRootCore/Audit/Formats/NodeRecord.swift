/// An open-iscsi settings file: a node record (`/etc/iscsi/nodes/<target>/<address>,<port>,<tpgt>/<iface>`)
/// or `iscsid.conf`, one `key = value` per line, `#` comments.
public struct NodeRecord: Sendable, Hashable {
    public static let startup = "node.startup"
    public static let noopOutInterval = "node.conn[0].timeo.noop_out_interval"
    public static let noopOutTimeout = "node.conn[0].timeo.noop_out_timeout"
    public static let replacementTimeout = "node.session.timeo.replacement_timeout"

    /// Where it was read from.
    let path: String
    let values: [String: String]

    init(path: String, text: String) {
        self.path = path
        var values: [String: String] = [:]
        for line in text.textLines {
            let trimmed = line.trimmingWhitespace
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            values[trimmed[..<equals].trimmingWhitespace] = trimmed[trimmed.index(after: equals)...].trimmingWhitespace
        }
        self.values = values
    }

    /// The node databases, newest layout's location first (Debian/Arch use /etc, Fedora /var/lib).
    static let databases = ["etc/iscsi/nodes", "var/lib/iscsi/nodes"]

    /// The record of a session's node: the per-iface file of the current layout, else the older
    /// single file per portal.
    /// The portal entry is `address,port,tpgt`; a record made with `iscsiadm -m node -o new` (no
    /// discovery, tpgt unknown) is the single file `address,port`, so any entry of the portal is taken
    /// when the exact one is missing.
    static func find(in system: FileTree, target: String, address: String, port: Int, tpgt: Int,
                     iface: String) -> NodeRecord? {
        for database in databases {
            let portals = system.list("\(database)/\(target)")
                .filter { $0 == "\(address),\(port)" || $0.hasPrefix("\(address),\(port),") }
            let exact = "\(address),\(port),\(tpgt)"
            for portalDirectory in [exact] + portals.filter({ $0 != exact }).sorted() {
                let portal = "\(database)/\(target)/\(portalDirectory)"
                for candidate in ["\(portal)/\(iface)", portal] {
                    if case .success(let text) = system.read(candidate) {
                        return NodeRecord(path: "/\(candidate)", text: text)
                    }
                }
            }
        }
        return nil
    }

    /// Why the node databases cannot be searched by this user (they are root's, mode 0700 or
    /// 0600 on Debian): then "no record" would be a guess. Nil when they can (or do not exist).
    static func unreadableDatabase(in system: FileTree) -> String? {
        for database in databases where system.hasEntry(database) {
            if case .failure(let error) = system.checkSearchable(database) {
                return "cannot read \(error.path): \(error.reason); run check as root"
            }
        }
        return nil
    }
}
