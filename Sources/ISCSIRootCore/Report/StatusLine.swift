/// The one human line for `STATUS=`: the worst thing going on, root first, from sysfs as scanned
/// and the daemon's view (`DaemonSnapshot`: episodes, stalls, damage, audit problems), the same
/// value the state file and the metrics are written from.
public enum StatusLine {
    public static func compose(topology: Topology, configuration: Configuration, view: DaemonSnapshot,
                               network: String? = nil) -> String {
        let stalls = view.stalls
        if let worst = view.damage.first {
            return worst.message
        }
        // A root map's paths come before stalls: a cut path stalls its disk until the session fails
        // over, and what matters then is how many paths the root has left.
        let maps = MapHealth.all(topology).filter { !$0.paths.isEmpty }
        if let lost = maps.first(where: { $0.isRoot && $0.hasNoPath }) {
            return lost.noPathMessage
        }
        if let degraded = maps.first(where: { $0.isRoot && $0.isDegraded }) {
            return degraded.degradedMessage
        }
        if let stalled = maps.first(where: { $0.isRoot && $0.everyPathStalled(Set(stalls.map(\.disk))) }) {
            return stalled.allStalledMessage
        }
        // A root session cut off from its portal: the cause of the stalls and recoveries that follow.
        if let network {
            return network
        }
        if let stall = stalls.first(where: \.root) ?? stalls.first {
            return StallTracker.stallMessage(disk: stall.disk, root: stall.root, duration: DaemonSnapshot.duration(stall.seconds),
                                             session: topology.sessions.first { $0.name == stall.session },
                                             timeout: topology.device(disk: stall.disk)?.timeout.value)
        }
        // Open episodes come first, root first.
        if let episode = view.episodes.first, episode.endedMicroseconds == nil {
            let who = episode.root ? "root \(episode.session)" : episode.session
            let elapsed = DaemonSnapshot.duration(episode.seconds)
            if episode.ioFailingSinceMicroseconds != nil {
                return "I/O FAILING \(who): recovery timed out after \(elapsed.humanReadable) (\(episode.cause))"
            }
            let left = episode.secondsLeft.flatMap { $0.isFinite ? "in \(DaemonSnapshot.duration($0).wholeSeconds) s" : nil }
                ?? "never (recovery_tmo off)"
            return "RECOVERY \(who) \(elapsed.wholeSeconds) s, I/O errors \(left)"
        }
        if let map = maps.first(where: { $0.hasNoPath }) { return map.noPathMessage }
        if let map = maps.first(where: { $0.isDegraded }) { return map.degradedMessage }
        let disks = topology.iscsiDevices.filter(configuration.disk.applies)
        let tuned = disks.filter(configuration.disk.isTuned).count
        var tunedText = tuned == disks.count ? "\(tuned) disk\(tuned == 1 ? "" : "s") tuned" : "\(tuned) of \(disks.count) disks tuned"
        if disks.isEmpty && !maps.isEmpty { tunedText = "path disks left to multipathd" }
        let auditProblems = view.auditProblems.count
        if auditProblems > 0 {
            tunedText += "; \(auditProblems) boot-chain problem\(auditProblems == 1 ? "" : "s") (iscsi-rootd check)"
        }
        if let root = maps.first(where: \.isRoot) {
            return "root \(root.map.name) (\(root.count) up) via \(root.paths.compactMap { $0.session?.name }.joined(separator: ", ")); \(tunedText)"
        }
        guard let root = topology.root, let session = topology.sessions(of: root).first else {
            return "root \(topology.root?.untraced != nil ? "unknown" : "not on iSCSI"); \(topology.sessions.count) session\(topology.sessions.count == 1 ? "" : "s"); \(tunedText)"
        }
        return "root \(root.disks.first ?? root.source) via \(session.name) \(session.state.value?.description ?? "unknown"); \(tunedText)"
    }
}
