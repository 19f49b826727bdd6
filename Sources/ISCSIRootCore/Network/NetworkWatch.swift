/// Something wrong with the way from a root session to its portal.
public enum NetworkProblem: Sendable, Hashable, CustomStringConvertible {
    case linkDown(interface: String, reason: String)
    case linkGone(interface: String)
    case addressGone(address: String, interface: String, replacement: String?)
    case noRoute(portal: String, reason: String)
    case routeMoved(from: String, to: String)
    case sourceChanged(from: String, to: String)

    /// Whether the session cannot reach its portal while this lasts (else the path only changed).
    public var cutsOff: Bool {
        switch self {
        case .linkDown, .linkGone, .addressGone, .noRoute: true
        case .routeMoved, .sourceChanged: false
        }
    }

    public var description: String {
        switch self {
        case .linkDown(let interface, let reason): "\(interface) is down (\(reason))"
        case .linkGone(let interface): "\(interface) is gone"
        case .addressGone(let address, let interface, let replacement):
            "\(address) was removed from \(interface)" + (replacement.map { " (\($0) is there instead)" } ?? "")
        case .noRoute(let portal, let reason): "no route to \(portal) (\(reason))"
        case .routeMoved(let from, let to): "the route to the portal moved from \(from) to \(to)"
        case .sourceChanged(let from, let to): "a reconnect would come from \(to), not \(from)"
        }
    }
}

/// One root session's way to its portal as the kernel describes it now.
public struct SessionNetworkPath: Sendable, Hashable {
    public let session: Int
    public let carries: [StorageUse]
    /// `10.0.2.2:3260`.
    public let portal: String?
    /// The session's own address (`iscsi_host/hostN/ipaddress`, the last one read).
    public let localAddress: String?
    public let interface: String?
    public let route: RouteLookup
    public let problems: [NetworkProblem]

    public var reachable: Bool { !problems.contains(where: \.cutsOff) }
}

/// A time a root session's path to its portal was cut: from the first loss until the path has been
/// back for `NetworkWatch.flapWindow`. Losses within that window (a flapping link) count here
/// instead of opening new episodes.
public struct NetworkEpisode: Sendable, Hashable {
    public let session: Int
    public let carries: [StorageUse]
    public let portal: String?
    public let interface: String?
    public let started: Moment
    /// What cut it first: "10.0.2.15 was removed from eth0".
    public let cause: String
    public internal(set) var losses: Int
    /// When the path came back last; nil while it is cut.
    public internal(set) var restored: Moment?
    public internal(set) var ended: Moment?
    /// The stalls and recoveries that named this episode as their likely cause (at most 10).
    public internal(set) var consequences: [String]

    public var isCutOff: Bool { restored == nil && ended == nil }
}

/// Judges the network under each root session from rtnetlink's view (`snapshot`) and the kernel's
/// route answers, and turns changes into journal events: a loss at once, its recovery, a changed
/// path. Bounded: a flapping link is one episode with at most four entries. Pure: time is given.
public struct NetworkWatch: Sendable {
    /// What the engine knows of one root session when it asks. Never a multipath path's session: its
    /// map judges a lost path (PathTracker: degraded, not the root cut off).
    public struct Input: Sendable {
        public let session: ISCSISession
        public let host: SCSIHost?
        public let carries: [StorageUse]
        /// The kernel's answer for the portal's address.
        public let route: RouteLookup

        public init(session: ISCSISession, host: SCSIHost?, carries: [StorageUse], route: RouteLookup) {
            self.session = session
            self.host = host
            self.carries = carries
            self.route = route
        }
    }

    /// What a session's path looked like when it was last healthy.
    struct Baseline: Sendable {
        var localAddress: String?
        var interfaceIndex: Int32?
        var interfaceName: String?
        /// The last path change journaled, so it is said once.
        var noted: [NetworkProblem] = []
    }

    public var snapshot = NetworkSnapshot()
    public private(set) var paths: [Int: SessionNetworkPath] = [:]
    public private(set) var open: [Int: NetworkEpisode] = [:]
    /// Newest last, at most `historyLimit`.
    public private(set) var finished: [NetworkEpisode] = []
    /// How long a path must stay back before its episode ends.
    public let flapWindow: Duration
    /// How long after an episode ended a stall or recovery is still tied to it.
    public let causeWindow: Duration
    public let historyLimit: Int
    private var baselines: [Int: Baseline] = [:]

