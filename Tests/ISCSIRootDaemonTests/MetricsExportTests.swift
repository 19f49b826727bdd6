import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// `[Metrics] TextfileDirectory=` and `status --prometheus`, through the binary.
@Suite("Metrics: the textfile the daemon writes and status --prometheus")
struct MetricsExportTests {
    private func sample(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test("the daemon writes iscsi-rootd.prom (0644) on start and on change, counts an outage, says daemon_up 0 at stop")
    func textfileThroughAnOutage() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6b\n")
        let textfiles = tree.directory + "/textfiles"
        try #require(mkdir(textfiles, 0o755) == 0)
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Metrics]\nTextfileDirectory=\(textfiles)\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        let file = textfiles + "/iscsi-rootd.prom"
        let episodes = #"iscsi_rootd_recovery_episodes_total{session="session1"}"#
        try daemon.wait(for: "the metrics file with daemon_up 1") { sample(ChildProcess.contents(file), "iscsi_rootd_daemon_up") == 1 }
        var info = stat()
        #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o644)
        #expect(sample(ChildProcess.contents(file), episodes) == 0)

        try tree.setPhase(.failed, session: 1)
        try daemon.wait(for: "FAILED and an episode in the metrics file") {
            let text = ChildProcess.contents(file)
            return sample(text, #"iscsi_rootd_session_state{session="session1",state="FAILED"}"#) == 1 && sample(text, episodes) == 1
        }
        try tree.setPhase(.loggedIn, session: 1)
        try daemon.wait(for: "LOGGED_IN and the finished episode in the histogram") {
            let text = ChildProcess.contents(file)
            return sample(text, #"iscsi_rootd_session_state{session="session1",state="LOGGED_IN"}"#) == 1
                && sample(text, #"iscsi_rootd_recovery_duration_seconds_count{session="session1"}"#) == 1
        }
        // The same exposition from the state file, by status --prometheus (sysfs unchanged meanwhile).
        let status = try runIscsiRootd(["status", "--prometheus", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                        "--state-dir", daemon.stateDirectory, "--config", configPath])
        #expect(status.status == 0)
        #expect(sample(status.standardOutput, episodes) == 1)
        #expect(sample(status.standardOutput, "iscsi_rootd_daemon_up") == 1)

        #expect(daemon.stop() == 0)
        #expect(sample(ChildProcess.contents(file), "iscsi_rootd_daemon_up") == 0)
        #expect(sample(ChildProcess.contents(file), episodes) == 1)
        #expect(access(file + ".tmp", F_OK) != 0, "the temporary file is renamed, never left")
    }

    @Test("a reload that turns metrics off removes the daemon's file, and only that file")
    func reloadWithoutMetricsRemovesTheFile() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let textfiles = tree.directory + "/textfiles"
        try #require(mkdir(textfiles, 0o755) == 0)
        let neighbour = textfiles + "/node.prom"
        try writeFile(neighbour, "other_metric 1\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Metrics]\nTextfileDirectory=\(textfiles)\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        let file = textfiles + "/iscsi-rootd.prom"
        try daemon.wait(for: "the metrics file") { access(file, F_OK) == 0 }

        try writeFile(configPath, "[Disk]\nTimeout=30\n")
        daemon.process.signal(SIGHUP)
        // The file goes on the writer's thread, the notice on the loop's: either may come first.
        try daemon.wait(for: "the metrics file removed, and said so") {
            access(file, F_OK) != 0 && daemon.entries.contains { $0.message.hasPrefix("metrics file \(file) removed") }
        }
        #expect(ChildProcess.contents(neighbour) == "other_metric 1\n", "another exporter's file stays")
        // A change after the reload, and the stop, write nothing there any more.
        try tree.setPhase(.failed, session: 1)
        try daemon.waitForDatagram("STATUS=RECOVERY") { statusValue($0)?.hasPrefix("RECOVERY root session1 ") == true }
        #expect(daemon.stop() == 0)
        #expect(access(file, F_OK) != 0)
        #expect(access(file + ".tmp", F_OK) != 0)
    }

    @Test("a directory that cannot be written is reported once, naming it, and the daemon carries on")
    func unwritableDirectoryIsReportedOnce() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let missing = tree.directory + "/no-such-dir"
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Metrics]\nTextfileDirectory=\(missing)\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state")
        try daemon.wait(for: "a warning about the metrics file") {
            daemon.entries.contains { $0.message.hasPrefix("cannot write the metrics file") }
        }
        usleep(1_000_000)
        daemon.refresh()
        let warnings = daemon.entries.filter { $0.message.hasPrefix("cannot write the metrics file") }
        #expect(warnings.count == 1, "\(warnings.map(\.message))")
        #expect(warnings.first?.message.contains("cannot open \(missing): ENOENT") == true, "\(warnings.first?.message ?? "")")
        #expect(warnings.first?.message.contains("must exist") == true)
        #expect(daemon.stop() == 0)
    }

    @Test func statusPrometheusWithoutDaemonExitsZeroEvenWhenCritical() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setPhase(.free, session: 1)
        let result = try runIscsiRootd(["status", "--prometheus", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                        "--state-dir", tree.directory + "/state"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("# HELP iscsi_rootd_daemon_up "))
        #expect(sample(result.standardOutput, "iscsi_rootd_daemon_up") == 0)
        #expect(sample(result.standardOutput, #"iscsi_rootd_session_state{session="session1",state="FREE"}"#) == 1)
    }

    @Test func prometheusAndJSONExcludeEachOther() throws {
        let result = try runIscsiRootd(["status", "--prometheus", "--json"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("--json, --prometheus and --nagios exclude each other"))
    }
}
