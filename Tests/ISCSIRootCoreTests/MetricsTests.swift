import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

private let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Exposition: the Prometheus text format")
struct ExpositionTests {
    @Test func labelValuesAreEscapedAndBounded() {
        #expect(Exposition.escape(labelValue: #"a\b"c"#) == #"a\\b\"c"#)
        #expect(Exposition.escape(labelValue: "one\ntwo") == #"one\ntwo"#)
        // Terminal control sequences from a hostile target name never reach status --prometheus's output.
        #expect(Exposition.escape(labelValue: "iqn\u{1B}[2Jx\ry\u{9B}z\u{7F}") == "iqn\u{FFFD}[2Jx\u{FFFD}y\u{FFFD}z\u{FFFD}")
        #expect(Exposition.escape(labelValue: String(repeating: "x", count: 1000)).count == Exposition.maximumLabelLength)
    }

    @Test func numbersAsPrometheusParsesThem() {
        #expect(Exposition.format(1) == "1")
        #expect(Exposition.format(0.5) == "0.5")
        #expect(Exposition.format(-3) == "-3")
        #expect(Exposition.format(.infinity) == "+Inf")
        #expect(Exposition.format(-.infinity) == "-Inf")
        #expect(Exposition.format(.nan) == "NaN")
        #expect(Exposition.format(1_764_500_012.25) == "1764500012.25")
    }

