import ISCSIRootCore
import SysfsFixtures
import Testing

/// The diskless client's root session1 on host2, given the capture's addresses: it logged in from
/// 10.0.2.15 to the portal 10.0.2.2:3260, and carries /, [swap].
private func clientOnCapturedNetwork() throws -> (tree: FixtureTree, topology: Topology) {
    let tree = try tunedDisklessClient()
    try tree.setAttribute("class/iscsi_host/host2/ipaddress", "10.0.2.15")
    try tree.setAttribute("class/iscsi_connection/connection1:0/persistent_address", "10.0.2.2")
    return (tree, tree.scanner.scan())
}

/// A scripted run: the capture's steps applied in order, one second apart, each followed by a
/// judgement with the route answer the daemon would have got.
private struct Script {
    let capture: RouteNetlinkCapture
    let topology: Topology
    var watch = NetworkWatch()
    var clock = 100

    init(topology: Topology) throws {
        capture = try RouteNetlinkCapture()
        self.topology = topology
        watch.snapshot = try capture.dumpSnapshot()
    }

    var now: Moment { Moment(monotonic: .seconds(clock), wallMicroseconds: Int64(clock) * 1_000_000) }

    mutating func judge(route: RouteLookup) -> [HealthEvent] {
        let session = topology.sessions[0]
        let input = NetworkWatch.Input(session: session, host: topology.host(2),
                                       carries: topology.criticalUses(ofSession: 1), route: route)
        return watch.update([input], at: now)
    }

    /// Applies the `occurrence`-th event step named `command` `seconds` after the last one.
    mutating func step(_ command: String, occurrence: Int = 0, after seconds: Int = 1, route: RouteLookup) throws -> [HealthEvent] {
        clock += seconds
        for message in try RouteNetlinkCapture.messages(capture.steps(command)[occurrence]) { _ = watch.snapshot.apply(message) }
        return judge(route: route)
    }
}