    public init(flapWindow: Duration = .seconds(10), causeWindow: Duration = .seconds(60), historyLimit: Int = 20) {
        self.flapWindow = flapWindow
        self.causeWindow = causeWindow
        self.historyLimit = historyLimit
    }

    /// The addresses the engine must ask the kernel a route for: each root session's portal.
    public static func portalAddress(_ session: ISCSISession) -> String? {
        session.connections.first?.persistentAddress.value
    }

    // MARK: Judging

    /// Judges every root session's path now; returns the events, root sessions in the given order.
    public mutating func update(_ inputs: [Input], at now: Moment) -> [HealthEvent] {
        var events: [HealthEvent] = []
        let present = Set(inputs.map(\.session.number))
        for number in Set(paths.keys).union(baselines.keys).union(open.keys) where !present.contains(number) {
            paths[number] = nil
            baselines[number] = nil
            if var episode = open.removeValue(forKey: number) {
                episode.ended = now
                remember(episode)
            }
        }
        for input in inputs {
            events += update(input, at: now)
        }
        return events
    }

    private mutating func update(_ input: Input, at now: Moment) -> [HealthEvent] {
        let session = input.session
        var baseline = baselines[session.number] ?? Baseline()
        if let address = input.host?.ipAddress.value, IPAddressText.bytes(address) != nil { baseline.localAddress = address }
        var routeInterface: Int32?
        if case .route(let route) = input.route { routeInterface = route.interfaceIndex }
        if baseline.interfaceIndex == nil, let routeInterface {
            baseline.interfaceIndex = routeInterface
        }
        if let index = baseline.interfaceIndex, let name = snapshot.links[index]?.name { baseline.interfaceName = name }

        let problems = judge(input, baseline: baseline)
        let path = SessionNetworkPath(session: session.number, carries: input.carries, portal: session.portal,
                                      localAddress: baseline.localAddress, interface: baseline.interfaceName,
                                      route: input.route, problems: problems)
        paths[session.number] = path

        var fields = JournalField.identifying(session, host: input.host, carries: input.carries)
        if let interface = baseline.interfaceName { fields[.interface] = interface }
        if let local = baseline.localAddress { fields[.localAddress] = local }
        fields[.route] = Self.describe(input.route, snapshot: snapshot)
        if !input.carries.isEmpty { fields[.carries] = input.carries.map(\.description).joined(separator: " ") }
        for case .addressGone(let address, _, let replacement) in problems {
            fields[.oldValue] = address
            fields[.newValue] = replacement ?? "none"
        }
        let name = ISCSISession.name(session.number, root: !input.carries.isEmpty)
        let portal = session.portal ?? Self.portalAddress(session) ?? "its portal"
        var events: [HealthEvent] = []

        let cuts = problems.filter(\.cutsOff)
        if !cuts.isEmpty {
            let cause = cuts.map(\.description).joined(separator: "; ")
            if var episode = open[session.number] {
                if episode.restored != nil {
                    episode.restored = nil
                    episode.losses += 1
                    if episode.losses == 2 {
                        events.append(HealthEvent(.networkLost,
                            "\(name) lost its path to \(portal) again \(now.since(episode.started).humanReadable) into the episode (\(cause)): the network is flapping; further losses are counted and journaled once it has been stable for \(flapWindow.humanReadable)",
                            fields: fields, at: now))
                    }
                }
                open[session.number] = episode
            } else {
                open[session.number] = NetworkEpisode(session: session.number, carries: input.carries, portal: session.portal,
                                                      interface: baseline.interfaceName, started: now, cause: cause,
                                                      losses: 1, restored: nil, ended: nil, consequences: [])
                let carries = input.carries.isEmpty ? "" : "; it carries \(input.carries.listed)"
                let nops = session.nopsEnabled ? "" : ": with NOPs off the kernel will not notice, I/O will wait"
                events.append(HealthEvent(.networkLost, "\(name) cannot reach \(portal): \(cause)\(carries)\(nops)",
                                          fields: fields, at: now))
            }
        } else if var episode = open[session.number] {
            if episode.restored == nil {
                episode.restored = now
                if episode.losses == 1 {
                    var restoredFields = fields
                    restoredFields[.durationMicroseconds] = String(now.since(episode.started).microseconds)
                    events.append(HealthEvent(.networkRestored,
                        "\(name) can reach \(portal) again after \(now.since(episode.started).humanReadable) (was: \(episode.cause))",
                        fields: restoredFields, at: now))
                }
            }
            if let restored = episode.restored, now.since(restored) >= flapWindow {
                episode.ended = restored
                open[session.number] = nil
                remember(episode)
                if episode.losses > 1 {
                    var stableFields = fields
                    stableFields[.durationMicroseconds] = String(restored.since(episode.started).microseconds)
                    events.append(HealthEvent(.networkRestored,
                        "\(name) can reach \(portal) again, stable for \(flapWindow.humanReadable): the path was lost \(episode.losses) times in \(restored.since(episode.started).humanReadable) (first: \(episode.cause))",
                        fields: stableFields, at: now))
                }
            } else {
                open[session.number] = episode
            }
        }

        // A changed path (the portal still reachable) is said once; a moved route becomes the way
        // later moves are measured from.
        let changes = problems.filter { !$0.cutsOff }
        if cuts.isEmpty {
            if !changes.isEmpty && changes != baseline.noted {
                events.append(HealthEvent(.networkChanged, "\(name) to \(portal): \(changes.map(\.description).joined(separator: "; "))",
                                          fields: fields, at: now))
            }
            baseline.noted = changes
            if changes.contains(where: { if case .routeMoved = $0 { true } else { false } }), let routeInterface {
                baseline.interfaceIndex = routeInterface
                baseline.interfaceName = snapshot.name(ofInterface: routeInterface)
                baseline.noted = changes.filter { if case .routeMoved = $0 { false } else { true } }
            }
        }
        baselines[session.number] = baseline
        return events
    }

