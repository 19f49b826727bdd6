import Glibc
import ISCSIRootCore
@testable import ISCSIRootDaemon
import SysfsFixtures
import Testing

@Suite("The state file writer: no link followed, the directory's owner and mode checked")
final class StateFileTests {
    /// The directories this test made, removed with the suite instance (one per test).
    private var made: [TemporaryDirectory] = []

    func temporaryDirectory() throws -> String {
        made.append(try TemporaryDirectory("state"))
        return made[made.count - 1].path
    }

    @Test func theTestsDirectoriesAreRemovedWithTheSuite() throws {
        var suite: StateFileTests? = StateFileTests()
        let base = try #require(suite).temporaryDirectory()
        try "x\n".write(toFile: base + "/file")
        suite = nil
        #expect(access(base, F_OK) != 0, "\(base) was left behind")
    }

    func sample() -> DaemonSnapshot {
        var snapshot = DaemonSnapshot(pid: 42, bootID: "boot", startedMicroseconds: 1, updatedMicroseconds: 2,
                                      deviceEvents: "udev", sessionEvents: "netlink")
        snapshot.note(Configuration(), files: [])
        return snapshot
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    @Test func aLinkPlantedAtTheTemporaryFileIsRemovedNotFollowed() throws {
        let base = try temporaryDirectory()
        let victim = base + "/victim"
        try "secret\n".write(toFile: victim)
        chmod(victim, 0o600)
        let directory = base + "/state"
        mkdir(directory, 0o755)
        #expect(symlink(victim, directory + "/state.json.tmp") == 0)
        #expect(StateFile(directory: directory).write(sample()) == nil)
        #expect(ChildProcess.contents(victim) == "secret\n")
        #expect(mode(victim) == 0o600)
        #expect(access(directory + "/state.json.tmp", F_OK) != 0)
        #expect(mode(directory + "/state.json") == 0o644)
        #expect(try StateFile(directory: directory).read()?.get().snapshot == sample())
    }

    @Test func aLinkInPlaceOfTheStateFileIsReplacedNotWrittenThrough() throws {
        let base = try temporaryDirectory()
        let victim = base + "/victim"
        try "secret\n".write(toFile: victim)
        let directory = base + "/state"
        mkdir(directory, 0o755)
        #expect(symlink(victim, directory + "/state.json") == 0)
        #expect(StateFile(directory: directory).write(sample()) == nil)
        #expect(ChildProcess.contents(victim) == "secret\n")
        #expect(try StateFile(directory: directory).read()?.get().snapshot == sample())
    }

    /// Only root can give a directory to another user: a skip shows as a skip, never as a pass.
    @Test(.enabled(if: geteuid() == 0, "chown to another user needs root"))
    func aDirectoryOwnedByAnotherUserIsRefused() throws {
        let base = try temporaryDirectory()
        let foreign = base + "/foreign"
        mkdir(foreign, 0o755)
        #expect(chown(foreign, 65534, 65534) == 0)
        #expect(StateFile(directory: foreign).write(sample())?.contains("owned by uid 65534") == true)
        #expect(access(foreign + "/state.json", F_OK) != 0)
    }

    @Test func anUnsafeDirectoryIsRefusedAndNothingIsWritten() throws {
        let base = try temporaryDirectory()
        let open = base + "/open"
        mkdir(open, 0o755)
        chmod(open, 0o777)
        #expect(StateFile(directory: open).write(sample())?.contains("writable by group or others (mode 777)") == true)
        #expect(access(open + "/state.json", F_OK) != 0)

        #expect(symlink(base + "/elsewhere", base + "/link") == 0)
        mkdir(base + "/elsewhere", 0o755)
        #expect(StateFile(directory: base + "/link").write(sample())?.contains("not a directory") == true)
        #expect(access(base + "/elsewhere/state.json", F_OK) != 0)
    }

    @Test func aMissingDirectoryIsCreated0755() throws {
        let directory = try temporaryDirectory() + "/new"
        #expect(StateFile(directory: directory).write(sample()) == nil)
        #expect(mode(directory) == 0o755)
        #expect(mode(directory + "/state.json") == 0o644)
    }
    /// The state file is written with every poll: a directory it cannot be written to (here refused,
    /// as a full /run would fail it) is said once, not at every poll, and its recovery once.
    @Test func aStateFileThatCannotBeWrittenIsSaidOnceAndItsRecoveryOnce() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        let configPath = tree.directory + "/iscsi-rootd-test.conf"
        try writeFile(configPath, "[Disk]\nVerifyInterval=600\n")
        let stateDirectory = tree.directory + "/state"
        mkdir(stateDirectory, 0o755)
        chmod(stateDirectory, 0o777)
        let daemon = try DaemonUnderTest(tree: tree, configPath: configPath, kernelLog: "none", stateDirectory: stateDirectory)
        let warning = "cannot write the state file"
        try daemon.wait(for: "the warning") { daemon.entries.contains { $0.message.contains(warning) } }
        usleep(1_000_000)  // five polls at --poll-interval 0.2
        daemon.refresh()
        #expect(daemon.entries.filter { $0.message.contains(warning) }.count == 1, "\(daemon.entries.map(\.formatted))")
        chmod(stateDirectory, 0o755)
        try daemon.wait(for: "the recovery") { daemon.entries.contains { $0.message.contains("state file \(stateDirectory)/state.json written again") } }
        #expect(try daemon.state()["pid"]?.intValue == Int(daemon.process.pid))
        #expect(daemon.stop() == 0)
    }
}
