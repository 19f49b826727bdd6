import ISCSIRootCore
import Testing

@Suite("rtnetlink messages captured in a network namespace decode to links, addresses, routes and rules")
struct RouteNetlinkTests {
    let capture: RouteNetlinkCapture

    init() throws {
        capture = try RouteNetlinkCapture()
    }

    /// v0's interface index, from the link dump.
    func clientIndex() throws -> Int32 {
        let snapshot = try capture.dumpSnapshot()
        return try #require(snapshot.links.values.first { $0.name == "v0" }).index
    }

    @Test("the link dump names lo and v0, up with a carrier, and ends with NLMSG_DONE")
    func linkDump() throws {
        let messages = try RouteNetlinkCapture.messages(capture.steps("dump links")[0])
        let links = messages.compactMap { if case .link(let link, false) = $0 { link } else { nil } }
        #expect(links.map(\.name) == ["lo", "v0"])
        #expect(links.allSatisfy { $0.downReason == nil })
        #expect(links.last?.operationalState?.description == "UP")
        guard case .done? = messages.last else { Issue.record("no NLMSG_DONE: \(messages)"); return }
    }

    @Test("the address dump holds 127.0.0.1/8, 10.0.2.15/24 and 2001:db8::15/64 with their interfaces")
    func addressDump() throws {
        let snapshot = try capture.dumpSnapshot()
        let v0 = try clientIndex()
        #expect(snapshot.interfaces(holding: "10.0.2.15") == [v0])
        #expect(snapshot.interfaces(holding: "2001:0db8:0::0015") == [v0])
        #expect(snapshot.interfaces(holding: "127.0.0.1") == [1])
        #expect(snapshot.addresses.contains(InterfaceAddress(interfaceIndex: v0, address: "10.0.2.15", prefixLength: 24)))
    }

    @Test("ip addr del sends RTM_DELADDR for the address, then RTM_DELROUTE for its routes (not the default route)")
    func addressRemoved() throws {
        let v0 = try clientIndex()
        let messages = try RouteNetlinkCapture.messages(capture.steps("ip addr del 10.0.2.15/24 dev v0")[0])
        #expect(messages.first == .address(InterfaceAddress(interfaceIndex: v0, address: "10.0.2.15", prefixLength: 24), removed: true))
        let removedRoutes = messages.compactMap { if case .route(let route, true) = $0 { route } else { nil } }
        // The prefix route, the broadcast and the local route; the kernel says nothing of the
        // default route it flushes with them.
        #expect(removedRoutes.map(\.destination) == ["10.0.2.0", "10.0.2.255", "10.0.2.15"])
        #expect(!removedRoutes.contains { $0.prefixLength == 0 })
    }

    @Test("the portal side going down is a carrier loss; ip link set down is administrative")
    func linkStates() throws {
        let carrier = try RouteNetlinkCapture.messages(capture.steps("ip -n PORTAL link set v1 down")[0])
        guard case .link(let lost, false)? = carrier.first else { Issue.record("\(carrier)"); return }
        #expect(lost.name == "v0" && lost.isUp && !lost.hasCarrier)
        #expect(lost.downReason == "no carrier")
        let admin = try RouteNetlinkCapture.messages(capture.steps("ip link set v0 down")[0])
        guard case .link(let down, false)? = admin.first else { Issue.record("\(admin)"); return }
        #expect(down.downReason == "administratively down")
        #expect(down.operationalState?.description == "DOWN")
        let back = try RouteNetlinkCapture.messages(capture.steps("ip -n PORTAL link set v1 up").last!)
        guard case .link(let up, false)? = back.first else { Issue.record("\(back)"); return }
        #expect(up.downReason == nil)
    }

    @Test("RTM_GETROUTE answers: on-link, through the gateway, IPv6, ENETUNREACH without the address, a policy rule's table")
    func routeAnswers() throws {
        let v0 = try clientIndex()
        guard case .route(let direct) = try capture.route("10.0.2.2") else { Issue.record("no route"); return }
        #expect(direct.destination == "10.0.2.2" && direct.gateway == nil && direct.interfaceIndex == v0)
        #expect(direct.preferredSource == "10.0.2.15" && direct.tableName == "main" && direct.type == 1)
        guard case .route(let far) = try capture.route("192.0.2.7") else { Issue.record("no route"); return }
        #expect(far.gateway == "10.0.2.2" && far.interfaceIndex == v0)
        guard case .route(let six) = try capture.route("2001:db8::2") else { Issue.record("no route"); return }
        #expect(six.family == .ipv6 && six.destination == "2001:db8::2" && six.interfaceIndex == v0)
        #expect(try capture.route("10.0.2.2", occurrence: 1) == .unreachable(.networkUnreachable))
        guard case .route(let promoted) = try capture.route("10.0.2.2", occurrence: 2) else { Issue.record("no route"); return }
        #expect(promoted.preferredSource == "10.0.2.16")
        guard case .route(let policy) = try capture.route("10.0.2.2", occurrence: 4) else { Issue.record("no route"); return }
        #expect(policy.table == 100 && policy.tableName == "100")
    }

    @Test("policy rule changes arrive as rule messages")
    func rules() throws {
        #expect(try RouteNetlinkCapture.messages(capture.steps("ip rule add to 10.0.2.2 table 100 priority 100")[0]) == [.rule(removed: false)])
        #expect(try RouteNetlinkCapture.messages(capture.steps("ip rule del to 10.0.2.2 table 100 priority 100")[0]) == [.rule(removed: true)])
    }

    @Test("every captured datagram decodes")
    func everything() throws {
        for step in capture.steps {
            for datagram in step.datagrams { _ = try RouteNetlinkMessage.parse(datagram: datagram) }
        }
        #expect(capture.steps.count > 30)
    }

    @Test("a length beyond the datagram is an error that says where")
    func badLength() throws {
        var datagram = try #require(capture.steps("ip addr del 10.0.2.15/24 dev v0").first?.datagrams.first)
        datagram = Array(datagram.prefix(40))
        #expect(throws: RouteNetlinkParseError.badMessageLength(offset: 0, length: 76, available: 40)) {
            try RouteNetlinkMessage.parse(datagram: datagram)
        }
    }

    @Test("IPv6 addresses are written the short way (RFC 5952)")
    func ipv6Text() {
        #expect(IPAddressText.format(IPAddressText.bytes("2001:db8:0:0:1:0:0:1")!) == "2001:db8::1:0:0:1")
        #expect(IPAddressText.format(IPAddressText.bytes("fe80::1")!) == "fe80::1")
        #expect(IPAddressText.format(IPAddressText.bytes("::")!) == "::")
        #expect(IPAddressText.format(IPAddressText.bytes("1:2:3:4:5:6:7:8")!) == "1:2:3:4:5:6:7:8")
    }
}
