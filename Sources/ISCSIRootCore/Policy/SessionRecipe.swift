/// The iSCSI-root recommendation for a session that carries `/`, `/usr` or swap, by its role
/// (open-iscsi README): a direct session wants NOPs off, so a busy or briefly stalled link is not
/// declared dead, and a recovery_tmo of at least a day (or off), so an outage waits instead of
/// failing the root; a multipath path session wants NOPs on, so a dead path is noticed, and a
/// recovery_tmo of at most 15 s, so its I/O fails over. The one home of both recipes and of how
/// NOP timers are worded.
public enum SessionRecipe: Sendable, Hashable {
    case direct
    case multipathPath

    /// The recipe of `session`'s role in `topology`.
    public init(_ session: ISCSISession, in topology: Topology) {
        self = topology.isPathSession(session.number) ? .multipathPath : .direct
    }

    /// Whether the recipe wants NOP-Outs on.
    public var wantsNops: Bool { self == .multipathPath }

    /// The node record's `noop_out_interval` and `noop_out_timeout` the recipe asks for.
    public var nopValues: (interval: Int, timeout: Int) {
        switch self {
        case .direct: (0, 0)
        case .multipathPath: (Configuration.multipathNopInterval, Configuration.multipathNopTimeout)
        }
    }

    /// Whether `timeout` meets the recipe: a day or more (or off) for a direct session, 15 s or
    /// less for a path.
    public func isMet(byRecoveryTimeout timeout: RecoveryTimeout) -> Bool {
        switch self {
        case .direct: RecoveryTimeoutPolicy.atLeast(Configuration.recommendedRecoveryTimeout).isMet(by: timeout)
        case .multipathPath: Configuration.isMultipathRecoveryTimeout(timeout)
        }
    }

    /// Whether the session's live NOPs and recovery_tmo are what the recipe wants (an unknown
    /// recovery_tmo is not).
    public func isMet(by session: ISCSISession) -> Bool {
        guard let timeout = session.recoveryTimeout.value else { return false }
        return session.nopsEnabled == wantsNops && isMet(byRecoveryTimeout: timeout)
    }

    /// `set node.conn[0].timeo.noop_out_interval = 0 and node.conn[0].timeo.noop_out_timeout = 0`.
    public var nopSetting: String {
        "set \(NodeRecord.noopOutInterval) = \(nopValues.interval) and \(NodeRecord.noopOutTimeout) = \(nopValues.timeout)"
    }

    /// The iscsiadm command that writes the recipe's NOP values into `target`'s node record.
    public func nopCommand(target: String) -> String {
        "iscsiadm -m node -T \(target) -o update -n \(NodeRecord.noopOutInterval) -v \(nopValues.interval) and -n \(NodeRecord.noopOutTimeout) -v \(nopValues.timeout)"
    }

    /// A connection's NOP timers as sysfs names them: `ping_tmo 5 recv_tmo 5` (`?` when unreadable).
    public static func nopTimers(_ connection: ISCSIConnection) -> String {
        "ping_tmo \(connection.pingTimeout.value.map(String.init) ?? "?") recv_tmo \(connection.receiveTimeout.value.map(String.init) ?? "?")"
    }

    /// Every connection's: `connection1:0 ping_tmo 5 recv_tmo 5, connection1:1 …`.
    public static func nopTimers(_ session: ISCSISession) -> String {
        session.connections.map { "\($0.name) \(nopTimers($0))" }.joined(separator: ", ")
    }

    /// The short form of `status`'s session lines: `NOPs 5/5 s` (ping_tmo/recv_tmo of each
    /// connection, `,` between them), `NOPs - s` without a connection.
    public static func nopTimersColumn(_ session: ISCSISession) -> String {
        let timers = session.connections.map {
            "\($0.pingTimeout.value.map(String.init) ?? "?")/\($0.receiveTimeout.value.map(String.init) ?? "?")"
        }.joined(separator: ",")
        return "NOPs \(timers.isEmpty ? "-" : timers) s"
    }
}
