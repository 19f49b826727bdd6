import Glibc
@testable import ISCSIRootDaemon
import SysfsFixtures
import SystemPackage
import Testing

@Suite("FileReplacement: the one atomic replace of the state and metrics files")
final class FileReplacementTests {
    /// The directories this test made, removed with the suite instance (one per test).
    private var made: [TemporaryDirectory] = []

    private func directory() throws -> (path: String, fd: Int32) {
        made.append(try TemporaryDirectory("replace"))
        let path = made[made.count - 1].path
        return (path, open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    @Test func aPlantedLinkIsRemovedNotFollowedAndTheModeHoldsWhateverTheUmask() throws {
        let (path, fd) = try directory()
        defer { close(fd) }
        let victim = path + "/victim"
        try "secret\n".write(toFile: victim)
        #expect(symlink(victim, path + "/iscsi-rootd.prom.tmp") == 0)
        let old = umask(0o077)
        defer { umask(old) }
        #expect(FileReplacement.replace("iscsi-rootd.prom", in: fd, directory: path, with: Array("up 1\n".utf8),
                                        mode: 0o644, durable: false) == nil)
        #expect(ChildProcess.contents(victim) == "secret\n")
        #expect(ChildProcess.contents(path + "/iscsi-rootd.prom") == "up 1\n")
        #expect(mode(path + "/iscsi-rootd.prom") == 0o644)
        #expect(access(path + "/iscsi-rootd.prom.tmp", F_OK) != 0)
    }

    @Test func aFailureNamesTheActionThePathAndTheErrno() throws {
        let (path, fd) = try directory()
        defer { close(fd) }
        // A directory where the temporary file goes: it cannot be unlinked, so nothing is written.
        #expect(mkdir(path + "/state.json.tmp", 0o755) == 0)
        let failure = FileReplacement.replace("state.json", in: fd, directory: path, with: Array("{}".utf8),
                                              mode: 0o644, durable: true)
        #expect(failure?.code == .isDirectory)
        #expect(failure?.description == "cannot remove \(path)/state.json.tmp: EISDIR (Is a directory)")
        #expect(access(path + "/state.json", F_OK) != 0)
    }
}
