import ISCSIRootDaemon
import Testing

@Suite("iscsi-rootd-daemon's command line")
struct DaemonCommandLineTests {
    @Test("an argument that is not UTF-8 is a usage error, not a path with U+FFFD in it")
    func nonUTF8ArgumentIsRejected() throws {
        let raw: [[UInt8]] = [Array("--sysfs".utf8), Array("/tmp/".utf8) + [0xFF, 0x1B]]
        #expect(throws: DaemonCommandLine.UsageError.self) { try DaemonCommandLine.arguments(raw) }
        let good: [[UInt8]] = [Array("--sysfs".utf8), Array("/tmp/é".utf8)]
        #expect(try DaemonCommandLine.arguments(good) == ["--sysfs", "/tmp/é"])
    }
}
