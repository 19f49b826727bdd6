import ISCSIRootCore
import SysfsFixtures
import Testing

/// `status --nagios`: one monitoring-plugin line with performance data, exit 0–3 as `status`.
@Suite("status --nagios")
struct NagiosTests {
    static func arguments(_ tree: FixtureTree) -> [String] {
        ["status", "--nagios", "--sysfs", tree.sysfs.root, "--root", tree.system.root, "--state-dir", tree.directory + "/state"]
    }

    @Test func anUntunedClientIsOneWarningLineWithPerformanceData() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let warnings = StatusReport(topology: tree.scanner.scan(), configuration: Configuration())
            .findings.filter { $0.severity == .warning }.count
        #expect(warnings > 0)
        let result = try runIscsiRootd(Self.arguments(tree))
        #expect(result.status == 1)
        #expect(result.standardOutput == "ISCSI-ROOTD WARNING - root on iSCSI, 1 session, 1 iSCSI disk, 0 of 1 tuned | "
            + "'sessions'=1;;;0 'sessions_logged_in'=1;;;0;1 'disks'=1;;;0 'disks_tuned'=0;;;0;1 "
            + "'findings_warning'=\(warnings);;;0 'findings_critical'=0;;;0\n")
    }

    @Test func aFailedSessionIsCriticalExit2() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.failed, session: 1)
        let result = try runIscsiRootd(Self.arguments(tree))
        #expect(result.status == 2)
        #expect(result.standardOutput.hasPrefix("ISCSI-ROOTD CRITICAL - "))
        #expect(result.standardOutput.contains("'sessions_logged_in'=0;;;0;1"))
        #expect(result.standardOutput.split(separator: "\n").count == 1)
    }

    @Test func withoutASysfsItIsUnknownExit3() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let result = try runIscsiRootd(["status", "--nagios", "--sysfs", tree.directory + "/none", "--root", tree.system.root,
                                        "--state-dir", tree.directory + "/state"])
        #expect(result.status == 3)
        #expect(result.standardOutput.hasPrefix("ISCSI-ROOTD UNKNOWN - "))
    }

    @Test func itExcludesJSON() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let result = try runIscsiRootd(Self.arguments(tree) + ["--json"])
        #expect(result.status == 2)
    }
}
