import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("SessionTuner raises recovery_tmo on sessions that carry the root")
struct SessionTunerTests {
    private let rootTimeout = "class/iscsi_session/session1/recovery_tmo"

    private func raw(_ tree: FixtureTree, _ path: String) -> String? {
        guard let resolved = tree.sysfs.resolve(path) else { return nil }
        return try? String(contentsOfFile: tree.sysfs.path(resolved), encoding: .utf8)
    }

    private func tune(_ tree: FixtureTree, session: Int = 1, policy: RecoveryTimeoutPolicy) throws -> SessionTimerResult? {
        let topology = tree.scanner.scan()
        let found = try #require(topology.session(session))
        return SessionTuner(sysfs: tree.sysfs, policy: policy).tune(found, topology: topology)
    }

    @Test func rootSessionIsRaisedTo86400AndReadBack() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        #expect(tree.sysfs.attribute(rootTimeout) == .value("120"))
        let result = try tune(tree, policy: .atLeast(86400))
        #expect(result == .changed(from: .seconds(120), to: .seconds(86400)))
        #expect(tree.sysfs.attribute(rootTimeout) == .value("86400"))
        #expect(tree.scanner.scan().session(1)?.recoveryTimeout == .value(.seconds(86400)))
        // Once met, there is nothing more to do.
        #expect(try tune(tree, policy: .atLeast(86400)) == nil)
    }

    @Test func policyOffWritesOff() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        #expect(try tune(tree, policy: .off) == .changed(from: .seconds(120), to: .off))
        #expect(tree.sysfs.attribute(rootTimeout) == .value("off"))
    }

    @Test func policyKeepWritesNothing() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let before = raw(tree, rootTimeout)
        #expect(try tune(tree, policy: .keep) == nil)
        #expect(raw(tree, rootTimeout) == before)
    }

    @Test func sessionWithoutRootSwapOrUsrIsUntouched() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.addISCSISession(number: 5, host: 6)
        let path = "class/iscsi_session/session5/recovery_tmo"
        let before = raw(tree, path)
        #expect(try tune(tree, session: 5, policy: .atLeast(86400)) == nil)
        #expect(raw(tree, path) == before)
        #expect(tree.sysfs.attribute(path) == .value("120"))
    }

    @Test func failedRootSessionIsBusyAndNothingIsWritten() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.failed, session: 1)
        let before = raw(tree, rootTimeout)
        let result = try tune(tree, policy: .atLeast(86400))
        guard case .busy(let reason) = result else {
            Issue.record("expected busy, got \(String(describing: result))")
            return
        }
        #expect(reason.contains("FAILED"))
        #expect(reason.contains("only while LOGGED_IN"))
        #expect(raw(tree, rootTimeout) == before)
    }

    @Test func offAlreadyMeetsEveryPolicy() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute(rootTimeout, "off")
        let before = raw(tree, rootTimeout)
        #expect(try tune(tree, policy: .atLeast(86400)) == nil)
        #expect(try tune(tree, policy: .off) == nil)
        #expect(raw(tree, rootTimeout) == before)
    }
}
