import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// The binary under mutated configuration and sysfs: every run ends (30 s limit) with exit 0–3,
/// JSON output parses, and a rejected configuration writes nothing. `FUZZ_CASES` / 100 runs
/// (at least 30), seeded by `FUZZ_SEED`.
@Suite("Fuzz: the binary under mutated configuration and sysfs", .serialized)
struct CLIFuzzTests {
    static func number(_ name: String, default value: UInt64) -> UInt64 {
        getenv(name).flatMap { UInt64(String(cString: $0)) } ?? value
    }

    static let config = "[Disk]\nTimeout=90\nScheduler=none\nTypes=0 7 14\nVerifyInterval=60\nStallThreshold=5\n[Session]\nRecoveryTimeout=86400\n"
    static let pieces = ["99999999999999999999", "-1", "\u{1B}[2J", "\r\n", "\u{FEFF}", "=", "[Disk]", "0.0000000001",
                         "2147483648", "keep", "off", "\0", "[Session", "Timeout=", "1e9"]

    @Test("apply, status and check: exit 0-3, valid JSON, nothing written on a bad configuration")
    func binaryRuns() throws {
        let cases = max(30, Int(Self.number("FUZZ_CASES", default: 3000)) / 100)
        var random = SeededGenerator(seed: Self.number("FUZZ_SEED", default: 10) &+ 2)
        var tree = try FixtureTree.healthyDisklessClient()
        var outcomes: [Int32: Int] = [:]
        for index in 0..<cases {
            if index % 10 == 0 { tree = try FixtureTree.healthyDisklessClient() }
            var text = Array(Self.config.utf8)
            for _ in 0..<(random.chance(0.5) ? Int.random(in: 1...3, using: &random) : 0) {
                let position = Int.random(in: 0...text.count, using: &random)
                if random.chance(0.5) {
                    text.insert(contentsOf: Array(random.pick(Self.pieces).utf8), at: position)
                } else if position < text.count {
                    text.remove(at: position)
                }
            }
            let configPath = tree.directory + "/fuzz.conf"
            try String(decoding: text, as: UTF8.self).write(toFile: configPath)
            if random.chance(0.5) {
                let attribute = random.pick(["class/iscsi_session/session1/recovery_tmo", "class/iscsi_session/session1/targetname",
                                             FixtureTree.deviceDirectory("2:0:0:0") + "/timeout",
                                             FixtureTree.deviceDirectory("2:0:0:0") + "/type", "class/block/sda/queue/scheduler"])
                try tree.setAttribute(attribute, random.hostileString())
            }
            let paths = ["--sysfs", tree.sysfs.root, "--root", tree.system.root, "--config", configPath]
            let command = random.pick([["apply", "--json"], ["status", "--json", "--state-dir", tree.directory + "/state"],
                                       ["check", "--json"], ["apply"], ["status", "--state-dir", tree.directory + "/state"]])
            let before = snapshot(tree.sysfs.root)
            let result = try runIscsiRootd(command + paths)
            outcomes[result.status, default: 0] += 1
            #expect((0...3).contains(result.status), "case \(index): \(command) exit \(result.status) \(result.standardError)")
            if result.status == 2 && result.standardError.contains("configuration error") {
                #expect(snapshot(tree.sysfs.root) == before, "case \(index): a rejected configuration wrote")
                #expect(result.standardOutput.isEmpty)
            } else if command.contains("--json") {
                #expect(JSONValue(parsing: result.standardOutput) != nil, "case \(index): \(command) printed no JSON")
            }
        }
        print("fuzz: \(cases) binary runs: exits \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")); 0 crashes, 0 hangs")
    }
}
