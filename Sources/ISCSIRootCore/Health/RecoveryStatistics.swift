/// How many recovery episodes each session had since the daemon started, and how long the finished
/// ones lasted (a histogram): the counters behind the metrics. Bounded: once more than `limit`
/// sessions are kept, those that are gone are dropped, lowest number first.
public struct RecoveryStatistics: Sendable, Hashable {
    /// Upper bounds of the duration buckets in seconds: from a blip to recovery_tmo's default of a day.
    public static let bucketBounds: [Double] = [1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 86400]

    /// One session's counters.
    public struct Counts: Sendable, Hashable {
        /// Episodes started (open ones included).
        public internal(set) var episodes = 0
        /// Finished episodes whose start the daemon saw, at or below each bound (cumulative).
        public internal(set) var buckets = [Int](repeating: 0, count: RecoveryStatistics.bucketBounds.count)
        public internal(set) var finished = 0
        public internal(set) var secondsSum = 0.0
    }

    /// By session number.
    public private(set) var sessions: [Int: Counts] = [:]
    public let limit: Int

    public init(limit: Int = 64) {
        self.limit = limit
    }

    mutating func episodeStarted(session: Int) {
        sessions[session, default: Counts()].episodes += 1
    }

    /// Adds a finished episode's duration; one that began before the daemon looked has no known
    /// duration and is only counted as an episode.
    mutating func episodeEnded(_ episode: RecoveryEpisode) {
        guard !episode.startedBeforeObservation, let ended = episode.ended else { return }
        let seconds = Double(ended.since(episode.started).microseconds) / 1e6
        var counts = sessions[episode.session, default: Counts()]
        for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound { counts.buckets[index] += 1 }
        counts.finished += 1
        counts.secondsSum += seconds
        sessions[episode.session] = counts
    }

    /// Drops sessions that are gone, lowest number first, while more than `limit` are kept.
    mutating func keep(present: Set<Int>) {
        guard sessions.count > limit else { return }
        for number in sessions.keys.sorted() where !present.contains(number) && sessions.count > limit {
            sessions[number] = nil
        }
    }

    /// As the daemon's view holds them, by session number.
    public var snapshot: [DaemonSnapshot.Recovery] {
        sessions.sorted { $0.key < $1.key }.map { number, counts in
            DaemonSnapshot.Recovery(
                session: ISCSISession.name(number), episodes: counts.episodes, finished: counts.finished,
                secondsSum: counts.secondsSum,
                buckets: zip(Self.bucketBounds, counts.buckets).map { DaemonSnapshot.Recovery.Bucket(le: $0, count: $1) })
        }
    }
}
