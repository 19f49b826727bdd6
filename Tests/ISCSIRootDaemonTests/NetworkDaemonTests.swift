import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// Two network namespaces joined by a veth pair, as in the rtnetlink capture: the client's `v0`
/// with 10.0.2.15/24, the portal side's `v1` with 10.0.2.2/24. Removed on deinit.
private final class VethNamespaces {
    let client: String
    let portal: String

    init() throws {
        client = "iscsi-rootd-test-\(getpid())"
        portal = "iscsi-rootd-test-portal-\(getpid())"
        for command in [
            ["ip", "netns", "add", client], ["ip", "netns", "add", portal],
            ["ip", "-n", client, "link", "set", "lo", "up"],
            ["ip", "-n", client, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", portal],
            ["ip", "-n", client, "addr", "add", "10.0.2.15/24", "dev", "v0"],
            ["ip", "-n", portal, "addr", "add", "10.0.2.2/24", "dev", "v1"],
            ["ip", "-n", client, "link", "set", "v0", "up"], ["ip", "-n", portal, "link", "set", "v1", "up"],
        ] {
            try #require(runCommand(command) == 0, "\(command.joined(separator: " "))")
        }
    }

    deinit {
        _ = runCommand(["ip", "netns", "del", client])
        _ = runCommand(["ip", "netns", "del", portal])
    }

    func client(_ arguments: String...) throws {
        try #require(runCommand(["ip", "-n", client] + arguments) == 0, "ip -n CLIENT \(arguments.joined(separator: " "))")
    }

    func portal(_ arguments: String...) throws {
        try #require(runCommand(["ip", "-n", portal] + arguments) == 0, "ip -n PORTAL \(arguments.joined(separator: " "))")
    }
}

@Suite("iscsi-rootd run in a network namespace of its own: the network under the root, as it changes")
struct NetworkDaemonTests {
    @Test("address removed and back, a stall it causes, a flapping link as one episode; STATUS=, status, state file",
          .enabled(if: getuid() == 0, "network namespaces need root"))
    func networkUnderTheRoot() throws {
        let namespaces = try VethNamespaces()
        let tree = try FixtureTree.healthyDisklessClient()
        try tree.setAttribute("class/iscsi_connection/connection1:0/ping_tmo", "0")
        try tree.setAttribute("class/iscsi_connection/connection1:0/recv_tmo", "0")
        try tree.setAttribute("class/iscsi_host/host2/ipaddress", "10.0.2.15")
        try tree.setAttribute("class/iscsi_connection/connection1:0/persistent_address", "10.0.2.2")
        try tree.writeSystemFile("proc/sys/kernel/random/boot_id", "5b1f0c55-3c1e-4d8e-9a4b-1d2c3e4f5a6c\n")
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nStallThreshold=1\n")
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none",
                                         stateDirectory: tree.directory + "/state",
                                         launcher: ["/usr/bin/env", "ip", "netns", "exec", namespaces.client],
                                         arguments: ["--network", "on"])
        try daemon.waitForDatagram("READY=1") { $0.hasPrefix("READY=1") }
        let path = try #require(try daemon.state()["network"]?["sessions"]?.arrayValue?.first)
        #expect(path["interface"] == .string("v0") && path["local_address"] == .string("10.0.2.15"))
        #expect(path["route"] == .string("10.0.2.2 dev v0 src 10.0.2.15 table main") && path["reachable"] == .bool(true))
        #expect(try daemon.state()["network"]?["events"] == .string("rtnetlink"))
        #expect(daemon.entries(.networkLost).isEmpty)
        let text = try runIscsiRootd(["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                      "--state-dir", daemon.stateDirectory, "--config", configPath]).standardOutput
        #expect(text.contains("\nnetwork: session1 from 10.0.2.15 on v0 to 10.0.2.2:3260: route 10.0.2.2 dev v0 src 10.0.2.15 table main\n"), "\(text)")

        // The address goes: said at once, with the interface, the address, the portal, what it carries.
        try namespaces.client("addr", "del", "10.0.2.15/24", "dev", "v0")
        let lost = try daemon.waitForEntry(.networkLost)
        #expect(lost.fields["INTERFACE"] == "v0" && lost.fields["OLD_VALUE"] == "10.0.2.15" && lost.fields["NEW_VALUE"] == "none")
        #expect(lost.fields["ISCSI_SESSION"] == "session1" && lost.fields["ISCSI_PORTAL"] == "10.0.2.2:3260")
        #expect(lost.fields["CARRIES"] == "/ [swap]" && lost.fields["ROOT"] == "1" && lost.priority == 2)
        #expect(lost.message.contains("10.0.2.15 was removed from v0"), "\(lost.message)")
        let cut = try daemon.waitForDatagram("STATUS= about the cut") { statusValue($0)?.hasPrefix("NETWORK root session1 cut off") == true }
        #expect(statusValue(cut)?.contains("10.0.2.15 was removed from v0") == true, "\(cut)")
        let status = try daemon.status()
        #expect(status.code == 2, "a root session cut off from its portal is critical")
        #expect(status.json["findings"]?.arrayValue?.first?["message"]?.stringValue?.hasPrefix("cannot reach its portal 10.0.2.2:3260") == true)

        // Root I/O stalls meanwhile: the stall names the cut as its likely cause.
        try tree.setInflight(disk: "sda", reads: 0, writes: 2)
        let stalled = try daemon.waitForEntry(.ioStalled, ["DEVICE": "sda"])
        #expect(stalled.fields["LIKELY_CAUSE"]?.hasPrefix("10.0.2.15 was removed from v0") == true, "\(stalled.fields)")
        #expect(stalled.message.contains("likely cause: 10.0.2.15 was removed from v0"))

        // Back: journaled, with how long it lasted.
        try namespaces.client("addr", "add", "10.0.2.15/24", "dev", "v0")
        let restored = try daemon.waitForEntry(.networkRestored)
        #expect(restored.fields["INTERFACE"] == "v0" && Int(restored.fields["DURATION_USEC"] ?? "") ?? 0 > 0)
        try tree.setInflight(disk: "sda", reads: 0, writes: 0)

        // The portal side's link goes down: the carrier loss is said at once (a new episode, or the
        // relapse of the last one when it comes within the 10 s flap window).
        try namespaces.portal("link", "set", "v1", "down")
        let down = try daemon.waitForEntry(.networkLost, number: 2, within: .seconds(30))
        #expect(down.message.contains("v0 is down (no carrier)"), "\(down.message)")
        try namespaces.portal("link", "set", "v1", "up")
        try daemon.wait(for: "the path reachable again") {
            try daemon.state()["network"]?["sessions"]?.arrayValue?.first?["reachable"] == .bool(true)
        }
        // Then it flaps five times: counted in the episode, not a flood (at most one more entry of each
        // kind; the kernel's linkwatch may fold changes less than a second apart).
        for _ in 0..<5 {
            try namespaces.portal("link", "set", "v1", "down")
            usleep(300_000)
            try namespaces.portal("link", "set", "v1", "up")
            usleep(300_000)
        }
        try daemon.wait(for: "the losses counted in the state file") {
            (try daemon.state()["network"]?["episodes"]?.arrayValue?.first?["losses"]?.intValue ?? 0) >= 2
        }
        usleep(500_000)
        daemon.refresh()
        #expect(daemon.entries(.networkLost).count <= 3 && daemon.entries(.networkRestored).count <= 2,
                "\(daemon.entries(.networkLost).map(\.message)) \(daemon.entries(.networkRestored).map(\.message))")
        try daemon.wait(for: "the path reachable after the flaps") {
            try daemon.state()["network"]?["sessions"]?.arrayValue?.first?["reachable"] == .bool(true)
        }
        #expect(try daemon.status().code == 0)
        let after = try runIscsiRootd(["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                       "--state-dir", daemon.stateDirectory, "--config", configPath]).standardOutput
        #expect(after.contains("\npast network outage: session1 "), "\(after)")
        #expect(daemon.stop() == 0)
        #expect(daemon.unparsable.isEmpty, "\(daemon.unparsable)")
    }
}
