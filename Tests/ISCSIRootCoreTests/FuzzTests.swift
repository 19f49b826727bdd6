import Foundation
@testable import ISCSIRootCore
import SysfsFixtures
import Testing

/// Fuzz settings: `FUZZ_CASES` (default 3000, what CI runs), `FUZZ_SEED` (default 10), and
/// `FUZZ_LOG`, a file that always holds the case being run, so that a crash or hang is
/// reproduced with the same seed. `scripts/fuzz N` runs N cases.
enum FuzzSettings {
    static func number(_ name: String, default value: UInt64) -> UInt64 {
        getenv(name).flatMap { UInt64(String(cString: $0)) } ?? value
    }

    static let cases = Int(number("FUZZ_CASES", default: 3000))
    static let seed = number("FUZZ_SEED", default: 10)
    static let log = getenv("FUZZ_LOG").map { String(cString: $0) }
    /// A case that runs longer than this is a hang: the process aborts naming it.
    static let caseLimit: TimeInterval = 10
}

/// Aborts the process when one case runs past `FuzzSettings.caseLimit`, naming it.
final class CaseWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (name: String, started: Date)?
    private var stopped = false

    init() {
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                lock.lock()
                let running = current
                let done = stopped
                lock.unlock()
                if done { return }
                if let running, Date().timeIntervalSince(running.started) > FuzzSettings.caseLimit {
                    FileHandle.standardError.write(Data("fuzz: HANG in \(running.name) (over \(FuzzSettings.caseLimit) s)\n".utf8))
                    abort()
                }
            }
        }
    }

    func start(_ name: String) {
        lock.lock()
        current = (name, Date())
        lock.unlock()
        if let log = FuzzSettings.log { try? (name + "\n").write(toFile: log, atomically: false, encoding: .utf8) }
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}

