import Glibc
import ISCSIRootCore
@testable import ISCSIRootDaemon
import SysfsFixtures
import Testing

/// Suites that read or set the process environment (NOTIFY_SOCKET) run one after the other.
@Suite(.serialized) struct ProcessEnvironmentTests {}

extension ProcessEnvironmentTests {
    /// 10 000 udev, NETLINK_ISCSI and kmsg events in a burst, fed to the daemon's engine the way
    /// its loop does, while disks come, go and drift and a session fails and recovers: afterwards
    /// the daemon's view equals a fresh scan, every disk is tuned, and what it keeps is bounded.
    @Suite("Event storm")
    struct StormTests {
        @Test("10 000 udev, NETLINK_ISCSI and kmsg events: the view equals a fresh scan, memory bounded")
        func storm() throws {
            var random = SeededGenerator(seed: 12)
            let tree = try FixtureTree.healthyDisklessClient()
            try tree.addISCSISession(number: 2, host: 3, luns: Array(0..<8))
            let kmsg = try ConsoleRecords.kernelMessages()
            let options = DaemonOptions(sysfs: tree.sysfs, system: tree.system, configFile: nil,
                                        stateDirectory: tree.directory + "/state", udev: .on, pollInterval: .seconds(5),
                                        kernelLog: nil)
            let logger = Logger.discarding
            var clock = Moment(monotonic: .seconds(100), wallMicroseconds: 1_764_000_000_000_000)
            func advance(_ milliseconds: Int64) {
                clock = Moment(monotonic: clock.monotonic + .milliseconds(milliseconds),
                               wallMicroseconds: clock.wallMicroseconds + milliseconds * 1000)
            }
            var engine = DaemonEngine(options: options, configuration: Configuration(), configurationFiles: [],
                                      logger: logger, notifier: Notifier(), deviceEvents: "udev", sessionEvents: "netlink",
                                      discoversByPolling: false, pid: 1, bootID: "storm", at: clock)
            engine.start(coldplug: nil, kernelBacklog: [], at: clock)
            var nextLUN: UInt64 = 8
            var counts = (udev: 0, iscsi: 0, kmsg: 0)
            var sequence: UInt64 = 10_000
            var lastTick = clock
            var devices = tree.scanner.scan().devices.filter { $0.sessionNumber == 2 }
            for _ in 0..<10_000 {
                advance(1)
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    counts.udev += 1
                    var action = Uevent.Action.change
                    var device = devices.randomElement(using: &random)
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0:  // a new LUN
                        let added = try tree.addISCSILUN(session: 2, lun: nextLUN)
                        nextLUN += 1
                        action = .add
                        device = tree.scanner.readDevice(hctl: try #require(HCTL(added.hctl)), iscsiSessions: [1, 2])
                        devices.append(device!)
                    case 1 where devices.count > 2:  // one goes away
                        try tree.removeDevice(device!.hctl.description)
                        devices.removeAll { $0.hctl == device!.hctl }
                        action = .remove
                    case 2, 3:  // someone else changes a setting
                        try tree.setAttribute("\(device!.devpath.dropFirst())/timeout", "30")
                    default:
                        action = random.pick([.change, .add, .bind])
                    }
                    if let device {
                        engine.handle(Uevent(action: action, subsystem: "scsi", devtype: "scsi_device", devpath: device.devpath,
                                             sysname: device.hctl.description, seqnum: UInt64(counts.udev), properties: [:]),
                                      at: clock)
                    }
                case 4..<7:
                    counts.iscsi += 1
                    if random.chance(0.05) { try tree.setPhase(random.pick([.failed, .loggedIn]), session: 2) }
                    // As the loop does: at once, or once a tick during a burst.
                    if clock.since(engine.lastPoll) >= .milliseconds(100) { engine.poll(at: clock) } else { engine.pollDue = true }
                default:
                    counts.kmsg += 1
                    sequence += 1
                    let message = random.pick(kmsg)
                    engine.handle(KernelRecord(level: 3, sequence: sequence, timestampMicroseconds: 100_000_000,
                                               message: message), at: clock)
                }
                if clock.since(lastTick) >= .milliseconds(250) {
                    lastTick = clock
                    if engine.pollDue { engine.poll(at: clock) }
                    engine.sampleIO(at: clock)
                }
            }
            try tree.setPhase(.loggedIn, session: 2)
            advance(250)
            engine.poll(at: clock)

            let fresh = tree.scanner.scan()
            #expect(engine.topology == fresh)
            #expect(engine.knownDevices == DaemonEngine.disksByDevice(fresh.devices))
            let policy = Configuration().disk
            for device in fresh.devices where policy.applies(to: device) {
                #expect(policy.isTuned(device), "\(device.displayName) not tuned after the storm")
            }
            #expect(engine.snapshot.recentEvents.count <= 30)
            #expect(engine.snapshot.episodes.filter { $0.endedMicroseconds != nil }.count <= 20)
            let stateText = try FileTree.absolute.read(tree.directory + "/state/state.json").get()
            #expect(stateText.utf8.count < 64 * 1024, "state file \(stateText.utf8.count) bytes")
            print("storm: \(counts.udev) udev, \(counts.iscsi) NETLINK_ISCSI, \(counts.kmsg) kmsg events; "
                  + "\(fresh.devices.count) devices after; view equals a fresh scan; state file \(stateText.utf8.count) bytes")
        }
    }
}

/// The kernel's messages of the captured outage (device names as on the fixture client).
enum ConsoleRecords {
    static func kernelMessages() throws -> [String] {
        [" connection2:0: detected conn error (1020)", " session2: session recovery timed out after 120 secs",
         "sd 3:0:0:1: rejecting I/O to offline device", "I/O error, dev sdc, sector 2048 op 0x1:(WRITE) flags 0x800",
         "EXT4-fs error (device sdq): forged-looking but from the kernel", "systemd[1]: unrelated",
         "Buffer I/O error on dev sdd, logical block 0, lost async page write"]
    }
}
