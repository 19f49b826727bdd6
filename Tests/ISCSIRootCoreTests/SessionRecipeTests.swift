import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("SessionRecipe: what a root session should have, direct or a multipath path; one wording of names and timers")
struct SessionRecipeTests {
    private func session(recovery: RecoveryTimeout, nops: Int) -> ISCSISession {
        AuditTests.session(recovery: recovery, nops: nops)
    }

    @Test(arguments: [
        (RecoveryTimeout.seconds(86400), 0, true), (.off, 0, true), (.seconds(86399), 0, false), (.seconds(86400), 5, false),
    ])
    func aDirectSessionWantsNOPsOffAndADayOrMore(recovery: RecoveryTimeout, nops: Int, met: Bool) {
        #expect(SessionRecipe.direct.isMet(by: session(recovery: recovery, nops: nops)) == met)
    }

    @Test(arguments: [
        (RecoveryTimeout.seconds(5), 5, true), (.seconds(15), 10, true), (.seconds(16), 5, false), (.off, 5, false), (.seconds(5), 0, false),
    ])
    func aPathWantsNOPsOnAndAtMost15Seconds(recovery: RecoveryTimeout, nops: Int, met: Bool) {
        #expect(SessionRecipe.multipathPath.isMet(by: session(recovery: recovery, nops: nops)) == met)
    }

    @Test func anUnknownRecoveryTimeoutMeetsNoRecipe() {
        let base = session(recovery: .seconds(86400), nops: 0)
        let unknown = ISCSISession(number: 1, devpath: base.devpath, hostNumber: 2, state: base.state, targetState: base.targetState,
                                   targetName: base.targetName, tpgt: base.tpgt, recoveryTimeout: .unknown("EACCES"),
                                   ifaceName: base.ifaceName, initiatorName: base.initiatorName, creator: base.creator,
                                   connections: base.connections)
        #expect(!SessionRecipe.direct.isMet(by: unknown))
    }

    @Test func theRoleComesFromTheTopology() throws {
        let direct = try FixtureTree.healthyDisklessClient()
        let directTopology = direct.scanner.scan()
        #expect(SessionRecipe(try #require(directTopology.session(1)), in: directTopology) == .direct)
        let multipath = try FixtureTree()
        try Scenario.multipath.layOut(in: multipath)
        let pathTopology = multipath.scanner.scan()
        #expect(SessionRecipe(try #require(pathTopology.session(1)), in: pathTopology) == .multipathPath)
    }

    @Test func theWording() {
        #expect(SessionRecipe.direct.nopSetting == "set node.conn[0].timeo.noop_out_interval = 0 and node.conn[0].timeo.noop_out_timeout = 0")
        #expect(SessionRecipe.multipathPath.nopSetting == "set node.conn[0].timeo.noop_out_interval = 5 and node.conn[0].timeo.noop_out_timeout = 10")
        #expect(SessionRecipe.direct.nopCommand(target: "iqn.x")
                == "iscsiadm -m node -T iqn.x -o update -n node.conn[0].timeo.noop_out_interval -v 0 and -n node.conn[0].timeo.noop_out_timeout -v 0")
        #expect(SessionRecipe.nopTimers(session(recovery: .off, nops: 5)) == "connection1:0 ping_tmo 5 recv_tmo 5")
        #expect(SessionRecipe.nopTimersColumn(session(recovery: .off, nops: 5)) == "NOPs 5/5 s")
        #expect(ISCSISession.name(3) == "session3")
        #expect(ISCSISession.name(3, root: true) == "root session3")
        #expect(ISCSISession.name(3, root: false) == "session3")
        #expect([StorageUse.root, .swap].listed == "/, [swap]")
        #expect([StorageUse.root, .usr].carriesNote == " (carries /, /usr)")
        #expect([StorageUse]().carriesNote == "")
    }
}
