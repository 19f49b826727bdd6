import SystemPackage

/// What happened to a root session's recovery_tmo.
public enum SessionTimerResult: Sendable, Hashable {
    case changed(from: RecoveryTimeout, to: RecoveryTimeout)
    /// The kernel takes recovery_tmo only while the session is LOGGED_IN: try again after recovery.
    case busy(String)
    case failed(String)
}

/// Raises `recovery_tmo` on direct sessions that carry `/`, `/usr` or swap to `[Session] RecoveryTimeout=`,
/// so an outage has long enough to heal before I/O fails. Writes only what differs, reads back.
/// Never writes a multipath path session's.
public struct SessionTuner: Sendable {
    public let sysfs: FileTree
    public let policy: RecoveryTimeoutPolicy

    public init(sysfs: FileTree, policy: RecoveryTimeoutPolicy) {
        self.sysfs = sysfs
        self.policy = policy
    }

    /// The value to write to a session, or nil when it carries nothing critical, is a multipath
    /// path session (multipathd owns its recovery_tmo: a long one would stop failover), already
    /// meets the policy, is unknown, or the policy is `keep`.
    public func wantedTimeout(for session: ISCSISession, topology: Topology) -> RecoveryTimeout? {
        guard !topology.isPathSession(session.number),
              !topology.criticalUses(ofSession: session.number).isEmpty,
              let current = session.recoveryTimeout.value, !policy.isMet(by: current) else { return nil }
        switch policy {
        case .atLeast(let seconds): return .seconds(seconds)
        case .off: return .off
        case .keep: return nil
        }
    }

    /// Sets the wanted timeout on one session; nil when there is nothing to do.
    public func tune(_ session: ISCSISession, topology: Topology) -> SessionTimerResult? {
        guard let wanted = wantedTimeout(for: session, topology: topology),
              let current = session.recoveryTimeout.value else { return nil }
        guard session.state.value == .loggedIn else {
            return .busy("\(session.name) is \(session.state.value?.description ?? "in an unknown state"); recovery_tmo is writable only while LOGGED_IN")
        }
        let path = "class/iscsi_session/\(session.name)/recovery_tmo"
        switch sysfs.write(path, wanted.description) {
        case .failure(let error) where error.errno == .resourceBusy:
            return .busy("\(path): \(error.reason); the session left LOGGED_IN")
        case .failure(let error):
            return .failed("cannot write \(wanted) to \(error.path): \(error.reason)")
        case .success:
            break
        }
        let after = sysfs.attribute(path).map(RecoveryTimeout.init(sysfs:))
        guard after.value == wanted else {
            return .failed("wrote \(wanted) but \(sysfs.path(path)) reads back \(after.value?.description ?? after.unknownReason ?? "?")")
        }
        return .changed(from: current, to: wanted)
    }
}