    @Test func familiesHaveHelpAndTypeOnceAndEmptyOnesAreLeftOut() {
        var exposition = Exposition()
        exposition.add("x_total", .counter, help: "Things\\n.", [.init([("a", "1")], 2), .init([("a", "2")], 3)])
        exposition.add("y", .gauge, help: "None.", [])
        #expect(exposition.text == """
            # HELP x_total Things\\\\n.
            # TYPE x_total counter
            x_total{a="1"} 2
            x_total{a="2"} 3

            """)
    }
}

@Suite("RecoveryStatistics: episodes per session and a histogram of their durations")
struct RecoveryStatisticsTests {
    private let start = Moment(monotonic: .seconds(1000), wallMicroseconds: 1_764_500_000_000_000)
    private func at(_ seconds: Double) -> Moment {
        let offset = Duration.milliseconds(Int64(seconds * 1000))
        return Moment(monotonic: start.monotonic + offset, wallMicroseconds: start.wallMicroseconds + offset.microseconds)
    }

    @Test func trackerCountsEpisodesAndObservesDurationsCumulatively() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: at(0))
        for (failed, recovered) in [(10.0, 13.5), (20.0, 60.0)] {
            try tree.setPhase(.failed, session: 1)
            _ = tracker.update(tree.scanner.scan(), at: at(failed))
            try tree.setPhase(.loggedIn, session: 1)
            _ = tracker.update(tree.scanner.scan(), at: at(recovered))
        }
        try tree.setPhase(.failed, session: 1)
        _ = tracker.update(tree.scanner.scan(), at: at(70))
        let counts = try #require(tracker.statistics.sessions[1])
        #expect(counts.episodes == 3)
        #expect(counts.finished == 2)
        #expect(counts.secondsSum == 43.5)
        let bucket = { (bound: Double) in counts.buckets[RecoveryStatistics.bucketBounds.firstIndex(of: bound)!] }
        #expect(bucket(2) == 0)
        #expect(bucket(5) == 1)
        #expect(bucket(30) == 1)
        #expect(bucket(60) == 2)
        #expect(bucket(86400) == 2)
    }

    @Test func anEpisodeAlreadyRunningAtStartIsCountedButNotTimed() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.failed, session: 1)
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: at(0))
        try tree.setPhase(.loggedIn, session: 1)
        _ = tracker.update(tree.scanner.scan(), at: at(5))
        #expect(tracker.statistics.sessions[1]?.episodes == 1)
        #expect(tracker.statistics.sessions[1]?.finished == 0)
    }

    @Test func goneSessionsAreDroppedLowestFirstOnlyBeyondTheLimit() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        var tracker = RecoveryTracker()
        _ = tracker.update(tree.scanner.scan(), at: at(0))
        // Sessions 2…70 each fail once and log out: at most 64 sessions are kept, the newest.
        for number in 2...70 {
            try tree.addISCSISession(number: number, host: 10 + number, phase: .failed, luns: [0])
            _ = tracker.update(tree.scanner.scan(), at: at(Double(number)))
            try tree.removeSession(number)
            _ = tracker.update(tree.scanner.scan(), at: at(Double(number) + 0.5))
        }
        let kept = tracker.statistics.sessions.keys.sorted()
        #expect(kept.count == 64)
        #expect(kept.first == 7 && kept.last == 70)
    }
}

/// The exposition of a fixture client as the daemon sees it at a fixed time: compared with
/// `Fixtures/metrics/NAME.prom` (regenerate with `GOLDEN_UPDATE=1 swift test --filter MetricsGolden`).
@Suite("MetricsGolden: expositions from fixture trees")
struct MetricsGoldenTests {
    private let bootID = "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6b"
    private let start = Moment(monotonic: .seconds(1000), wallMicroseconds: 1_764_500_000_000_000)
    private func at(_ seconds: Double) -> Moment {
        let offset = Duration.milliseconds(Int64(seconds * 1000))
        return Moment(monotonic: start.monotonic + offset, wallMicroseconds: start.wallMicroseconds + offset.microseconds)
    }

    /// The daemon's state after watching `tree` go through `phases` (seconds after start, phase).
    private func exposition(_ tree: FixtureTree, phases: [(Double, SessionPhase)], now: Double,
                            stallFrom: Double? = nil, damagedAt: Double? = nil) throws -> String {
        var tracker = RecoveryTracker()
        var stalls = StallTracker()
        var topology = tree.scanner.scan()
        _ = tracker.update(topology, at: at(0))
        for (time, phase) in phases {
            try tree.setPhase(phase, session: 1)
            topology = tree.scanner.scan()
            _ = tracker.update(topology, at: at(time))
        }
        if let stallFrom {
            let sda = try #require(topology.device(disk: "sda"))
            for time in [stallFrom, now] {
                _ = stalls.update([(sda, IOSample(inflight: 3, completions: 500))], topology: topology, threshold: .seconds(5), at: at(time))
            }
        }
        var state = DaemonSnapshot(pid: 4242, bootID: bootID, startedMicroseconds: start.wallMicroseconds,
                                   updatedMicroseconds: at(now).wallMicroseconds, deviceEvents: "udev", sessionEvents: "netlink")
        state.note(Configuration(), files: ["/etc/iscsi-rootd.conf"])
        state.lastPollMicroseconds = at(now - 0.5).wallMicroseconds
        tracker.record(into: &state, at: at(now))
        stalls.record(into: &state, at: at(now))
        state.corrections = 1
        if let damagedAt {
            DamageTracker(damage: [FileSystemDamage(device: "sda2", mountPoints: ["/"], carriesRoot: true,
                                                    sinceMicroseconds: at(damagedAt).wallMicroseconds,
                                                    cause: "journal aborted on sda2", afterRecoveryTimeoutOf: "session1")])
                .record(into: &state)
        }
        let report = MetricsReport(topology: topology, configuration: Configuration(), daemon: DaemonStatus(ownState: state))
        return report.text
    }

    private func compare(_ text: String, golden name: String) throws {
        let url = repository.appendingPathComponent("Fixtures/metrics/\(name).prom")
        if ProcessInfo.processInfo.environment["GOLDEN_UPDATE"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(text == golden, "Fixtures/metrics/\(name).prom differs; regenerate with GOLDEN_UPDATE=1 swift test --filter MetricsGolden")
        try assertWellFormed(text)
    }

    @Test func healthyAfterAnOutage() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let text = try exposition(tree, phases: [(10, .failed), (22.5, .loggedIn)], now: 60)
        #expect(text.contains(#"iscsi_rootd_session_state{session="session1",state="LOGGED_IN"} 1"#))
        #expect(text.contains(#"iscsi_rootd_recovery_episodes_total{session="session1"} 1"#))
        #expect(text.contains(#"iscsi_rootd_recovery_duration_seconds_bucket{session="session1",le="30"} 1"#))
        #expect(text.contains(#"iscsi_rootd_recovery_duration_seconds_bucket{session="session1",le="10"} 0"#))
        #expect(text.contains(#"iscsi_rootd_recovery_episode_age_seconds{session="session1"} 0"#))
        try compare(text, golden: "healthy")
    }

    @Test func failedSessionInRecovery() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let text = try exposition(tree, phases: [(10, .failed)], now: 52)
        #expect(text.contains(#"iscsi_rootd_session_state{session="session1",state="FAILED"} 1"#))
        #expect(text.contains(#"iscsi_rootd_recovery_episode_age_seconds{session="session1"} 42"#))
        #expect(text.contains(#"iscsi_rootd_session_io_failing{session="session1"} 0"#))
        try compare(text, golden: "failed")
    }

    @Test func freeSessionIOFailingStalledAndDamaged() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let text = try exposition(tree, phases: [(10, .failed), (130, .free)], now: 140, stallFrom: 100, damagedAt: 135)
        #expect(text.contains(#"iscsi_rootd_session_state{session="session1",state="FREE"} 1"#))
        #expect(text.contains(#"iscsi_rootd_session_io_failing{session="session1"} 1"#))
        #expect(text.contains(#"iscsi_rootd_disk_stall_seconds{disk="sda"} 40"#))
        #expect(text.contains("iscsi_rootd_root_filesystem_damaged 1"))
        try compare(text, golden: "free")
    }

    @Test func multipathRootDegraded() throws {
        let tree = try FixtureTree()
        try Scenario.multipath.layOut(in: tree)
        try tree.setPhase(.failed, session: 2)
        let text = MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: nil).text
        #expect(text.contains(#"iscsi_rootd_multipath_paths{map="mpatha"} 2"#))
        #expect(text.contains(#"iscsi_rootd_multipath_paths_up{map="mpatha"} 1"#))
        #expect(text.contains(#"iscsi_rootd_multipath_root{map="mpatha"} 1"#))
        try compare(text, golden: "multipath-degraded")
    }

    @Test func withoutADaemonOnlySysfsAndDaemonUpZero() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let text = MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: nil).text
        #expect(text.contains("iscsi_rootd_daemon_up 0\n"))
        #expect(!text.contains("iscsi_rootd_recovery"))
        #expect(!text.contains("iscsi_rootd_disk_stall_seconds"))
        try compare(text, golden: "no-daemon")
    }

    @Test func hostileSysfsStringsAreEscaped() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_session/session1/targetname", "iqn.evil\"} 1\nfake_metric{a=\"\\")
        let text = MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: nil).text
        #expect(text.contains(#"target="iqn.evil\"} 1\nfake_metric{a=\"\\""#))
        #expect(!text.contains("\nfake_metric"))
        try assertWellFormed(text)
    }

    @Test func unknownSessionStatesShareOneSeries() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_session/session1/state", "SOMETHING_NEW")
        let text = MetricsReport(topology: tree.scanner.scan(), configuration: Configuration(), daemon: nil).text
        #expect(text.contains(#"iscsi_rootd_session_state{session="session1",state="unknown"} 1"#))
        #expect(!text.contains("SOMETHING_NEW"))
    }

    /// Every line is a comment (HELP/TYPE) or `name{label="value",…} number`; histograms are cumulative.
    private func assertWellFormed(_ text: String) throws {
        let sample = try Regex(#"^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|-Inf|NaN)$"#)
        for line in text.split(separator: "\n") where !line.hasPrefix("# HELP ") && !line.hasPrefix("# TYPE ") {
            #expect(line.wholeMatch(of: sample) != nil, "malformed: \(line)")
        }
        var last: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("iscsi_rootd_recovery_duration_seconds_bucket") {
            let session = String(line.split(separator: ",")[0])
            let value = Double(line.split(separator: " ").last!)!
            #expect(value >= last[session, default: 0], "not cumulative: \(line)")
            last[session] = value
        }
    }
}

@Suite("[Metrics] TextfileDirectory=")
struct TextfileDirectoryConfigTests {
    private func load(_ text: String) throws -> Result<Configuration, ConfigError> {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.writeSystemFile("etc/iscsi-rootd.conf", text)
        do throws(ConfigError) {
            return .success(try ConfigLoader(system: tree.system).load())
        } catch {
            return .failure(error)
        }
    }

    @Test func offByDefaultAndWhenEmpty() throws {
        #expect(Configuration().textfileDirectory == nil)
        #expect(try load("[Metrics]\nTextfileDirectory=\n").get().textfileDirectory == nil)
    }

    @Test func anAbsoluteDirectoryIsTakenWithoutATrailingSlash() throws {
        #expect(try load("[Metrics]\nTextfileDirectory=/var/lib/prometheus/node-exporter/\n").get().textfileDirectory
                == "/var/lib/prometheus/node-exporter")
    }

    @Test(arguments: ["node-exporter", "/", "/var/lib/../tmp", "/var/./lib"])
    func anythingElseIsRejectedNamingTheLine(value: String) throws {
        guard case .failure(let error) = try load("# fleet\n[Metrics]\nTextfileDirectory=\(value)\n") else {
            Issue.record("accepted '\(value)'")
            return
        }
        #expect(error.line == 3)
        #expect(error.message.contains("TextfileDirectory= wants an absolute directory"))
    }

    @Test func unknownKeysInMetricsNameTheKnownOne() throws {
        guard case .failure(let error) = try load("[Metrics]\nDirectory=/x\n") else {
            Issue.record("accepted")
            return
        }
        #expect(error.message == "unknown key 'Directory' in [Metrics]; known: TextfileDirectory=")
    }
}

@Suite("Version")
struct VersionTests {
    @Test func versionIsThePackagedOne() throws {
        let pkgbuild = try String(contentsOf: repository.appendingPathComponent("packaging/arch/PKGBUILD"), encoding: .utf8)
        #expect(pkgbuild.split(separator: "\n").contains("pkgver=\(ISCSIRootVersion.current)"))
    }
}

@Suite("docs/fleet: every alert is tied to a journal entry")
struct FleetDocsTests {
    @Test func everyAlertNamesTheMessageIDOfAKindAndItsJournalCommand() throws {
        let rules = try String(contentsOf: repository.appendingPathComponent("docs/fleet/iscsi-rootd.rules.yml"), encoding: .utf8)
        let ids = Set(MessageKind.allCases.map(\.id))
        var alerts: [String] = []
        var current: (name: String, id: String?, journal: String?)?
        func finish() {
            guard let alert = current else { return }
            #expect(alert.id.map(ids.contains) == true, "\(alert.name): message_id \(alert.id ?? "missing") is no MessageKind")
            #expect(alert.journal == "journalctl -x -u iscsi-rootd MESSAGE_ID=\(alert.id ?? "")", "\(alert.name): \(alert.journal ?? "no journal")")
            alerts.append(alert.name)
        }
        for line in rules.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("- alert: ") {
                finish()
                current = (String(line.dropFirst("- alert: ".count)), nil, nil)
            } else if line.hasPrefix("message_id: ") {
                current?.id = String(line.dropFirst("message_id: ".count))
            } else if line.hasPrefix("journal: ") {
                current?.journal = String(line.dropFirst("journal: ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        finish()
        #expect(alerts.count == 10, "\(alerts)")
        // The fleet README's table names each alert with the same id.
        let readme = try String(contentsOf: repository.appendingPathComponent("docs/fleet/README.md"), encoding: .utf8)
        for name in alerts {
            #expect(readme.contains("| \(name) |"), "docs/fleet/README.md lacks \(name)")
        }
    }

    @Test func theJournalQueryAsksForRootSessionsThatFailed() throws {
        let script = try String(contentsOf: repository.appendingPathComponent("docs/fleet/failed-root-sessions.sh"), encoding: .utf8)
        #expect(script.contains("MESSAGE_ID=\(MessageKind.sessionFailed.id) ROOT=1"))
    }
}
