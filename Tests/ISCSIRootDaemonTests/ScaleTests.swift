import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

@Suite("Scale: thousands of sessions")
struct ScaleTests {
    @Test("check --json and status --json with 2000 sessions: valid JSON, no crash")
    func twoThousandSessions() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        for number in 2...2000 {
            try tree.addISCSISession(number: number, host: 3 + number / 500, luns: number.isMultiple(of: 10) ? [0] : [],
                                     detail: .essential)
        }
        let paths = ["--sysfs", tree.sysfs.root, "--root", tree.system.root]
        let check = try runIscsiRootd(["check", "--json"] + paths)
        #expect((0...2).contains(check.status), "\(check.standardError)")
        #expect(JSONValue(parsing: check.standardOutput) != nil)
        let status = try runIscsiRootd(["status", "--json", "--state-dir", tree.directory + "/state"] + paths)
        #expect((0...3).contains(status.status), "\(status.standardError)")
        let json = try #require(JSONValue(parsing: status.standardOutput))
        #expect(json["sessions"]?.arrayValue?.count == 2000)
    }
}
