import Foundation
import ISCSIRootCore
import SysfsFixtures
import Testing

/// mkinitcpio's iscsi hook derives a client's own initiator name at boot (iscsi_initiator=derive:…)
/// and records it where `check` reads it (issue 22). The hook's function runs in sh against a
/// scratch /sys, /etc and /run.
@Suite("iscsi hook: a client's own initiator name, derived at boot")
struct InitiatorDerivationTests {
    static let hook = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("packaging/arch/initcpio/hooks/iscsi").path

    /// Runs `iscsi_derive_initiator HOW` with the scratch roots; returns stdout, stderr, the status.
    static func derive(_ how: String, in directory: String, cmdline: String = "root=/dev/sda\n") throws -> (String, String, Int32) {
        try cmdline.write(toFile: directory + "/cmdline", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "err() { echo \"$*\" >&2; }; . \"$0\"; iscsi_derive_initiator \"$1\"", hook, how]
        process.environment = ["PATH": "/usr/bin:/bin", "iscsi_sys": directory + "/sys", "iscsi_etc": directory + "/etc",
                               "iscsi_run": directory + "/run", "iscsi_netdev": "eth0", "iscsi_cmdline": directory + "/cmdline"]
        let out = Pipe(), errors = Pipe()
        process.standardOutput = out
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        return (String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), process.terminationStatus)
    }

    static func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func macAndMachineIDGiveTheImagesPrefixAndTheClientsID() throws {
        try TemporaryDirectory.with("derive") { directory in
            try Self.write("## DO NOT EDIT OR REMOVE THIS FILE!\nInitiatorName=iqn.1993-08.org.debian:01:23e54346c1cd\n",
                           directory + "/etc/iscsi/initiatorname.iscsi")
            try Self.write("52:54:00:12:34:56\n", directory + "/sys/class/net/eth0/address")
            try Self.write("4C4C4544-0042-3510-8051-B4C04F4E4432\n", directory + "/sys/class/dmi/id/product_uuid")

            let mac = try Self.derive("mac", in: directory)
            #expect(mac.0 == "iqn.1993-08.org.debian:525400123456\n" && mac.2 == 0, "\(mac)")
            let record = try String(contentsOfFile: directory + "/run/iscsi-rootd/initiatorname", encoding: .utf8)
            #expect(record == "InitiatorName=iqn.1993-08.org.debian:525400123456\nDerivedFrom=mac eth0 52:54:00:12:34:56\n")

            let dmi = try Self.derive("machine-id", in: directory)
            #expect(dmi.0 == "iqn.1993-08.org.debian:4c4c4544004235108051b4c04f4e4432\n", "\(dmi)")
            let given = try Self.derive("machine-id", in: directory, cmdline: "quiet systemd.machine_id=0123456789abcdef0123456789abcdef\n")
            #expect(given.0 == "iqn.1993-08.org.debian:0123456789abcdef0123456789abcdef\n", "\(given)")

            // The record is what check reads: the live session's name derived at boot is the client's own.
            let derived = try String(contentsOfFile: directory + "/run/iscsi-rootd/initiatorname", encoding: .utf8)
            #expect(derived.contains("DerivedFrom=machine-id systemd.machine_id= 0123456789abcdef0123456789abcdef"))
        }
    }

    @Test func nothingToDeriveFromFailsTheLoginAttemptWithTheReason() throws {
        try TemporaryDirectory.with("derive") { directory in
            let missing = try Self.derive("mac", in: directory)
            #expect(missing.2 != 0 && missing.0.isEmpty && missing.1.contains("nothing to derive a name from"), "\(missing)")
            let unknown = try Self.derive("hostname", in: directory)
            #expect(unknown.2 != 0 && unknown.1.contains("derive:mac or derive:machine-id"), "\(unknown)")
        }
    }
}
