import CSystemd
import Glibc
import ISCSIRootCore
import Testing
@testable import ISCSIRootDaemon

/// A temporary directory standing in for /proc, with `self/oom_score_adj` holding `value`.
private func procTree(oomScoreAdjust value: String?) throws -> FileTree {
    var template = Array("/tmp/iscsi-rootd-proc-XXXXXX".utf8CString)
    let root = String(cString: try #require(mkdtemp(&template)))
    mkdir(root + "/self", 0o755)
    let tree = FileTree(root: root)
    if let value {
        close(creat(tree.path("self/oom_score_adj"), 0o644))
        try tree.write("self/oom_score_adj", value).get()
    }
    return tree
}

private func remove(_ tree: FileTree) {
    unlink(tree.path("self/oom_score_adj"))
    rmdir(tree.path("self"))
    rmdir(tree.root)
}

@Suite("ProcessHygiene", .serialized)
struct ProcessHygieneTests {
    @Test("oom_score_adj becomes -1000 when nobody set it")
    func oomProtects() throws {
        let proc = try procTree(oomScoreAdjust: "0\n")
        defer { remove(proc) }
        #expect(ProcessHygiene.protectFromOOMKiller(proc: proc) == .applied("-1000"))
        #expect(try proc.read("self/oom_score_adj").get() == "-1000")
    }

    @Test("a value the service manager set (OOMScoreAdjust=) stays")
    func oomKeepsServiceManagerValue() throws {
        let proc = try procTree(oomScoreAdjust: "-900\n")
        defer { remove(proc) }
        #expect(ProcessHygiene.protectFromOOMKiller(proc: proc) == .skipped("already -900 (set by the service manager)"))
        #expect(try proc.read("self/oom_score_adj").get() == "-900")
    }

    @Test("a missing oom_score_adj is a failure to report, not a crash")
    func oomMissing() throws {
        let proc = try procTree(oomScoreAdjust: nil)
        defer { remove(proc) }
        #expect(ProcessHygiene.protectFromOOMKiller(proc: proc) == .failed(.noSuchFileOrDirectory))
    }

    @Test("threads created after shrinking get the small stack")
    func threadStacks() throws {
        var saved = pthread_attr_t()
        pthread_getattr_default_np(&saved)
        defer {
            pthread_setattr_default_np(&saved)
            pthread_attr_destroy(&saved)
        }
        #expect(ProcessHygiene.shrinkThreadStacks(to: 192 << 10) == .applied("192 KiB per new thread"))
        let stackSize = StackSizeProbe()
        let wake = try WakeEvent()
        let thread = DedicatedThread.start(name: "stack-probe", wake: wake) {
            (_, started: (Result<Void, Never>) -> Void) in
            stackSize.measure()
            started(.success(()))
        }
        thread.stop()
        #expect(stackSize.bytes == 192 << 10)
    }

    @Test("the steps as root here report their outcome without crashing; the locked memory shows")
    func realSteps() throws {
        // Without CAP_SYS_RESOURCE (as in some sandboxes) the kernel answers EPERM.
        let flusher = ProcessHygiene.markIOFlusher()
        #expect(flusher == .applied("set") || flusher == .failed(.notPermitted))
        #expect(ProcessHygiene.limitMallocArenas() == .applied("1 arena"))

        #expect(ProcessHygiene.lockMemory() == .applied("current and future pages"))
        let locked = try #require(ProcessHygiene.memoryUsage())
        munlockall()
        #expect(locked.lockedKiB > 0)
        #expect(locked.residentKiB > 0)
        #expect(try #require(ProcessHygiene.memoryUsage()).lockedKiB == 0)
    }

    @Test("VmLck and VmRSS are read from a status file")
    func parsesStatus() {
        let status = "Name:\tiscsid\nVmPeak:\t   14600 kB\nVmLck:\t   14228 kB\nVmRSS:\t   14236 kB\nThreads:\t1\n"
        let usage = ProcessHygiene.MemoryUsage(status: status)
        #expect(usage?.lockedKiB == 14228)
        #expect(usage?.residentKiB == 14236)
        #expect(ProcessHygiene.MemoryUsage(status: "Name:\tx\nVmRSS:\t 1 kB\n") == nil)
    }

    @Test("step results read well in a log")
    func descriptions() {
        #expect(ProcessHygiene.StepResult(step: .oomScoreAdjust, outcome: .failed(.permissionDenied)).description
            == "oom_score_adj: failed, EACCES (Permission denied)")
        #expect(ProcessHygiene.StepResult(step: .lockMemory, outcome: .applied("current and future pages")).description
            == "mlockall: current and future pages")
    }
}

/// Records the stack size of the thread that calls `measure()`.
private final class StackSizeProbe: @unchecked Sendable {
    // Written on the probe thread before it reports its start, read after `start` returned.
    private(set) var bytes = 0

    func measure() {
        var attributes = pthread_attr_t()
        pthread_getattr_np(pthread_self(), &attributes)
        pthread_attr_getstacksize(&attributes, &bytes)
        pthread_attr_destroy(&attributes)
    }
}
