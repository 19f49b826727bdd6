import ISCSIRootCore
import SysfsFixtures
import Testing

/// `--color=auto|always|never` and `NO_COLOR` (no-color.org).
@Suite("status --color and NO_COLOR")
struct ColorTests {
    @Test func autoColoursOnlyATerminalWithoutNoColor() {
        #expect(ColorMode.auto.enabled(terminal: true, noColor: nil))
        #expect(ColorMode.auto.enabled(terminal: true, noColor: ""), "an empty NO_COLOR is unset")
        #expect(!ColorMode.auto.enabled(terminal: true, noColor: "1"))
        #expect(!ColorMode.auto.enabled(terminal: false, noColor: nil))
        #expect(ColorMode.always.enabled(terminal: false, noColor: "1"), "an explicit flag wins")
        #expect(!ColorMode.never.enabled(terminal: true, noColor: nil))
    }

    @Test func theFlagDecidesInTheBinary() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let arguments = ["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                         "--state-dir", tree.directory + "/state"]
        let always = try runIscsiRootd(arguments + ["--color=always"], environment: ["NO_COLOR": "1"])
        #expect(always.status == 1)
        #expect(always.standardOutput.contains("\u{1b}["))
        let never = try runIscsiRootd(arguments + ["--color=never"])
        #expect(!never.standardOutput.contains("\u{1b}"))
        #expect(never.standardOutput == (try runIscsiRootd(arguments)).standardOutput, "auto on a pipe is never")
        let bad = try runIscsiRootd(arguments + ["--color=sometimes"])
        #expect(bad.status == 2)
    }
}
