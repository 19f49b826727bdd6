import ISCSIRootCore
import SysfsFixtures
import Testing

/// `--version`, and the schema's `version` in every JSON output.
@Suite("iscsi-rootd --version and the version of every JSON output")
struct VersionTests {
    @Test func versionFlagPrintsTheVersion() throws {
        let result = try runIscsiRootd(["--version"])
        #expect(result.status == 0)
        #expect(result.standardOutput == "\(ISCSIRootVersion.current)\n")
    }

    @Test(arguments: [["status", "--json"], ["check", "--json"], ["apply", "--json", "--dry-run"]])
    func everyJSONOutputHasTheVersion(command: [String]) throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let state = command[0] == "status" ? ["--state-dir", tree.directory + "/state"] : []
        let result = try runIscsiRootd(command + ["--sysfs", tree.sysfs.root, "--root", tree.system.root] + state)
        let json = try #require(JSONValue(parsing: result.standardOutput), "not JSON: \(result.standardOutput)")
        #expect(json["version"] == .string(ISCSIRootVersion.current))
    }
}
