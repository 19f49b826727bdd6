/// A point in time as the daemon sees it: monotonic for durations (immune to clock changes),
/// wall clock (microseconds since the Unix epoch) for what people read.
public struct Moment: Sendable, Hashable, Comparable {
    public let monotonic: Duration
    public let wallMicroseconds: Int64

    public init(monotonic: Duration, wallMicroseconds: Int64) {
        self.monotonic = monotonic
        self.wallMicroseconds = wallMicroseconds
    }

    /// The time from `earlier` to this moment.
    public func since(_ earlier: Moment) -> Duration { monotonic - earlier.monotonic }

    public static func < (a: Moment, b: Moment) -> Bool { a.monotonic < b.monotonic }
}

extension Duration {
    /// Whole seconds, rounded down.
    public var wholeSeconds: Int64 { components.seconds }

    /// Whole microseconds, for DURATION_USEC=.
    public var microseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }

    /// `12 s`, `2.5 s`, `3 min 20 s`, `1 h 2 min`.
    public var humanReadable: String {
        let seconds = components.seconds
        if seconds < 10 && seconds >= 0 {
            let tenths = components.attoseconds / 100_000_000_000_000_000
            return tenths == 0 ? "\(seconds) s" : "\(seconds).\(tenths) s"
        }
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds / 60) min \(seconds % 60) s" }
        let minutes = (seconds % 3600) / 60
        return minutes == 0 ? "\(seconds / 3600) h" : "\(seconds / 3600) h \(minutes) min"
    }
}