    /// The problems of one session's path, worst first: link, address, route.
    func judge(_ input: Input, baseline: Baseline) -> [NetworkProblem] {
        var problems: [NetworkProblem] = []
        let interfaceName = baseline.interfaceName ?? "its interface"
        if let index = baseline.interfaceIndex {
            if let link = snapshot.links[index] {
                if let reason = link.downReason { problems.append(.linkDown(interface: interfaceName, reason: reason)) }
            } else if !snapshot.links.isEmpty {
                problems.append(.linkGone(interface: interfaceName))
            }
        }
        let local = baseline.localAddress
        let localBytes = local.flatMap(IPAddressText.bytes)
        let localIsLoopback = localBytes.map { $0.count == 4 ? $0[0] == 127 : $0 == IPAddress.ipv6Loopback } ?? false
        let held = local.map { !snapshot.interfaces(holding: $0).isEmpty } ?? true
        if let local, let localBytes, !localIsLoopback, !held, !snapshot.addresses.isEmpty {
            var replacement: String?
            if let index = baseline.interfaceIndex {
                replacement = snapshot.addresses(ofInterface: index, size: localBytes.count).first
            }
            problems.append(.addressGone(address: local, interface: interfaceName, replacement: replacement))
        }
        let portal = Self.portalAddress(input.session) ?? "the portal"
        switch input.route {
        case .unreachable(let errno):
            problems.append(.noRoute(portal: portal, reason: errno.symbolicName))
        case .route(let route) where [6, 7, 8].contains(route.type):
            let kind = route.type == 6 ? "blackhole" : route.type == 7 ? "unreachable" : "prohibit"
            problems.append(.noRoute(portal: portal, reason: "\(kind) route in table \(route.tableName)"))
        case .route(let route):
            if let expected = baseline.interfaceIndex, let actual = route.interfaceIndex, actual != expected,
               route.type != 2 {
                problems.append(.routeMoved(from: interfaceName, to: snapshot.name(ofInterface: actual)))
            }
            if let source = route.preferredSource, let local, held, IPAddressText.bytes(source) != localBytes,
               !localIsLoopback {
                problems.append(.sourceChanged(from: local, to: source))
            }
        case .unknown:
            break
        }
        return problems
    }

    private mutating func remember(_ episode: NetworkEpisode) {
        finished.append(episode)
        if finished.count > historyLimit { finished.removeFirst(finished.count - historyLimit) }
    }

    // MARK: Causes

