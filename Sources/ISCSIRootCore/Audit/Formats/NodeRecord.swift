/// An open-iscsi settings file: a node record (`/etc/iscsi/nodes/<target>/<address>,<port>,<tpgt>/<iface>`)
/// or `iscsid.conf`, one `key = value` per line, `#` comments.
public struct NodeRecord: Sendable, Hashable {
    public static let startup = "node.startup"
    public static let noopOutInterval = "node.conn[0].timeo.noop_out_interval"
    public static let noopOutTimeout = "node.conn[0].timeo.noop_out_timeout"
    public static let replacementTimeout = "node.session.timeo.replacement_timeout"
    public static let discoveryType = "node.discovery_type"

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

    /// The record of a session's node, where iscsid looks for it (idbm_rec_read, when it adopts a session at
    /// its start and for every later re-login): the old single file `address,port` (what `iscsiadm -m node -o new`
    /// writes when no tpgt is given), else the session's exact `address,port,tpgt` with its iface file (or that
    /// entry as a single file, the oldest layout). A record under another tpgt is not the session's: iscsid
    /// never reads it (`iscsiadm -m discovery -t fw` writes tpgt 1 whatever the target's is).
    static func find(in system: FileTree, target: String, address: String, port: Int, tpgt: Int,
                     iface: String) -> NodeRecord? {
        for database in databases {
            let portal = "\(database)/\(target)/\(address),\(port)"
            let exact = "\(portal),\(tpgt)"
            for candidate in [portal, "\(exact)/\(iface)", exact] {
                if case .success(let text) = system.read(candidate) {
                    return NodeRecord(path: "/\(candidate)", text: text)
                }
            }
        }
        return nil
    }

    /// Records of the same target and portal under another tpgt than the session's: iscsid ignores them.
    static func otherPortalGroups(in system: FileTree, target: String, address: String, port: Int, tpgt: Int) -> [String] {
        databases.flatMap { database in
            system.list("\(database)/\(target)")
                .filter { $0.hasPrefix("\(address),\(port),") && $0 != "\(address),\(port),\(tpgt)" }
                .sorted().map { "/\(database)/\(target)/\($0)" }
        }
    }

    /// `node.discovery_type = fw`: the record `iscsiadm -m discovery -t fw` wrote from the iBFT.
    /// `iscsiadm -m node --logoutall` never logs such a node out, whatever its node.startup.
    var isFromFirmware: Bool { values[Self.discoveryType] == "fw" }

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
