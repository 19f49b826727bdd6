import ISCSIRootCore

/// The network under the root sessions: rtnetlink messages keep the engine's picture of links and
/// addresses current, and every change (and every poll) asks the kernel again for the route to
/// each root session's portal.
extension DaemonEngine {
    /// Starts watching with `query`: reads every link and address once. A failed dump leaves the
    /// network unwatched, said once.
    mutating func watchNetwork(with query: RouteNetlinkQuery, events: String) {
        switch query.dumpLinksAndAddresses() {
        case .success(let messages):
            network.snapshot = NetworkSnapshot(messages)
            routeQuery = query
            networkEvents = events
        case .failure(let error):
            logger.warning("the network under the root is not watched: \(error)")
            networkEvents = "off (\(error))"
        }
    }

    /// A message from the rtnetlink listener: applied at once, judged at once unless a judgement
    /// was made in the last 100 ms (a burst is judged once a tick).
    mutating func handle(network message: RouteNetlinkMessage, at now: Moment) {
        guard routeQuery != nil, network.snapshot.apply(message) else { return }
        if now.since(lastNetworkCheck) >= .milliseconds(100) { checkNetwork(at: now) } else { networkDue = true }
    }

    /// Messages were lost: read every link and address again, then judge.
    mutating func reloadNetwork(at now: Moment) {
        guard let routeQuery else { return }
        if case .success(let messages) = routeQuery.dumpLinksAndAddresses() { network.snapshot = NetworkSnapshot(messages) }
        checkNetwork(at: now)
    }

    /// Asks the kernel for the route to each root session's portal and judges the paths.
    mutating func checkNetwork(at now: Moment) {
        guard let routeQuery else { return }
        lastNetworkCheck = now
        networkDue = false
        // A multipath path's lost portal is its map's business (PathTracker: degraded, not root lost): a second
        // judgement here would journal a degraded root as a critical network loss.
        let inputs = topology.sessions.filter { !topology.isPathSession($0.number) }.compactMap { session -> NetworkWatch.Input? in
            let carries = topology.criticalUses(ofSession: session.number)
            guard !carries.isEmpty, let portal = NetworkWatch.portalAddress(session) else { return nil }
            return NetworkWatch.Input(session: session, host: session.hostNumber.flatMap(topology.host), carries: carries,
                                      route: routeQuery.route(to: portal))
        }
        let events = network.update(inputs, at: now)
        guard !events.isEmpty else { return }
        for event in events { emit(event) }
        updateStatus(at: now)
    }
}