    /// Stall and recovery events of a session whose path was cut shortly before name the cut as
    /// their likely cause (message and LIKELY_CAUSE=); the episode notes them.
    public mutating func attributeCauses(_ events: [HealthEvent]) -> [HealthEvent] {
        events.map { event in
            guard Self.consequenceKinds.contains(event.kind), let name = event.fields[.session],
                  name.hasPrefix("session"), let number = Int(name.dropFirst("session".count)) else { return event }
            let note = "\(event.kind.rawValue)\(event.fields[.device].map { " \($0)" } ?? "") at \(WallClock.format(microseconds: event.at.wallMicroseconds))"
            let cause: NetworkEpisode
            if var episode = open[number], episode.started <= event.at {
                if episode.consequences.count < 10 { episode.consequences.append(note) }
                open[number] = episode
                cause = episode
            } else if let index = finished.lastIndex(where: { $0.session == number }),
                      let ended = finished[index].ended, event.at.since(ended) <= causeWindow {
                if finished[index].consequences.count < 10 { finished[index].consequences.append(note) }
                cause = finished[index]
            } else {
                return event
            }
            var fields = event.fields
            fields[.likelyCause] = cause.cause
            let when = WallClock.format(microseconds: cause.started.wallMicroseconds)
            return HealthEvent(event.kind, "\(event.message); likely cause: \(cause.cause) (network, since \(when))",
                               fields: fields, at: event.at)
        }
    }

    static let consequenceKinds: Set<MessageKind> = [.ioStalled, .ioStallCleared, .sessionFailed, .sessionRecovered,
                                                     .rootAtRisk, .ioFailing]

    // MARK: Reports

    /// The STATUS= line while a root session is cut off, else nil.
    public func statusLine(at now: Moment) -> String? {
        guard let episode = open.values.filter(\.isCutOff).sorted(by: { $0.session < $1.session }).first
        else { return nil }
        let problems = paths[episode.session]?.problems.filter(\.cutsOff).map(\.description).joined(separator: "; ") ?? episode.cause
        let who = ISCSISession.name(episode.session, root: !episode.carries.isEmpty)
        let flaps = episode.losses > 1 ? " (lost \(episode.losses) times)" : ""
        return "NETWORK \(who) cut off from \(episode.portal ?? "its portal") for \(now.since(episode.started).wholeSeconds) s\(flaps): \(problems)"
    }

    /// The way to the root's portal as last judged, for the audit; nil before the first judgement.
    public func portalRoute(for topology: Topology) -> PortalRoute? {
        guard let root = topology.root, let session = topology.sessions(of: root).first,
              let path = paths[session.number] else { return nil }
        switch path.route {
        case .route(let route) where route.type == 2: return .interface("lo")
        case .route: return path.interface.map(PortalRoute.interface)
        case .unreachable, .unknown: return .unknown(Self.describe(path.route, snapshot: snapshot))
        }
    }

    /// `10.0.2.2 via 10.0.2.2 dev eth0 src 10.0.2.15 table main`, `no route (ENETUNREACH)`.
    public static func describe(_ lookup: RouteLookup, snapshot: NetworkSnapshot) -> String {
        switch lookup {
        case .route(let route):
            var text = route.destination ?? "?"
            if let gateway = route.gateway { text += " via \(gateway)" }
            if let index = route.interfaceIndex { text += " dev \(snapshot.name(ofInterface: index))" }
            if let source = route.preferredSource { text += " src \(source)" }
            return text + " table \(route.tableName)"
        case .unreachable(let errno):
            return "no route (\(errno.symbolicName))"
        case .unknown(let reason):
            return "unknown (\(reason))"
        }
    }

    /// The state file's `network` member; `events` says where the changes come from.
    public func record(events: String, at now: Moment) -> DaemonSnapshot.Network {
        DaemonSnapshot.Network(
            events: events,
            sessions: paths.keys.sorted().compactMap { paths[$0] }.map { path in
                DaemonSnapshot.Network.Path(
                    session: ISCSISession.name(path.session), root: !path.carries.isEmpty, portal: path.portal,
                    localAddress: path.localAddress, interface: path.interface,
                    route: Self.describe(path.route, snapshot: snapshot), reachable: path.reachable,
                    problems: path.problems.map(\.description))
            },
            episodes: (open.values.sorted { $0.session < $1.session } + finished.reversed()).map { episode in
                DaemonSnapshot.Network.Episode(
                    session: ISCSISession.name(episode.session), root: !episode.carries.isEmpty, interface: episode.interface,
                    cause: episode.cause, startedMicroseconds: episode.started.wallMicroseconds, cutOff: episode.isCutOff,
                    losses: episode.losses, restoredMicroseconds: episode.restored?.wallMicroseconds,
                    endedMicroseconds: episode.ended?.wallMicroseconds,
                    seconds: DaemonSnapshot.seconds((episode.restored ?? now).since(episode.started)),
                    consequences: episode.consequences)
            })
    }
}
