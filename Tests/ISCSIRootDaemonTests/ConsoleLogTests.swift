import Foundation
@testable import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// `--console PATH` naming a regular file: O_NONBLOCK does not hold for it, so a write could wait on
/// its disk (the frozen root); nothing is written and the problem is said once.
@Suite struct ConsoleLogTypeTests {
    @Test func aRegularFileIsNoConsole() throws {
        let directory = try TemporaryDirectory("console-file")
        defer { directory.remove() }
        let path = directory.path + "/console.txt"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let console = ConsoleLog(path: path)
        let problem = console.write("iscsi-rootd: CRITICAL: / at risk")
        #expect(problem?.contains("is not a terminal, FIFO or socket") == true, "\(problem ?? "nil")")
        #expect(console.write("iscsi-rootd: second line") == nil)
        #expect(try String(contentsOfFile: path, encoding: .utf8).isEmpty)
    }
}