/// Byte-level mutations of a valid input: what a corrupted, truncated or hostile file looks like.
enum Mutator {
    static func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<9, using: &random) {
            case 0 where !bytes.isEmpty:  // flip a byte
                bytes[min(position, bytes.count - 1)] = UInt8.random(in: 0...255, using: &random)
            case 1:  // insert something hostile
                bytes.insert(contentsOf: Array(random.hostileString(maximumLength: 6).utf8), at: position)
            case 2 where !bytes.isEmpty:  // delete a range
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                if position < end { bytes.removeSubrange(position..<end) }
            case 3:  // truncate
                bytes.removeSubrange(position..<bytes.count)
            case 4:  // a number that overflows, is negative or is not one
                let number = random.pick(["99999999999999999999", "-1", "-2147483649", "4294967296", "9223372036854775808",
                                          "0x", "1e400", "nan", "0", "18446744073709551615", "2147483648"])
                bytes.insert(contentsOf: Array(number.utf8), at: position)
            case 5:  // replace the digits around the position by a huge number
                var index = position
                while index < bytes.count, !(48...57).contains(bytes[index]) { index += 1 }
                var end = index
                while end < bytes.count, (48...57).contains(bytes[end]) { end += 1 }
                bytes.replaceSubrange(index..<end, with: Array("184467440737095516150".utf8))
            case 6:  // CRLF line ends, or a BOM
                bytes = random.chance(0.5) ? Array(String(decoding: bytes, as: UTF8.self)
                    .split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n").utf8)
                    : [0xEF, 0xBB, 0xBF] + bytes
            case 7:  // duplicate a line
                let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                if let line = lines.randomElement(using: &random) { bytes += Array(("\n" + line).utf8) }
            default:  // a long run of one byte
                bytes.insert(contentsOf: [UInt8](repeating: random.pick([0x20, 0x00, 0x5B, 0x3D, 0x0A, 0x2C]),
                                                 count: Int.random(in: 1...3000, using: &random)), at: position)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Property: whatever the input, every reader returns (no crash, no hang) and what it returns is
/// within range; every report renders to valid JSON and to text without raw control bytes.
@Suite("Fuzz: every reader under mutated input", .serialized)
struct FuzzTests {
    static func noRawControls(_ text: String) -> Bool {
        !text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    static let configSeed = """
        # The shipped defaults
        [Disk]
        Timeout=90
        Scheduler=none
        Types=0 7 14
        VerifyInterval=60
        StallThreshold=2.5

        [Session]
        RecoveryTimeout=86400
        """

    static let ipv6Route = """
        fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
        00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
        """

    static let attributes = ["[mq-deadline] none", "none", "[none] mq-deadline kyber bfq", "LOGGED_IN", "FAILED", "FREE",
                             "running", "blocked", "transport-offline", "cancel/recovery", "off", "86400", "-1", "0x1f",
                             "2:0:0:0", "2:0:0:18446744073709551615", "0", "30", "(null)", "5.5", "0.25", "up"]

    @Test("mutated configuration, attributes, kmsg records, fstab, units, node records, routes, mountinfo, state files, log lines, metrics requests")
    func readers() throws {
        let watchdog = CaseWatchdog()
        defer { watchdog.stop() }
        var random = SeededGenerator(seed: FuzzSettings.seed)
        let kmsg = try OutageConsole.kmsgRecords("console-O150-stock.txt")
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.mount(point: "/", device: "sda2", fileSystem: "ext4")
        let topology = tree.scanner.scan()
        let mountinfo = try tree.system.read("proc/self/mountinfo").get()
        let files = try AuditTests.goodFiles()
        let systemDirectory = try TemporaryDirectory("audit")
        defer { systemDirectory.remove() }
        let system = try AuditTests.layOut(files, in: systemDirectory.path)
        var damage = DamageTracker()
        var counts: [String: Int] = [:]
        for index in 0..<FuzzSettings.cases {
            let reader = index % 11
            let name = ["config", "attribute", "kmsg", "audit files", "routes", "mountinfo", "state file", "log line",
                        "seconds", "kmsg", "metrics request"][reader]
            watchdog.start("case \(index) (\(name)), FUZZ_SEED=\(FuzzSettings.seed)")
            counts[name, default: 0] += 1
            switch reader {
            case 0:
                let text = Mutator.mutate(Self.configSeed, &random)
                var configuration = Configuration()
                do {
                    try ConfigParser.apply(text, file: "fuzz.conf", to: &configuration)
                    #expect((1...86400).contains(configuration.disk.timeout))
                    #expect(configuration.disk.types.allSatisfy { (0...31).contains($0) })
                    #expect(configuration.verifyInterval > .zero && configuration.verifyInterval <= Configuration.maximumInterval)
                    #expect(configuration.stallThreshold > .zero && configuration.stallThreshold <= Configuration.maximumInterval)
                    if case .atLeast(let seconds) = configuration.recoveryTimeout {
                        #expect((1...Configuration.maximumRecoveryTimeout).contains(seconds))
                    }
                } catch {
                    #expect((1...max(1, text.textLines.count)).contains(error.line), "case \(index): \(error)")
                    #expect(Self.noRawControls(error.description.escapedForDisplay))
                }
            case 1:
                let text = random.chance(0.5) ? Mutator.mutate(random.pick(Self.attributes), &random) : random.hostileString()
                if let value = Int(sysfs: text) { #expect(Int.sysfsRange.contains(value)) }
                if let scheduler = Scheduler(sysfs: text), let selected = scheduler.selected {
                    #expect(scheduler.available.contains(selected))
                }
                _ = RecoveryTimeout(sysfs: text)
                _ = HCTL(text)
                _ = (SessionState(text), HostState(text), DeviceState(text), ConnectionState(text))
                _ = KernelStorageSignal(message: text)
            case 2, 9:
                let text = Mutator.mutate(random.pick(kmsg), &random) + "\n"
                if let record = KernelRecord(kmsg: text) {
                    #expect(record.sequence <= UInt64(Int64.max) && record.timestampMicroseconds <= UInt64(Int64.max))
                    _ = damage.observe(record, topology: topology,
                                       at: Moment(monotonic: .seconds(Int64.random(in: 0...1_000_000, using: &random)),
                                                  wallMicroseconds: Int64.random(in: 0...Int64.max / 2, using: &random)),
                                       live: random.chance(0.5))
                }
            case 3:
                let path = random.pick(Array(files.keys).sorted())
                let text = Mutator.mutate(files[path]!, &random)
                try text.write(toFile: system.path(path), atomically: false, encoding: .utf8)
                let items = BootChainAudit(system: system, topology: AuditTests.topology(), policy: DiskPolicy()).run()
                let report = AuditReport(items: items)
                #expect(JSONValue(parsing: report.json.serialized(pretty: true)) != nil)
                #expect(Self.noRawControls(report.text))
                try files[path]!.write(toFile: system.path(path), atomically: false, encoding: .utf8)
            case 4:
                let v4 = Mutator.mutate(AuditTests.route, &random)
                let v6 = Mutator.mutate(Self.ipv6Route, &random)
                let routes = RouteTable.parseIPv4(v4) + RouteTable.parseIPv6(v6)
                #expect(routes.allSatisfy { (0...128).contains($0.prefixLength) })
                let table = RouteTable(routes: routes)
                _ = table.interface(for: random.pick(["10.0.0.1", "fd00::1", "::1", "127.0.0.1", "[fd00::5]", "1.2.3.4"]))
            case 5:
                let entries = MountEntry.parseMountInfo(Mutator.mutate(mountinfo, &random))
                _ = SwapEntry.parseSwaps(Mutator.mutate("Filename Type Size Used Priority\n/dev/sda3 partition 1048572 0 -2\n", &random))
                _ = FstabEntry.parse(Mutator.mutate(files["etc/fstab"]!, &random))
                #expect(entries.count <= mountinfo.count + 10_000)
            case 6:
                let file = StateFileSchemaTests.randomFile(&random)
                let text = random.chance(0.3) ? file.json.serialized(pretty: true) : Mutator.mutate(file.json.serialized(pretty: true), &random)
                // Whatever it reads, it reads back unchanged and without a warning once written.
                if let json = JSONValue(parsing: text), let (read, _) = DaemonSnapshot.read(json: json) {
                    let written = try #require(JSONValue(parsing: read.json.serialized()))
                    let again = try #require(DaemonSnapshot.read(json: written))
                    #expect(again.snapshot == read)
                    #expect(again.warnings.isEmpty, "\(again.warnings)")
                }
            case 7:
                let text = random.hostileString(maximumLength: 64)
                #expect(Self.noRawControls(text.escapedForDisplay) && !text.escapedForDisplay.contains("\n"))
            case 10:
                let scrape = String(decoding: MetricsRequestTests.scrape, as: UTF8.self)
                let bytes = Array(Mutator.mutate(random.chance(0.2) ? random.hostileString() : scrape, &random).utf8)
                let cut = Int.random(in: 0...bytes.count, using: &random)
                for (slice, end) in [(bytes[...], true), (bytes[..<cut], false)] {
                    guard case .respond(let response) = MetricsRequest.judge(slice, endOfInput: end) else {
                        #expect(!end && slice.count < MetricsRequest.maximumLength)
                        continue
                    }
                    #expect([200, 400, 404, 405, 431, 505].contains(response.status))
                    let answer = MetricsRequest.answer(response, exposition: Array("up 1\n".utf8))
                    let head = String(decoding: answer, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
                    #expect(Self.noRawControls(head))
                }
            default:
                let text = Mutator.mutate(random.pick(["5", "0.5", "86400", ".25", "1.000000001"]), &random)
                if let seconds = parseSeconds(text) { #expect(seconds >= .zero && seconds <= Configuration.maximumInterval) }
            }
        }
        print("fuzz: \(FuzzSettings.cases) reader cases, seed \(FuzzSettings.seed): " + counts.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "; 0 crashes, 0 hangs")
    }

    /// Attribute files of a fixture tree, each replaced by hostile content or a hostile kind of file.
    @Test("topology scan, status, health, audit and STATUS= on mutated sysfs trees")
    func mutatedTrees() throws {
        let watchdog = CaseWatchdog()
        defer { watchdog.stop() }
        var random = SeededGenerator(seed: FuzzSettings.seed &+ 1)
        let cases = max(20, FuzzSettings.cases / 30)
        var tree = try FixtureTree.healthyDisklessClient()
        for index in 0..<cases {
            if index % 25 == 0 { tree = try FixtureTree.healthyDisklessClient() }
            watchdog.start("tree case \(index), FUZZ_SEED=\(FuzzSettings.seed)")
            let candidates = Self.files(under: tree.sysfs.root)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let path = random.pick(candidates)
                try? FileManager.default.removeItem(atPath: path)
                switch Int.random(in: 0..<10, using: &random) {
                case 0: _ = symlink(path + ".nowhere", path)
                case 1: _ = symlink(path, path)
                case 2: _ = mkfifo(path, 0o644)
                case 3: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                case 4: try String(repeating: "9", count: FileTree.maximumReadSize + 2).write(toFile: path, atomically: false, encoding: .utf8)
                case 5: break  // missing
                default:
                    try (random.chance(0.5) ? random.hostileString() : Mutator.mutate(random.pick(Self.attributesOfTrees), &random))
                        .write(toFile: path, atomically: false, encoding: .utf8)
                }
            }
            let topology = tree.scanner.scan()
            let report = StatusReport(topology: topology, configuration: Configuration())
            #expect(JSONValue(parsing: report.json.serialized(pretty: true)) != nil, "tree case \(index)")
            #expect(Self.noRawControls(report.text(color: false)), "tree case \(index)")
            let audit = AuditReport(items: BootChainAudit(system: tree.system, topology: topology, policy: DiskPolicy()).run())
            #expect(Self.noRawControls(audit.text), "tree case \(index)")
            let line = StatusLine.compose(topology: topology, configuration: Configuration(), view: DaemonSnapshot())
            #expect(!line.isEmpty)
            var recovery = RecoveryTracker()
            _ = recovery.update(topology, at: Moment(monotonic: .seconds(1), wallMicroseconds: 1))
            // apply's tuning-only scan decides as the full scan does, whatever the tree holds.
            let tuner = DiskTuner(sysfs: tree.sysfs, policy: DiskPolicy())
            #expect(tuner.tune(tree.scanner.scanForTuning().devices, dryRun: true) == tuner.tune(topology.devices, dryRun: true),
                    "tree case \(index)")
        }
        print("fuzz: \(cases) mutated sysfs trees, seed \(FuzzSettings.seed): 0 crashes, 0 hangs")
    }

    static let attributesOfTrees = attributes + ["       0        0", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"]

    /// Regular files under `root` (links followed into the devices tree once, by walking it).
    static func files(under root: String) -> [String] {
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root + "/devices")
        while let relative = enumerator?.nextObject() as? String {
            let path = root + "/devices/" + relative
            var info = stat()
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG { result.append(path) }
        }
        return result.isEmpty ? [root + "/class/nothing"] : result
    }
}
