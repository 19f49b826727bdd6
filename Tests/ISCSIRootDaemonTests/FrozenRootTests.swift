import Glibc
import ISCSIRootCore
import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// A FIFO standing in for /dev/console; the test holds it open for reading and writing (so the
/// daemon's non-blocking open finds a reader), and can fill it up as a slow serial line does.
private final class ConsolePipe {
    let path: String
    private let fd: Int32
    private var received = ""

    init(in directory: String) throws {
        path = directory + "/console"
        try #require(mkfifo(path, 0o600) == 0)
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        try #require(fd >= 0)
    }

    deinit { close(fd) }

    /// Every line the daemon wrote so far.
    var lines: [String] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            received += String(decoding: chunk[..<count], as: UTF8.self)
        }
        return received.split(separator: "\n").map(String.init)
    }

    /// Writes into the pipe until it is full (EAGAIN), as a console that cannot keep up; returns the
    /// bytes written.
    func fill() -> Int {
        let block = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        var total = 0
        while true {
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { return total }
            total += written
        }
    }

    /// Reads and discards `bytes` (the filling).
    func drain(_ bytes: Int) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        var left = bytes
        while left > 0 {
            let count = read(fd, &chunk, min(chunk.count, left))
            if count <= 0 { return }
            left -= count
        }
    }
}

/// Issue 20: what the daemon says while the root is frozen reaches a person without the root's disk:
/// its rendered view in `<state-dir>/status` (read with a shell's builtins), and its critical
/// transitions on the console, written without ever waiting.
@Suite("the root frozen: the daemon's view and the console")
struct FrozenRootTests {
    @Test("<state-dir>/status is what status prints, kept current through a root stall; the stall and its end reach the console; a full console loses lines, counted, and never stops the loop")
    func viewAndConsole() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6b\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nStallThreshold=1\n")
        let kernelLog = tree.directory + "/kmsg"
        try writeFile(kernelLog, "")
        let console = try ConsolePipe(in: tree.directory)
        let stateDirectory = tree.directory + "/state"
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: kernelLog,
                                         stateDirectory: stateDirectory, arguments: ["--console", console.path])
        let viewPath = stateDirectory + "/" + StatusReport.daemonViewFileName
        func view() -> [String] { ChildProcess.contents(viewPath).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        func stallSeconds(_ lines: [String]) -> Int? {
            lines.first { $0.hasPrefix("CRITICAL sda: I/O stalled ") }.flatMap { Int($0.split(separator: " ")[4]) }
        }
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }

        // The body of the view is the text `status` prints for the same tree, state and configuration.
        var cliText = ""
        try daemon.wait(for: "the view to equal status's text") {
            let result = try runIscsiRootd(["status", "--color", "never", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                            "--state-dir", stateDirectory, "--config", configPath])
            cliText = result.standardOutput
            return view().dropFirst().joined(separator: "\n") == cliText
        }
        #expect(cliText.hasPrefix("OK: root on iSCSI"), "\(cliText)")
        let header = try #require(view().first)
        #expect(header.hasPrefix("iscsi-rootd's own view at ") && header.contains("(pid \(daemon.process.pid); "), "\(header)")

        // A root stall: the view says CRITICAL with the stall and its age, rewritten as the age grows.
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        let stalled = try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda", "ROOT": "1"])
        var first = 0
        try daemon.wait(for: "the view to show the stall") {
            let lines = view()
            first = stallSeconds(lines) ?? -1
            return lines.dropFirst().first?.hasPrefix("CRITICAL: root on iSCSI") == true && first >= 1
        }
        try daemon.wait(for: "the stall's age to grow in the view", within: .seconds(5)) { (stallSeconds(view()) ?? 0) > first }
        #expect(view().contains { $0.hasPrefix("daemon says: ") && $0.contains("stalled") }, "\(view())")

        // The console has the entry as it was journaled, with its time and level.
        try daemon.wait(for: "the stall on the console") { console.lines.contains { $0.hasSuffix(" WARNING: \(stalled.message)") } }
        let stallLine = try #require(console.lines.first { $0.hasSuffix(stalled.message) })
        #expect(stallLine.hasPrefix("iscsi-rootd: 20"), "\(stallLine)")

        try tree.setStat(disk: "sda", [52, 0, 2120, 95, 7, 0, 56, 12, 0, 33, 107, 0, 0, 0, 0, 0, 0])
        let cleared = try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sda"])
        try daemon.wait(for: "the end of the stall on the console") { console.lines.contains { $0.hasSuffix(" NOTICE: \(cleared.message)") } }
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)
        // Only what MessageKind.console names: not the tuning, recovery_tmo or start entries before.
        let expected = daemon.entries.filter { entry in
            MessageKind.allCases.first { $0.id == entry.fields["MESSAGE_ID"] }.map { kind in
                HealthEvent(kind, entry.message, fields: entry.fields["ROOT"] == "1" ? [.root: "1"] : [:],
                            at: Moment(monotonic: .zero, wallMicroseconds: 0)).goesToConsole
            } ?? false
        }
        #expect(console.lines.count == expected.count, "console: \(console.lines), entries: \(expected.map(\.message))")
        #expect(!daemon.entries(.diskTuned).isEmpty && !daemon.entries(.recoveryTimeoutSet).isEmpty)

        // A console that cannot keep up: the next stall's line is lost, the loop goes on (the view
        // shows the stall), and the line after says so.
        let filled = console.fill()
        #expect(filled > 0)
        try tree.setInflight(disk: "sda", reads: 0, writes: 3)
        try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda"], number: 2)
        try daemon.wait(for: "the view to show the second stall while the console is full") { (stallSeconds(view()) ?? 0) >= 1 }
        console.drain(filled)
        try tree.setStat(disk: "sda", [53, 0, 2128, 96, 8, 0, 64, 13, 0, 34, 109, 0, 0, 0, 0, 0, 0])
        let clearedAgain = try daemon.waitForEntry(.ioStallCleared, ["DEVICE": "sda"], number: 2)
        try daemon.wait(for: "the lost line counted") { console.lines.contains { $0.hasSuffix(clearedAgain.message) } }
        let lines = console.lines
        let index = try #require(lines.lastIndex { $0.hasSuffix(clearedAgain.message) })
        #expect(index > 0 && lines[index - 1] == "iscsi-rootd: 1 console line lost (the console was busy)", "\(lines)")
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)

        // Stopped: the last view says so.
        #expect(daemon.stop() == 0)
        #expect(view().contains { $0.hasPrefix("daemon: NOT RUNNING") }, "\(view())")
    }

    @Test("--console: auto is /dev/console only when the log goes to the journal; none; a path")
    func consoleOption() throws {
        func console(_ arguments: [String]) throws -> String? {
            guard case .run(let options, _) = try DaemonCommandLine.parse(arguments) else { return "not run" }
            return options.console
        }
        #expect(try console(["--log", "journal"]) == "/dev/console")
        #expect(try console(["--log", "stderr"]) == nil)
        #expect(try console(["--log", "journal", "--console", "none"]) == nil)
        #expect(try console(["--log", "stderr", "--console", "/dev/ttyS1"]) == "/dev/ttyS1")
    }
}