@Suite("NetworkWatch: the network under the root session, from captured rtnetlink messages")
struct NetworkWatchTests {
    @Test("healthy: v0, 10.0.2.15, the kernel's route; nothing to say")
    func healthy() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        #expect(script.judge(route: try script.capture.route("10.0.2.2")).isEmpty)
        let path = try #require(script.watch.paths[1])
        #expect(path.interface == "v0" && path.localAddress == "10.0.2.15" && path.portal == "10.0.2.2:3260")
        #expect(path.reachable && path.problems.isEmpty)
        #expect(NetworkWatch.describe(path.route, snapshot: script.watch.snapshot) == "10.0.2.2 dev v0 src 10.0.2.15 table main")
        #expect(script.watch.statusLine(at: script.now) == nil)
    }

    @Test("the address removed: one entry at once with interface, old address, portal and what the root carries; then back")
    func addressRemovedAndRestored() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        let healthy = try script.capture.route("10.0.2.2")
        _ = script.judge(route: healthy)
        let lost = try script.step("ip addr del 10.0.2.15/24 dev v0", route: script.capture.route("10.0.2.2", occurrence: 1))
        #expect(lost.map(\.kind) == [.networkLost])
        let entry = try #require(lost.first)
        #expect(entry.message == "root session1 cannot reach 10.0.2.2:3260: 10.0.2.15 was removed from v0; no route to 10.0.2.2 (ENETUNREACH); it carries /, [swap]: with NOPs off the kernel will not notice, I/O will wait")
        #expect(entry.fields[.interface] == "v0" && entry.fields[.oldValue] == "10.0.2.15" && entry.fields[.newValue] == "none")
        #expect(entry.fields[.session] == "session1" && entry.fields[.portal] == "10.0.2.2:3260" && entry.fields[.root] == "1")
        #expect(entry.fields[.carries] == "/ [swap]" && entry.fields[.route] == "no route (ENETUNREACH)")
        #expect(script.watch.statusLine(at: script.now)?.hasPrefix("NETWORK root session1 cut off from 10.0.2.2:3260 for 0 s: 10.0.2.15 was removed") == true)
        #expect(script.watch.paths[1]?.reachable == false)

        // Nothing new while it stays cut.
        script.clock += 3
        #expect(script.judge(route: try script.capture.route("10.0.2.2", occurrence: 1)).isEmpty)

        let back = try script.step("ip addr add 10.0.2.15/24 dev v0", occurrence: 1, route: healthy)
        #expect(back.map(\.kind) == [.networkRestored])
        #expect(back.first?.message == "root session1 can reach 10.0.2.2:3260 again after 4 s (was: 10.0.2.15 was removed from v0; no route to 10.0.2.2 (ENETUNREACH))")
        #expect(back.first?.fields[.durationMicroseconds] == "4000000")
        #expect(script.watch.statusLine(at: script.now) == nil)
        // Quiet for the flap window: the episode ends without another entry.
        script.clock += 30
        #expect(script.judge(route: healthy).isEmpty)
        #expect(script.watch.open.isEmpty && script.watch.finished.count == 1)
    }

    @Test("a stall and a recovery that follow name the cut as their likely cause; the episode lists them")
    func causes() throws {
        let (_, topology) = try clientOnCapturedNetwork()
        var script = try Script(topology: topology)
        _ = script.judge(route: try script.capture.route("10.0.2.2"))
        _ = try script.step("ip -n PORTAL link set v1 down", route: script.capture.route("10.0.2.2", occurrence: 3))
        script.clock += 5
        let stall = HealthEvent(.ioStalled, "root I/O to sda stalled 5 s", fields: [.session: "session1", .device: "sda"], at: script.now)
        let unrelated = HealthEvent(.ioStalled, "I/O to sdb stalled 5 s", fields: [.session: "session2", .device: "sdb"], at: script.now)
        let tuned = HealthEvent(.diskTuned, "sda timeout 30 -> 90", fields: [.session: "session1"], at: script.now)
        let attributed = script.watch.attributeCauses([stall, unrelated, tuned])
        #expect(attributed[0].message.hasPrefix("root I/O to sda stalled 5 s; likely cause: v0 is down (no carrier) (network, since "))
        #expect(attributed[0].fields[.likelyCause] == "v0 is down (no carrier)")
        #expect(attributed[1] == unrelated && attributed[2] == tuned)
        #expect(script.watch.open[1]?.consequences.first?.hasPrefix("ioStalled sda at ") == true)

        // After it ended, within a minute: still the likely cause; later, not.
        _ = try script.step("ip -n PORTAL link set v1 up", occurrence: 1, route: script.capture.route("10.0.2.2"))
        script.clock += 30
        _ = script.judge(route: try script.capture.route("10.0.2.2"))
        #expect(script.watch.open.isEmpty)
        let cleared = HealthEvent(.ioStallCleared, "root I/O to sda flows again", fields: [.session: "session1"], at: script.now)
        #expect(script.watch.attributeCauses([cleared])[0].fields[.likelyCause] == "v0 is down (no carrier)")
        script.clock += 61
        let late = HealthEvent(.sessionFailed, "root session1 in recovery", fields: [.session: "session1"], at: script.now)
        #expect(script.watch.attributeCauses([late])[0] == late)
    }

    @Test("a flapping link is one episode: the loss, the first relapse, and one entry once stable, however often it flaps")
    func flapping() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        let healthy = try script.capture.route("10.0.2.2")
        _ = script.judge(route: healthy)
        var events: [HealthEvent] = []
        for _ in 0..<20 {
            events += try script.step("ip -n PORTAL link set v1 down", route: healthy)
            events += try script.step("ip -n PORTAL link set v1 up", occurrence: 1, route: healthy)
        }
        #expect(events.map(\.kind) == [.networkLost, .networkRestored, .networkLost])
        #expect(events[0].message.contains("v0 is down (no carrier)"))
        #expect(events[2].message.contains("again") && events[2].message.contains("flapping"))
        #expect(script.watch.open[1]?.losses == 20)
        script.clock += 9
        #expect(script.judge(route: healthy).isEmpty)
        script.clock += 1
        let stable = script.judge(route: healthy)
        #expect(stable.map(\.kind) == [.networkRestored])
        #expect(stable.first?.message.contains("lost 20 times in 39 s") == true)
        #expect(script.watch.open.isEmpty && script.watch.finished.first?.losses == 20)
    }

    @Test("administratively down is said as such")
    func adminDown() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        let healthy = try script.capture.route("10.0.2.2")
        _ = script.judge(route: healthy)
        let events = try script.step("ip link set v0 down", route: healthy)
        #expect(events.first?.message.contains("v0 is down (administratively down)") == true)
    }

    @Test("the address replaced (10.0.2.16 promoted): the new address is named")
    func addressReplaced() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        _ = script.judge(route: try script.capture.route("10.0.2.2"))
        _ = try script.step("ip addr add 10.0.2.16/24 dev v0", route: script.capture.route("10.0.2.2"))
        let events = try script.step("ip addr del 10.0.2.15/24 dev v0", occurrence: 1, route: script.capture.route("10.0.2.2", occurrence: 2))
        #expect(events.map(\.kind) == [.networkLost])
        #expect(events.first?.message.contains("10.0.2.15 was removed from v0 (10.0.2.16 is there instead)") == true)
        #expect(events.first?.fields[.newValue] == "10.0.2.16")
    }

    @Test("the route moving to another interface is a change, said once; the portal stays reachable")
    func routeMoved() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        let healthy = try script.capture.route("10.0.2.2")
        _ = script.judge(route: healthy)
        guard case .route(let route) = healthy else { Issue.record("no route"); return }
        let moved = RouteLookup.route(RouteEntry(family: .ipv4, destination: "10.0.2.2", prefixLength: 32, table: 254, type: 1,
                                                 interfaceIndex: 1, gateway: nil, preferredSource: route.preferredSource))
        let events = script.judge(route: moved)
        #expect(events.map(\.kind) == [.networkChanged])
        #expect(events.first?.message == "root session1 to 10.0.2.2:3260: the route to the portal moved from v0 to lo")
        #expect(script.watch.paths[1]?.reachable == true)
        script.clock += 1
        #expect(script.judge(route: moved).isEmpty)
    }

    @Test("a session that goes away ends its episode; the state file's network member round-trips")
    func sessionGoneAndJSON() throws {
        var script = try Script(topology: clientOnCapturedNetwork().topology)
        _ = script.judge(route: try script.capture.route("10.0.2.2"))
        _ = try script.step("ip link set v0 down", route: script.capture.route("10.0.2.2"))
        let record = script.watch.record(events: "rtnetlink", at: script.now)
        let session = try #require(record.sessions.first)
        #expect(session.interface == "v0" && session.localAddress == "10.0.2.15" && !session.reachable)
        #expect(session.problems == ["v0 is down (administratively down)"])
        #expect(record.episodes.first?.cutOff == true && record.events == "rtnetlink")
        // Written and read back through the state file's schema.
        var random = SeededGenerator(seed: 12)
        var file = StateFileSchemaTests.randomFile(&random)
        file.network = record
        #expect(DaemonSnapshot.read(json: file.json)?.snapshot.network == record)
        #expect(script.watch.update([], at: script.now).isEmpty)
        #expect(script.watch.open.isEmpty && script.watch.finished.count == 1 && script.watch.paths.isEmpty)
    }
}
