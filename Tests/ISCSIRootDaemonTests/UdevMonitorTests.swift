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

/// Stops `monitor` after `seconds` unless the test finished first, so a missing event fails the
/// test instead of hanging it.
private func stopping(_ monitor: UdevMonitor, after seconds: Int) -> Task<Void, Never> {
    Task {
        try? await Task.sleep(for: .seconds(seconds))
        monitor.stop()
    }
}

@Suite("UdevMonitor and UdevEnumeration")
struct UdevMonitorTests {
    @Test("a kernel monitor filtered on net delivers the add of a new veth link",
          .enabled(if: VethPair.canCreate, "this sandbox does not allow creating veth links"))
    func deliversAddEvent() async throws {
        let monitor = try UdevMonitor(source: .kernel, matches: [DeviceMatch(subsystem: "net")])
        let watchdog = stopping(monitor, after: 20)
        let link = VethPair(tag: "a")
        #expect(link.add())
        defer { link.remove() }

        var added: Uevent?
        for await event in monitor.events {
            if case .uevent(let uevent) = event, uevent.sysname == link.name, uevent.action == .add {
                added = uevent
                break
            }
        }
        watchdog.cancel()
        monitor.stop()

        let uevent = try #require(added, "no add event for \(link.name) within 20 s")
        #expect(uevent.subsystem == "net")
        #expect(uevent.devpath == "/devices/virtual/net/\(link.name)")
        #expect(uevent.seqnum > 0)
        // The filter keeps other subsystems out, and DEVNAME is not a net device property.
        #expect(uevent.properties["DEVNAME"] == nil)
    }

    @Test("a consumer that falls behind the buffer limit gets an overflow marker",
          .enabled(if: VethPair.canCreate, "this sandbox does not allow creating veth links"))
    func overflowMarker() async throws {
        let monitor = try UdevMonitor(
            source: .kernel, matches: [DeviceMatch(subsystem: "net")], bufferedEventLimit: 1)
        let watchdog = stopping(monitor, after: 20)
        // Both adds are queued before anyone reads: the second finds the buffer full.
        let link = VethPair(tag: "o")
        #expect(link.add())
        link.remove()

        var sawOverflow = false
        for await event in monitor.events where event == .overflow {
            sawOverflow = true
            break
        }
        watchdog.cancel()
        monitor.stop()
        #expect(sawOverflow)
    }

    @Test("stop() finishes the stream, and a second stop() is harmless")
    func stopFinishesStream() async throws {
        let monitor = try UdevMonitor(source: .kernel, matches: [.scsiDevice, .disk])
        monitor.stop()
        var count = 0
        for await _ in monitor.events { count += 1 }
        #expect(count == 0)
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
