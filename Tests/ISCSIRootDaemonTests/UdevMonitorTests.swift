import Glibc
import ISCSIRootCore
import Testing
@testable import ISCSIRootDaemon

/// A veth pair in this network namespace, named after the test process so parallel runs do not
/// collide; removed on `remove()`.
private struct VethPair {
    let name: String

    init(tag: String) {
        name = "ird\(tag)\(getpid() % 100_000)"
    }

    func add() -> Bool {
        runCommand(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"]) == 0
    }

    func remove() {
        runCommand(["ip", "link", "del", name])
    }

    /// Whether this sandbox lets the test create network links at all.
    static let canCreate: Bool = {
        let probe = VethPair(tag: "p")
        defer { probe.remove() }
        return probe.add()
    }()
}

extension Inbox {
    /// The inputs that arrive until `found` returns true for one of them or `seconds` pass (a
    /// missing input fails the test instead of hanging it).
    func takeUntil(seconds: Int, _ found: (Element) -> Bool) -> [Element] {
        var taken: [Element] = []
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += seconds
        while true {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = Int32((deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1_000_000)
            if left <= 0 { return taken }
            var waiting = pollfd(fd: event.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&waiting, 1, left)
            for element in takeAll() {
                taken.append(element)
                if found(element) { return taken }
            }
        }
    }
}

@Suite("UdevMonitor and UdevEnumeration")
struct UdevMonitorTests {
    @Test("a kernel monitor filtered on net delivers the add of a new veth link",
          .enabled(if: VethPair.canCreate, "this sandbox does not allow creating veth links"))
    func deliversAddEvent() throws {
        let inbox = try Inbox<DeviceEvent>(capacity: 4096)
        let monitor = try UdevMonitor(source: .kernel, matches: [DeviceMatch(subsystem: "net")]) { inbox.put($0) }
        let link = VethPair(tag: "a")
        #expect(link.add())
        defer { link.remove() }

        func isAdd(_ event: DeviceEvent) -> Bool {
            if case .uevent(let uevent) = event, uevent.sysname == link.name, uevent.action == .add { return true }
            return false
        }
        let added: Uevent? = switch inbox.takeUntil(seconds: 20, isAdd).last {
        case .uevent(let uevent) where uevent.sysname == link.name && uevent.action == .add: uevent
        default: nil
        }
        monitor.stop()

        let uevent = try #require(added, "no add event for \(link.name) within 20 s")
        #expect(uevent.subsystem == "net")
        #expect(uevent.devpath == "/devices/virtual/net/\(link.name)")
        #expect(uevent.seqnum > 0)
        // The filter keeps other subsystems out, and DEVNAME is not a net device property.
        #expect(uevent.properties["DEVNAME"] == nil)
    }

    @Test("a consumer that falls behind its inbox's capacity gets an overflow marker",
          .enabled(if: VethPair.canCreate, "this sandbox does not allow creating veth links"))
    func overflowMarker() throws {
        let inbox = try Inbox<DeviceEvent>(capacity: 1)
        let monitor = try UdevMonitor(source: .kernel, matches: [DeviceMatch(subsystem: "net")]) { inbox.put($0) }
        // Add and remove arrive before anyone reads: the second finds the inbox full, and the
        // marker follows as soon as there is room.
        let link = VethPair(tag: "o")
        #expect(link.add())
        link.remove()

        let taken = inbox.takeUntil(seconds: 20) { $0 == .overflow }
        monitor.stop()
        #expect(taken.last == .overflow)
    }

    @Test("stop() ends the thread, and a second stop() is harmless")
    func stopEndsThread() throws {
        // The thread holds its consumer until its loop returns: once stop() has joined it, nothing does.
        final class Consumer: Sendable {}
        weak var consumer: Consumer?
        let monitor = try {
            let held = Consumer()
            consumer = held
            return try UdevMonitor(source: .kernel, matches: [.scsiDevice, .disk]) { _ in withExtendedLifetime(held) { true } }
        }()
        #expect(consumer != nil, "the running thread holds its consumer")
        monitor.stop()
        #expect(consumer == nil, "stop() returned while the thread still held its consumer")
        monitor.stop()
    }

    @Test("udevd counts as running only when its control socket exists")
    func udevdRunning() throws {
        var template = Array("/tmp/iscsi-rootd-udev-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { rmdir(directory) }
        #expect(!UdevMonitor.isUdevdRunning(runDirectory: directory))
        let control = directory + "/control"
        close(creat(control, 0o600))
        defer { unlink(control) }
        #expect(UdevMonitor.isUdevdRunning(runDirectory: directory))
    }

    @Test("coldplug lists whole disks (no partitions) as devpaths, like sysfs")
    func enumeratesDisks() throws {
        let sys = FileTree(root: "/sys")
        let expected = sys.list("class/block").filter { name in
            (try? sys.read("class/block/\(name)/uevent").get())?.contains("DEVTYPE=disk") ?? false
        }.compactMap { sys.resolve("class/block/\($0)") }.sorted()
        #expect(try UdevEnumeration.devpaths(matching: .disk) == expected)
    }

    @Test("coldplug without a devtype lists the whole subsystem")
    func enumeratesNet() throws {
        #expect(try UdevEnumeration.devpaths(matching: DeviceMatch(subsystem: "net"))
            .contains("/devices/virtual/net/lo"))
    }
}
