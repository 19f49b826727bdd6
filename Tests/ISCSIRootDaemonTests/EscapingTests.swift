import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// No raw control byte from sysfs, a file or the kernel reaches a terminal, STATUS= or the log.
@Suite("Escaping untrusted strings for terminals and the log")
struct EscapingTests {
    /// Bytes a terminal acts on: C0 controls but line feed, DEL, and the C1 controls' UTF-8 forms.
    static func rawControls(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value)
            || [0x202E, 0x2066, 0x2067, 0x2068].contains($0.value) }
    }

    @Test func theEscapingIsTotalAndReadsBack() throws {
        var random = SeededGenerator(seed: 3)
        for index in 0..<2000 {
            let message = random.hostileString(maximumLength: 40)
            let value = random.hostileString(maximumLength: 12)
            #expect(Self.rawControls(message.escapedForDisplay).isEmpty, "case \(index)")
            #expect(!message.escapedForDisplay.contains("\n"), "case \(index)")
            let line = LogLine(priority: 4, message: message, fields: ["ISCSI_TARGET": value])
            // The one raw control is the format's own tab before the field list: none comes from the strings.
            let parts = line.formatted.split(separator: "\t", omittingEmptySubsequences: false)
            #expect(parts.count == 2 && parts.allSatisfy { Self.rawControls(String($0)).isEmpty }
                    && !line.formatted.contains("\n"), "case \(index)")
            #expect(try LogLine.parse(line.formatted) == line, "case \(index): \(line.formatted)")
        }
    }

    @Test("status, check and apply print a hostile target name escaped, and its JSON exact")
    func commandsEscapeSysfsStrings() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let hostile = "iqn.evil\u{1B}]0;owned\u{07}\u{1B}[2J\r\nCRITICAL fake\u{9B}"
        try tree.setAttribute("class/iscsi_session/session1/targetname", hostile)
        try tree.setAttribute(FixtureTree.deviceDirectory("2:0:0:0") + "/model", "m\u{1B}[31mred")
        let paths = ["--sysfs", tree.sysfs.root, "--root", tree.system.root]
        for command in [["status", "--state-dir", tree.directory + "/state"], ["check"], ["apply", "--dry-run"]] {
            let result = try runIscsiRootd(command + paths)
            #expect(Self.rawControls(result.standardOutput).isEmpty, "\(command): \(result.standardOutput)")
            #expect(Self.rawControls(result.standardError).isEmpty, "\(command)")
            #expect(!result.standardOutput.contains("\nCRITICAL fake"), "\(command)")
        }
        let status = try runIscsiRootd(["status", "--state-dir", tree.directory + "/state"] + paths)
        #expect(status.standardOutput.contains(#"iqn.evil\x1b]0;owned\x07\x1b[2J\r\nCRITICAL fake\u{009b}"#))
        let json = try runIscsiRootd(["status", "--json", "--state-dir", tree.directory + "/state"] + paths)
        let parsed = try #require(JSONValue(parsing: json.standardOutput))
        #expect(parsed["sessions"]?.arrayValue?.first?["target"] == .string(hostile))
    }

    @Test("a hostile argument is quoted escaped in the usage error")
    func usageErrorsAreEscaped() throws {
        let result = try runIscsiRootd(["run", "--udev", "\u{1B}[2Jon"])
        #expect(result.status == 2)
        #expect(Self.rawControls(result.standardError).isEmpty, "\(result.standardError)")
        #expect(result.standardError.contains(#"\x1b[2Jon"#))
    }
}
