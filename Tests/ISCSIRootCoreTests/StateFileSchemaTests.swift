import Foundation
@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// The state file's one typed schema: what the daemon writes reads back equal, and every value
/// out of range is an error naming it (never a crash: the file survives restarts).
@Suite("State file schema: written and read by the same code, every value range-checked")
struct StateFileSchemaTests {
    static func randomFile(_ random: inout SeededGenerator) -> DaemonStateFile {
        func wall() -> Int64 { Int64.random(in: DaemonStateFile.wallRange, using: &random) }
        func seconds() -> Double { random.chance(0.5) ? Double(Int.random(in: 0...100_000, using: &random)) / 8
                                                      : Double.random(in: DaemonStateFile.secondsRange, using: &random) }
        func text() -> String { random.hostileString() }
        func optionalWall() -> Int64? { random.chance(0.5) ? wall() : nil }
        return DaemonStateFile(
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
                      inflight: Int.random(in: DaemonStateFile.countRange, using: &random), root: random.chance(0.5))
            },
            damage: (0..<Int.random(in: 0...2, using: &random)).map { _ in
                .init(device: text(), mountPoints: [text()], root: random.chance(0.5), sinceMicroseconds: wall(),
                      cause: text(), afterRecoveryTimeoutOf: random.chance(0.5) ? text() : nil, message: text())
            },
            kernelSequence: random.chance(0.5) ? UInt64.random(in: 0...UInt64(Int64.max), using: &random) : nil,
            ext4Baseline: random.chance(0.5) ? [text(): Int.random(in: DaemonStateFile.countRange, using: &random)] : [:],
            corrections: Int.random(in: 0...Int.max, using: &random),
            tuningFailures: Int.random(in: 0...Int.max, using: &random), auditProblems: [text()],
            lockedKiB: random.chance(0.5) ? Int.random(in: 0...Int(Int32.max), using: &random) : nil,
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
                          losses: Int.random(in: DaemonStateFile.countRange, using: &random),
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
            #expect(try DaemonStateFile(json: parsed) == file, "case \(index)")
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

    @Test(arguments: [
        (["pid"], JSONValue.int(0)), (["pid"], .int(4_294_967_296)), (["started_usec"], .int(-1)),
        (["poll_interval"], .double(1e300)), (["poll_interval"], .double(-1)), (["config", "timeout"], .int(86401)),
        (["config", "types", "0"], .int(32)), (["episodes", "0", "seconds"], .double(1e300)),
        (["episodes", "0", "seconds_left"], .string("forever")), (["path_episodes", "0", "ended_usec"], .int(-1)),
        (["path_episodes", "0", "disk"], .null), (["stalls", "0", "inflight"], .int(-5)),
        (["damage", "0", "since_usec"], .double(9.3e18)), (["kernel_seqnum"], .int(-1)),
        (["ext4_baseline", "sda"], .double(1e20)), (["recent_events", "0", "priority"], .int(8)),
        (["memory", "locked_kib"], .string("lots")), (["corrections"], .null), (["boot_id"], .int(3)),
        (["network", "episodes", "0", "losses"], .int(-1)), (["network", "episodes", "0", "seconds"], .double(1e300)),
        (["network", "sessions", "0", "reachable"], .string("yes")),
    ])
    func anOutOfRangeValueIsAnErrorNamingIt(path: [String], value: JSONValue) throws {
        var random = SeededGenerator(seed: 1)
        var file = Self.randomFile(&random)
        file.episodes = [.init(session: "session1", target: nil, root: true, cause: "x", startedMicroseconds: 1,
                               startedBeforeDaemon: false, ioFailingSinceMicroseconds: nil, endedMicroseconds: nil,
                               seconds: 1, secondsLeft: 5)]
        file.pathEpisodes = [.init(map: "mpatha", disk: "sdb", session: "session2", portal: nil, root: true, cause: "x",
                                   startedMicroseconds: 1, startedBeforeDaemon: false, endedMicroseconds: nil, seconds: 1)]
        file.stalls = [.init(disk: "sda", sinceMicroseconds: 1, seconds: 1, inflight: 1, root: true)]
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
        let json = Self.replacing(file.json, path: path, with: value)
        do {
            _ = try DaemonStateFile(json: json)
            Issue.record("accepted \(path) = \(value.serialized())")
        } catch {
            let name = path.reduce("") { $0.isEmpty ? $1 : (Int($1) != nil ? "\($0)[\($1)]" : "\($0).\($1)") }
            #expect(error.description.hasPrefix(name + ":"), "\(error)")
        }
    }

    @Test func statusReportsAnUnusableStateFileInsteadOfCrashing() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let directory = tree.directory + "/state"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var random = SeededGenerator(seed: 2)
        var file = Self.randomFile(&random)
        file.episodes = []
        let json = Self.replacing(file.json, path: ["poll_interval"], with: .double(1e300))
        try json.serialized().write(toFile: directory + "/state.json", atomically: true, encoding: .utf8)
        let report = StatusReport(topology: tree.scanner.scan(), configuration: Configuration(),
                                  daemon: DaemonStatus.read(stateDirectory: directory, system: tree.system))
        #expect(report.findings.contains { $0.subject == "daemon" && $0.message.contains("poll_interval: 1e+300 is not within") })
        // A link in place of the file is refused, not followed.
        try FileManager.default.removeItem(atPath: directory + "/state.json")
        #expect(symlink("/etc/passwd", directory + "/state.json") == 0)
        guard case .failure(let error)? = DaemonStateFile.read(directory: directory) else {
            Issue.record("a link was read")
            return
        }
        #expect(error.description.contains("a symbolic link (refused)"))
    }
}
