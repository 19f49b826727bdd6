/// How a dm-multipath map stands now: all paths up, degraded (some down) or no path left.
/// The one place that words it, for `status`, `STATUS=` and the journal.
public struct MapHealth: Sendable, Hashable {
    public let map: MultipathMap
    public let paths: [MultipathPath]
    /// The critical uses (/, /usr, swap) on the map.
    public let carries: [StorageUse]

    public init(_ map: MultipathMap, topology: Topology) {
        self.map = map
        paths = topology.paths(of: map)
        carries = topology.criticalUses(of: map)
    }

    /// Every map of a topology, those under `/`, `/usr` or swap first.
    public static func all(_ topology: Topology) -> [MapHealth] {
        let all = topology.maps.map { MapHealth($0, topology: topology) }
        return all.filter { !$0.carries.isEmpty } + all.filter { $0.carries.isEmpty }
    }

    public var up: [MultipathPath] { paths.filter(\.isUp) }
    public var down: [MultipathPath] { paths.filter { !$0.isUp } }
    public var isDegraded: Bool { !down.isEmpty && !up.isEmpty }
    public var hasNoPath: Bool { up.isEmpty }
    public var isRoot: Bool { !carries.isEmpty }

    /// `1 of 2 paths`.
    public var count: String { "\(up.count) of \(paths.count) path\(paths.count == 1 ? "" : "s")" }

    /// `root degraded: 1 of 2 paths of mpatha (sdb via session2 down)`; `mpathb degraded: …` for a
    /// map that carries nothing critical.
    public var degradedMessage: String {
        let who = isRoot ? "root degraded" : "\(map.name) degraded"
        let which = down.map { "\($0.label) down" }.joined(separator: ", ")
        return "\(who): \(count) of \(map.name) (\(which))"
    }

    /// `no path left for / on mpatha: 0 of 2 paths; I/O is queued until a path returns (…)`.
    public var noPathMessage: String {
        let what = isRoot ? "\(carries.listed) on \(map.name)" : map.name
        return "no path left for \(what): \(count); \(queueingConsequence)"
    }

    /// What I/O does with no path left.
    public var queueingConsequence: String {
        switch map.queueing.queues {
        case true?: "I/O is queued until a path returns (\(map.queueing.detail))"
        case false?: "I/O fails: the map does not queue (\(map.queueing.detail))"
        case nil: "I/O is queued or fails: queue_if_no_path unknown (\(map.queueing.detail))"
        }
    }

    /// Whether I/O stands still on every path that is up (each stalled, the daemon says): the map
    /// has nowhere to fail over, although every session still looks LOGGED_IN (NOPs off on the paths).
    public func everyPathStalled(_ stalled: Set<String>) -> Bool {
        !up.isEmpty && up.allSatisfy { stalled.contains($0.disk) }
    }

    /// `root I/O stalled on every path of mpatha (sda, sdb)`.
    public var allStalledMessage: String {
        "\(isRoot ? "root " : "")I/O stalled on every path of \(map.name) (\(up.map(\.disk).joined(separator: ", "))): nowhere to fail over to; check the target"
    }

    /// `sda via session1 @ 127.0.0.1:3260, sdb via session2 @ 127.0.0.2:3260 DOWN (session FAILED, blocked)`.
    public var pathList: String {
        paths.map { path in
            "\(path.label) @ \(path.session?.portal ?? "?")" + (path.isUp ? "" : " DOWN (\(path.downReason))")
        }.joined(separator: ", ")
    }
}
