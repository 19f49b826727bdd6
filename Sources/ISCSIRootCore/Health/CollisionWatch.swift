/// Recognises the signature of two initiators logging in with one initiator name (a golden image's
/// `/etc/iscsi/initiatorname.iscsi` on every client): the target ends the older session whenever
/// the other client logs in (RFC 7143 session reinstatement: same initiator name and ISID), so a
/// healthy session fails and recovers again and again while the network under it stays up, each
/// client's relogin ending the other's session. Journals it once per episode, with the counts.
/// Pure: it reads the events the trackers produced, after `NetworkWatch.attributeCauses`.
public struct CollisionWatch: Sendable {
    /// This many endings of one session within `window`, none with a network cause, make the signature.
    public static let endings = 3
    public static let window = Duration.seconds(180)
    /// An episode ends after this long without an ending; the next signature is journaled again.
    public static let quiet = Duration.seconds(300)

    struct Episode: Sendable {
        /// Endings not explained by the network, newest last (at most `endings` kept before the
        /// signature, then only counted).
        var recent: [Moment] = []
        var count = 0
        var first: Moment?
        var last: Moment?
        var journaled = false
    }

    private var episodes: [Int: Episode] = [:]

    public init() {}

    /// `events` as journaled; `topology` for the session's initiator name; `networkWatched` whether
    /// rtnetlink watched the path (else the message says the network was not watched).
    public mutating func observe(_ events: [HealthEvent], topology: Topology, networkWatched: Bool, at now: Moment) -> [HealthEvent] {
        for (number, episode) in episodes {
            if let last = episode.last, now.since(last) > Self.quiet { episodes[number] = nil }
        }
        var found: [HealthEvent] = []
        for event in events where event.kind == .sessionFailed && event.fields[.likelyCause] == nil {
            guard let name = event.fields[.session], let number = TopologyScanner.number(after: "session", in: name),
                  event.fields[.previousState] == SessionState.loggedIn.description,
                  !topology.isPathSession(number) else { continue }
            var episode = episodes[number] ?? Episode()
            episode.count += 1
            episode.first = episode.first ?? event.at
            episode.last = event.at
            episode.recent.append(event.at)
            episode.recent.removeAll { event.at.since($0) > Self.window }
            if episode.recent.count > Self.endings { episode.recent.removeFirst(episode.recent.count - Self.endings) }
            if !episode.journaled, episode.recent.count >= Self.endings, let session = topology.session(number) {
                episode.journaled = true
                found.append(signature(session, endings: episode.recent.count, since: episode.recent[0],
                                       fields: event.fields, networkWatched: networkWatched, at: event.at))
            }
            episodes[number] = episode
        }
        return found
    }

    func signature(_ session: ISCSISession, endings: Int, since: Moment, fields: [JournalField: String],
                   networkWatched: Bool, at now: Moment) -> HealthEvent {
        var fields = fields
        fields[.state] = nil
        fields[.previousState] = nil
        let initiator = session.initiatorName.value
        if let initiator { fields[.initiatorName] = initiator }
        fields[.sessionEndings] = String(endings)
        fields[.durationMicroseconds] = String(now.since(since).microseconds)
        let network = networkWatched ? "while its network path stayed up" : "with no network loss seen (the network is not watched)"
        let name = initiator.map { "the same initiator name (\($0))" } ?? "the same initiator name"
        return HealthEvent(.initiatorNameCollision,
            "\(session.name) to \(session.targetName.value ?? "?") was ended \(endings) times in \(now.since(since).humanReadable) "
                + "\(network), recovering each time: likely cause another client logging in with \(name); "
                + "the target ends the older session at each such login. Give each client its own name ('iscsi-rootd check' names the fix)",
            fields: fields, at: now)
    }
}
