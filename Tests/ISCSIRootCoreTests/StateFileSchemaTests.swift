import Foundation
@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// The state file's one typed schema: what the daemon writes reads back equal, and every value
/// out of range is an error naming it (never a crash: the file survives restarts).
@Suite("State file schema: written and read by the same code, every value range-checked")
struct StateFileSchemaTests {
    static func randomFile(_ random: inout SeededGenerator) -> DaemonSnapshot {
        func wall() -> Int64 { Int64.random(in: DaemonSnapshot.wallRange, using: &random) }
        func seconds() -> Double { random.chance(0.5) ? Double(Int.random(in: 0...100_000, using: &random)) / 8
                                                      : Double.random(in: DaemonSnapshot.secondsRange, using: &random) }
        func text() -> String { random.hostileString() }
        func optionalWall() -> Int64? { random.chance(0.5) ? wall() : nil }
        return DaemonSnapshot(
            pid: Int32.random(in: 1...Int32.max, using: &random), bootID: text(), startedMicroseconds: wall(),
            updatedMicroseconds: wall(), deviceEvents: text(), sessionEvents: text(), pollInterval: seconds(),
            statusLine: text(),
            config: .init(files: (0..<Int.random(in: 0...3, using: &random)).map { _ in text() },
                          timeout: Int.random(in: 1...86400, using: &random), scheduler: text(),
                          types: (0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: 0...31, using: &random) },
                          verifyInterval: seconds(), stallThreshold: seconds(), recoveryTimeout: text()),
            episodes: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                .init(session: text(), target: random.chance(0.5) ? text() : nil, root: random.chance(0.5), cause: text(),
                      startedMicroseconds: wall(), startedBeforeDaemon: random.chance(0.5),
                      ioFailingSinceMicroseconds: optionalWall(), endedMicroseconds: optionalWall(), seconds: seconds(),
                      secondsLeft: random.pick([nil, .infinity, seconds(), -seconds()]))
            },
            pathEpisodes: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                .init(map: text(), disk: text(), session: random.chance(0.5) ? text() : nil,
                      portal: random.chance(0.5) ? text() : nil, root: random.chance(0.5), cause: text(),
                      startedMicroseconds: wall(), startedBeforeDaemon: random.chance(0.5),
                      endedMicroseconds: optionalWall(), seconds: seconds())
            },
            stalls: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                .init(disk: text(), sinceMicroseconds: wall(), seconds: seconds(),
                      inflight: Int.random(in: DaemonSnapshot.kernelU32Range, using: &random), root: random.chance(0.5),
                      session: random.chance(0.5) ? text() : nil)
            },
            damage: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                .init(device: text(), mountPoints: [text()], root: random.chance(0.5), sinceMicroseconds: wall(),
                      cause: text(), afterRecoveryTimeoutOf: random.chance(0.5) ? text() : nil, message: text())
            },
            kernelSequence: random.chance(0.5) ? UInt64.random(in: 0...UInt64.max, using: &random) : nil,
            ext4Baseline: random.chance(0.5) ? [text(): Int.random(in: DaemonSnapshot.kernelU32Range, using: &random)] : [:],
            corrections: Int.random(in: 0...Int.max, using: &random),
            tuningFailures: Int.random(in: 0...Int.max, using: &random), auditProblems: [text()],
            lockedKiB: random.chance(0.5) ? Int.random(in: DaemonSnapshot.countRange, using: &random) : nil,
            residentKiB: nil,
            recentEvents: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                .init(timeMicroseconds: wall(), kind: text(), priority: Int.random(in: 0...7, using: &random), message: text())
            },
            network: .init(
                events: text(),
                sessions: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                    .init(session: text(), root: random.chance(0.5), portal: random.chance(0.5) ? text() : nil,
                          localAddress: random.chance(0.5) ? text() : nil, interface: random.chance(0.5) ? text() : nil,
                          route: text(), reachable: random.chance(0.5), problems: [text()])
                },
                episodes: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                    .init(session: text(), root: random.chance(0.5), interface: random.chance(0.5) ? text() : nil,
                          cause: text(), startedMicroseconds: wall(), cutOff: random.chance(0.5),
                          losses: Int.random(in: DaemonSnapshot.countRange, using: &random),
                          restoredMicroseconds: optionalWall(), endedMicroseconds: optionalWall(), seconds: seconds(),
                          consequences: [text()])
                }))
    }

    @Test func everyFileTheDaemonCanWriteReadsBackEqual() throws {
        var random = SeededGenerator(seed: 10)
        for index in 0..<500 {
            let file = Self.randomFile(&random)
            let text = file.json.serialized(pretty: index.isMultiple(of: 2))
            let parsed = try #require(JSONValue(parsing: text), "case \(index): not JSON")
            let read = try #require(DaemonSnapshot.read(json: parsed), "case \(index)")
            #expect(read.snapshot == file, "case \(index)")
            #expect(read.warnings.isEmpty, "case \(index): \(read.warnings)")
        }
    }

    /// A valid file with one member replaced.
    static func replacing(_ json: JSONValue, path: [String], with value: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        switch json {
        case .object(let members):
            return .object(members.map { $0.0 == key ? ($0.0, replacing($0.1, path: Array(path.dropFirst()), with: value)) : $0 })
        case .array(let items):
            return .array(items.enumerated().map { $0.offset == Int(key) ? replacing($0.element, path: Array(path.dropFirst()), with: value) : $0.element })
        default:
            return json
        }
    }

    /// A file with one of each record, every value valid.
    static func fullFile() -> DaemonSnapshot {
        var random = SeededGenerator(seed: 1)
        var file = randomFile(&random)
        file.episodes = [.init(session: "session1", target: nil, root: true, cause: "x", startedMicroseconds: 1,
                               startedBeforeDaemon: false, ioFailingSinceMicroseconds: nil, endedMicroseconds: nil,
                               seconds: 1, secondsLeft: 5)]
        file.pathEpisodes = [.init(map: "mpatha", disk: "sdb", session: "session2", portal: nil, root: true, cause: "x",
                                   startedMicroseconds: 1, startedBeforeDaemon: false, endedMicroseconds: nil, seconds: 1)]
        file.stalls = [.init(disk: "sda", sinceMicroseconds: 1, seconds: 1, inflight: 1, root: true, session: "session1")]
        file.damage = [.init(device: "sda", mountPoints: ["/"], root: true, sinceMicroseconds: 1, cause: "x",
                             afterRecoveryTimeoutOf: nil, message: "m")]
        file.ext4Baseline = ["sda": 0]
        file.config.types = [0]
        file.recentEvents = [.init(timeMicroseconds: 1, kind: "started", priority: 6, message: "m")]
        file.network = .init(events: "rtnetlink",
                             sessions: [.init(session: "session1", root: true, portal: nil, localAddress: nil, interface: nil,
                                              route: "r", reachable: true, problems: [])],
                             episodes: [.init(session: "session1", root: true, interface: nil, cause: "x", startedMicroseconds: 1,
                                              cutOff: true, losses: 1, restoredMicroseconds: nil, endedMicroseconds: nil,
                                              seconds: 1, consequences: [])])
        return file
    }

    /// The member at `path` as the reader names it: `episodes[0].seconds`.
    static func name(_ path: [String]) -> String {
        path.reduce("") { $0.isEmpty ? $1 : (Int($1) != nil ? "\($0)[\($1)]" : "\($0).\($1)") }
    }

    @Test(arguments: [
        (["pid"], JSONValue.int(-1)), (["pid"], .int(4_294_967_296)), (["started_usec"], .int(-1)),
        (["poll_interval"], .double(1e300)), (["poll_interval"], .double(-1)), (["config", "timeout"], .int(86401)), (["config", "timeout"], .int(-1)),
        (["config", "types", "0"], .int(32)), (["episodes", "0", "seconds"], .double(1e300)),
        (["episodes", "0", "seconds_left"], .string("forever")), (["path_episodes", "0", "ended_usec"], .int(-1)),
        (["path_episodes", "0", "disk"], .null), (["stalls", "0", "inflight"], .int(-5)),
        (["stalls", "0", "inflight"], .int(4_294_967_296)),
        (["damage", "0", "since_usec"], .double(9.3e18)), (["damage", "0", "device"], .int(7)), (["kernel_seqnum"], .int(-1)),
        (["ext4_baseline", "sda"], .double(1e20)), (["ext4_baseline", "sda"], .int(4_294_967_296)),
        (["recent_events", "0", "priority"], .int(8)),
        (["memory", "locked_kib"], .string("lots")), (["corrections"], .null), (["boot_id"], .int(3)),
        (["network", "episodes", "0", "losses"], .int(-1)), (["network", "episodes", "0", "seconds"], .double(1e300)),
        (["network", "sessions", "0", "reachable"], .string("yes")),
    ])
    func anUnusableMemberIsAWarningNamingItAndTheRestIsKept(path: [String], value: JSONValue) throws {
        let file = Self.fullFile()
        let json = Self.replacing(file.json, path: path, with: value)
        let (read, warnings) = try #require(DaemonSnapshot.read(json: json))
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.hasPrefix(Self.name(path) + ":") == true, "\(warnings)")
        // Everything else is as written; above all the damage record (but for the member itself).
        #expect(read.damage.count == 1)
        if path.first != "damage" { #expect(read.damage == file.damage) }
        if path.first != "episodes" { #expect(read.episodes == file.episodes) }
        if path.first != "stalls" { #expect(read.stalls == file.stalls) }
        if path.first != "ext4_baseline" { #expect(read.ext4Baseline == file.ext4Baseline) }
        if path.first != "boot_id" { #expect(read.bootID == file.bootID) }
        if path.first != "pid" { #expect(read.pid == file.pid) } else { #expect(read.pid == 0) }
    }

    /// What the kernel can hand the daemon, at the top of the kernel's own types (an in-flight
    /// count printed unsigned, 4294967295 seen from accounting bugs; ext4's u32 `errors_count`; the
    /// u64 printk sequence): written, read back whole and without a warning. Each was once a value
    /// the writer wrote and the reader refused, and with it the whole file and its damage record.
    @Test func kernelValuesAtTheTopOfTheirTypesReadBackWhole() throws {
        var file = Self.fullFile()
        file.stalls[0].inflight = Int(UInt32.max)
        file.ext4Baseline = ["sda2": Int(UInt32.max)]
        file.kernelSequence = UInt64.max
        let text = file.json.serialized(pretty: true)
        #expect(text.contains("\"inflight\": 4294967295") && text.contains("\"kernel_seqnum\": 18446744073709551615"))
        let parsed = try #require(JSONValue(parsing: text))
        let (read, warnings) = try #require(DaemonSnapshot.read(json: parsed))
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(read == file)
    }

    /// Beyond the kernel's type (a test tree can hold anything): clamped on writing, never refused.
    @Test func valuesBeyondTheirRangeAreClampedOnWriting() throws {
        var file = Self.fullFile()
        file.stalls[0].inflight = 2 * Int(UInt32.max)
        file.stalls[0].seconds = .infinity
        file.ext4Baseline = ["sda": -3]
        file.corrections = -1
        let parsed = try #require(JSONValue(parsing: file.json.serialized()))
        let (read, warnings) = try #require(DaemonSnapshot.read(json: parsed))
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(read.stalls[0].inflight == Int(UInt32.max) && read.stalls[0].seconds == DaemonSnapshot.secondsRange.upperBound)
        #expect(read.ext4Baseline == ["sda": 0] && read.corrections == 0)
    }

    @Test func statusReportsAnUnusableMemberInsteadOfCrashing() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let directory = tree.directory + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var random = SeededGenerator(seed: 2)
        var file = Self.randomFile(&random)
        file.episodes = []
        let json = Self.replacing(file.json, path: ["poll_interval"], with: .double(1e300))
        try json.serialized().write(toFile: directory + "/state.json", atomically: true, encoding: .utf8)
        let report = StatusReport(topology: tree.scanner.scan(), configuration: Configuration(),
                                  daemon: DaemonStatus.read(stateDirectory: directory, system: tree.system,
                                                            nowMicroseconds: file.updatedMicroseconds))
        #expect(report.findings.contains { $0.subject == "daemon" && $0.message.contains("poll_interval: 1e+300 is not within") },
                "\(report.findings)")
        // Not JSON at all: the file is unusable, said as such.
        try "{\"pid\": 1,".write(toFile: directory + "/state.json", atomically: true, encoding: .utf8)
        guard case .failure(let broken)? = DaemonSnapshot.read(directory: directory) else {
            Issue.record("a torn file was read")
            return
        }
        #expect(broken.description.contains("not JSON"))
        // A link in place of the file is refused, not followed.
        try FileManager.default.removeItem(atPath: directory + "/state.json")
        #expect(symlink("/etc/passwd", directory + "/state.json") == 0)
        guard case .failure(let error)? = DaemonSnapshot.read(directory: directory) else {
            Issue.record("a link was read")
            return
        }
        #expect(error.description.contains("a symbolic link (refused)"))
    }
}
