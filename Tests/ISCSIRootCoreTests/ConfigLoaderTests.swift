import Foundation
import Testing
@testable import ISCSIRootCore
import SysfsFixtures

@Suite final class ConfigLoaderTests {
    /// The directories this test made, removed with the suite instance (one per test).
    private var made: [TemporaryDirectory] = []

    /// A system root in a temp dir with the given files under it.
    func root(_ files: [String: String]) throws -> FileTree {
        made.append(try TemporaryDirectory("config"))
        let dir = URL(fileURLWithPath: made[made.count - 1].path)
        for (path, contents) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return FileTree(root: dir.path)
    }

    @Test func defaultsWithoutAnyFile() throws {
        let configuration = try ConfigLoader(system: root([:])).load()
        #expect(configuration.disk.timeout == 90)
        #expect(configuration.disk.scheduler == "none")
        #expect(configuration.disk.types == [0, 7, 14])
        #expect(configuration.recoveryTimeout == .atLeast(86400))
        #expect(configuration.verifyInterval == .seconds(60))
        #expect(configuration.stallThreshold == .seconds(5))
    }

    @Test func mainFileThenDropInsInLexicalOrderLaterWins() throws {
        let tree = try root([
            "etc/iscsi-rootd.conf": """
                # comment
                [Disk]
                Timeout = 120
                Scheduler=mq-deadline
                ; another comment
                [Session]
                RecoveryTimeout=keep
                """,
            "etc/iscsi-rootd.conf.d/20-late.conf": "[Disk]\nScheduler=none\n",
            "etc/iscsi-rootd.conf.d/10-early.conf": "[Disk]\nScheduler=bfq\nTypes=0 14\nStallThreshold=2.5\n",
            "etc/iscsi-rootd.conf.d/README": "[Nonsense\n",
        ])
        let loader = ConfigLoader(system: tree)
        #expect(loader.files().map { String($0.split(separator: "/").last!) }
            == ["iscsi-rootd.conf", "10-early.conf", "20-late.conf"])
        let configuration = try loader.load()
        #expect(configuration.disk.timeout == 120)
        #expect(configuration.disk.scheduler == "none")
        #expect(configuration.disk.types == [0, 14])
        #expect(configuration.stallThreshold == .milliseconds(2500))
        #expect(configuration.recoveryTimeout == .keep)
    }

    @Test(arguments: [
        ("[Disk]\nTimeout=ninety\n", 2, "Timeout= wants whole seconds"),
        ("[Disk]\nTimeout=0\n", 2, "Timeout= wants whole seconds"),
        ("Timeout=90\n", 1, "outside a section"),
        ("[Disks]\n", 1, "unknown section [Disks]"),
        ("[Disk]\n\n# c\nTimout=90\n", 4, "unknown key 'Timout' in [Disk]"),
        ("[Disk]\nScheduler=mq deadline\n", 2, "Scheduler= wants a scheduler name"),
        ("[Disk]\nTypes=0 x\n", 2, "Types= wants SCSI peripheral types"),
        ("[Disk]\nVerifyInterval=-1\n", 2, "VerifyInterval= wants seconds above 0"),
        ("[Disk]\nStallThreshold=1.2.3\n", 2, "StallThreshold= wants seconds"),
        ("[Session]\nRecoveryTimeout=forever\n", 2, "RecoveryTimeout= wants whole seconds from 1 to 2147483647, 'off' or 'keep'"),
        ("[Session]\njunk line\n", 2, "expected Key=Value"),
        ("[Disk\n", 1, "malformed section header"),
    ])
    func badConfigNamesFileAndLine(text: String, line: Int, message: String) throws {
        let tree = try root(["etc/iscsi-rootd.conf.d/50-bad.conf": text])
        do {
            _ = try ConfigLoader(system: tree).load()
            Issue.record("loading should have failed")
        } catch {
            #expect(error.file.hasSuffix("etc/iscsi-rootd.conf.d/50-bad.conf"))
            #expect(error.line == line)
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.description.contains("50-bad.conf:\(line): "))
        }
    }

    @Test func explicitFileReplacesTheSystemFiles() throws {
        let tree = try root([
            "etc/iscsi-rootd.conf": "[Disk]\nTimeout=120\n",
            "custom.conf": "[Session]\nRecoveryTimeout=off\n",
        ])
        let configuration = try ConfigLoader(system: tree).load(explicitFile: tree.path("custom.conf"))
        #expect(configuration.disk.timeout == 90)
        #expect(configuration.recoveryTimeout == .off)
    }

    @Test func unreadableExplicitFileIsAnError() throws {
        let tree = try root([:])
        #expect(throws: ConfigError.self) { try ConfigLoader(system: tree).load(explicitFile: tree.path("absent.conf")) }
    }

    @Test func secondsWithFractions() {
        #expect(parseSeconds("5") == .seconds(5))
        #expect(parseSeconds("0.25") == .milliseconds(250))
        #expect(parseSeconds(".5") == .milliseconds(500))
        #expect(parseSeconds("1.000000001") == .nanoseconds(1_000_000_001))
        #expect(parseSeconds("") == nil)
        #expect(parseSeconds("1.") == nil)
        #expect(parseSeconds("-1") == nil)
        #expect(parseSeconds("1e3") == nil)
    }

    @Test func recoveryTimeoutPolicyAgainstSessions() {
        #expect(RecoveryTimeoutPolicy.atLeast(86400).isMet(by: .seconds(86400)))
        #expect(!RecoveryTimeoutPolicy.atLeast(86400).isMet(by: .seconds(120)))
        #expect(RecoveryTimeoutPolicy.atLeast(86400).isMet(by: .off))
        #expect(!RecoveryTimeoutPolicy.off.isMet(by: .seconds(86400)))
        #expect(!RecoveryTimeoutPolicy.keep.isMet(by: .seconds(120)))
    }
}
