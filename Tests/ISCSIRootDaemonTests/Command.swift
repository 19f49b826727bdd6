import Glibc

/// Runs a program (looked up in PATH) with its output discarded and returns its exit status,
/// or -1 when it could not be started.
@discardableResult
func runCommand(_ arguments: [String]) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid = pid_t()
    guard posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS, which Swift does not import.
    return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
}

/// The `iscsi-rootd` executable `swift build` put next to this test bundle (override with
/// `ISCSI_ROOTD_BINARY`); nil when there is none.
let iscsiRootdBinary: String? = {
    if let override = getenv("ISCSI_ROOTD_BINARY").map({ String(cString: $0) }), !override.isEmpty {
        return access(override, X_OK) == 0 ? override : nil
    }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return nil }
    var directory = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // …/debug/iscsi-rootdPackageTests.xctest, or …/Contents/MacOS/… inside a bundle: look up to 4 levels up.
    for _ in 0..<4 {
        guard let slash = directory.lastIndex(of: "/"), slash != directory.startIndex else { break }
        directory = String(directory[..<slash])
        let candidate = directory + "/iscsi-rootd"
        var info = stat()
        if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
            return candidate
        }
    }
    return nil
}()

/// What a finished command printed and how it ended.
struct CommandResult: Sendable {
    /// The exit status; 128 + the signal number when a signal ended it.
    let status: Int32
    let standardOutput: String
    let standardError: String
}

/// A child process with its stdout and stderr in files (never a pipe that could fill up and
/// block it), an explicit environment, and bounded waits.
final class ChildProcess {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    private let directory: String
    private(set) var exitStatus: Int32?

    /// Whether stderr goes to a path the caller gave (a FIFO, …), which `standardError` does not read.
    private let errorPathGiven: Bool

    /// Starts `arguments[0]` (a path) with PATH, LANG and `environment` as its environment; its
    /// stderr goes to `standardErrorPath` when given (the caller reads it), else to a file here.
    init(_ arguments: [String], environment: [String: String] = [:], standardErrorPath: String? = nil) throws {
        var template = Array("/tmp/iscsi-rootd-child-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildProcessError(message: "mkdtemp failed") }
        directory = String(cString: made)
        outputPath = directory + "/stdout"
        errorPath = standardErrorPath ?? directory + "/stderr"
        errorPathGiven = standardErrorPath != nil

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, errorPathGiven ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // A fixed environment, not this process's: hermetic, and no read of `environ` while
        // another test's setenv (NotifierTests) may be changing it.
        var merged = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]
        merged.merge(environment) { $1 }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child = pid_t()
        let result = posix_spawn(&child, arguments[0], &actions, nil, &argv, &envp)
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(within: .seconds(5))
        }
        unlink(outputPath)
        if !errorPathGiven { unlink(errorPath) }
        rmdir(directory)
    }

    var standardOutput: String { Self.contents(outputPath) }
    var standardError: String { errorPathGiven ? "" : Self.contents(errorPath) }

    func signal(_ number: Int32) {
        if exitStatus == nil { kill(pid, number) }
    }

    /// Whether it still runs (not reaped).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { exitStatus = Self.decode(status) }
        return exitStatus == nil
    }

    /// The exit status, or nil when it did not end within `limit`.
    func waitForExit(within limit: Duration) -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while isRunning {
            if clock.now >= deadline { return nil }
            usleep(10_000)
        }
        return exitStatus
    }

    /// Runs `body` while the process is stopped (SIGSTOP, confirmed by waitpid), then continues
    /// it: several tree edits then look like one change to it.
    func whileStopped<T>(_ body: () throws -> T) rethrows -> T {
        kill(pid, SIGSTOP)
        var status: Int32 = 0
        while waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR {}
        defer { kill(pid, SIGCONT) }
        return try body()
    }

    static func decode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS and WTERMSIG, which Swift does not import.
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    static func contents(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs the `iscsi-rootd` binary with `arguments` to its end (killed after 30 s: a hang is a failure).
func runIscsiRootd(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    guard let binary = iscsiRootdBinary else {
        throw ChildProcessError(message: "no iscsi-rootd binary next to the test bundle; run swift build first")
    }
    let child = try ChildProcess([binary] + arguments, environment: environment)
    guard let status = child.waitForExit(within: .seconds(30)) else {
        child.signal(SIGKILL)
        throw ChildProcessError(message: "iscsi-rootd \(arguments.joined(separator: " ")) did not end within 30 s")
    }
    return CommandResult(status: status, standardOutput: child.standardOutput, standardError: child.standardError)
}
