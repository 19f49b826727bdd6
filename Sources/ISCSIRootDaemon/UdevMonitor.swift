import CUdev
import Glibc
import ISCSIRootCore
import SystemPackage

/// A libudev monitor on its own thread, delivering `DeviceEvent`s to a consumer's inbox.
///
/// The thread polls the monitor socket and a wake `eventfd`; the libudev handles are created,
/// used and freed on that thread only. When the inbox has no room, and whenever the kernel
/// reports `ENOBUFS`, the consumer gets `.overflow` so the daemon rescans sysfs.
public final class UdevMonitor: Sendable {
    /// Which netlink group to listen to.
    public enum Source: String, Sendable {
        /// Events after udevd processed them (with properties like `ID_PATH`). libudev disables
        /// such a monitor silently when udevd is not running: check `isUdevdRunning` first.
        case udev
        /// Raw kernel uevents, before udevd: for tests and diagnostics.
        case kernel
    }

    /// The properties kept by default in `Uevent.properties`.
    public static let defaultProperties = ["DEVNAME", "ID_PATH", "ID_SERIAL", "ID_WWN"]

    private let thread: DedicatedThread

    /// Starts monitoring `matches` (at least one) from `source`.
    /// - Parameters:
    ///   - properties: property names copied into each `Uevent`.
    ///   - receiveBufferSize: the socket's receive buffer in bytes (`SO_RCVBUFFORCE` when allowed).
    ///   - deliver: called on the monitor's thread with each event, in the order the kernel (or
    ///     udevd) sent them; returns false when the consumer has no room (`.overflow` follows).
    public init(
        source: Source = .udev,
        matches: [DeviceMatch],
        properties: [String] = UdevMonitor.defaultProperties,
        receiveBufferSize: Int = 128 << 20,
        deliver: @escaping @Sendable (DeviceEvent) -> Bool
    ) throws(UdevMonitorError) {
        precondition(!matches.isEmpty, "a udev monitor needs at least one subsystem to match")
        let configuration = MonitorConfiguration(
            source: source, matches: matches, properties: properties, receiveBufferSize: receiveBufferSize)
        thread = try DedicatedThread.polling(
            name: "iscsi-udev", overflow: .overflow, deliver: deliver, wakeEventFailure: UdevMonitorError.wakeEvent
        ) { () throws(UdevMonitorError) -> MonitorHandle in
            try MonitorHandle(configuration)
        }
    }

    /// Stops the thread. Later calls do nothing.
    public func stop() {
        thread.stop()
    }

    /// Whether udevd is running: it creates `control` in its run directory (`/run/udev`).
    /// Without it a `.udev` monitor never receives anything; poll sysfs instead.
    public static func isUdevdRunning(runDirectory: String = "/run/udev") -> Bool {
        access(runDirectory + "/control", F_OK) == 0
    }
}

/// Why a udev monitor could not start.
public enum UdevMonitorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `udev_new` or `udev_monitor_new_from_netlink` failed.
    case create(source: String, Errno)
    /// `udev_monitor_filter_add_match_subsystem_devtype` or `udev_monitor_filter_update` failed.
    case filter(DeviceMatch, Errno)
    /// `udev_monitor_enable_receiving` (bind) failed.
    case enableReceiving(Errno)
    /// The wake `eventfd` could not be created.
    case wakeEvent(Errno)

    public var description: String {
        switch self {
        case .create(let source, let errno):
            "cannot create a libudev monitor on the \(source) netlink group: \(errno.symbolicName) (\(errno))"
        case .filter(let match, let errno):
            "cannot filter the udev monitor on \(match): \(errno.symbolicName) (\(errno))"
        case .enableReceiving(let errno):
            "cannot bind the udev monitor socket: \(errno.symbolicName) (\(errno))"
        case .wakeEvent(let errno):
            "cannot create the udev monitor's wake eventfd: \(errno.symbolicName) (\(errno))"
        }
    }
}

private struct MonitorConfiguration: Sendable {
    let source: UdevMonitor.Source
    let matches: [DeviceMatch]
    let properties: [String]
    let receiveBufferSize: Int
}

/// The libudev context and monitor, owned by the monitor thread.
private struct MonitorHandle: ~Copyable, PolledSource {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let properties: [String]

    init(_ configuration: MonitorConfiguration) throws(UdevMonitorError) {
        let source = configuration.source.rawValue
        guard let udev = udev_new() else { throw .create(source: source, Errno(rawValue: errno)) }
        guard let monitor = udev_monitor_new_from_netlink(udev, source) else {
            let error = Errno(rawValue: errno)
            udev_unref(udev)
            throw .create(source: source, error)
        }
        do {
            try Self.configure(monitor, configuration)
        } catch {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw error
        }
        self.udev = udev
        self.monitor = monitor
        self.properties = configuration.properties
    }

    private static func configure(_ monitor: OpaquePointer, _ configuration: MonitorConfiguration)
        throws(UdevMonitorError)
    {
        for match in configuration.matches {
            let status = udev_monitor_filter_add_match_subsystem_devtype(monitor, match.subsystem, match.devtype)
            if status < 0 { throw .filter(match, Errno(rawValue: -status)) }
        }
        // A failed enlargement leaves the default buffer: overflow is handled, so not fatal.
        _ = udev_monitor_set_receive_buffer_size(monitor, Int32(clamping: configuration.receiveBufferSize))
        let enabled = udev_monitor_enable_receiving(monitor)
        if enabled < 0 { throw .enableReceiving(Errno(rawValue: -enabled)) }
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// The monitor's netlink socket.
    var descriptor: Int32 { udev_monitor_get_fd(monitor) }

    /// Reads every message queued on the socket (the socket is non-blocking).
    func drain(into outlet: SourceOutlet<DeviceEvent>) {
        for _ in 0..<1024 {
            guard let device = udev_monitor_receive_device(monitor) else {
                switch errno {
                case EAGAIN, EWOULDBLOCK: return
                case ENOBUFS: outlet.send(.overflow)
                default: continue  // a malformed message, already consumed
                }
                continue
            }
            defer { udev_device_unref(device) }
            outlet.send(.uevent(uevent(from: device)))
        }
    }

    private func uevent(from device: OpaquePointer) -> Uevent {
        var kept: [String: String] = [:]
        for name in properties {
            if let value = udev_device_get_property_value(device, name) {
                kept[name] = String(cString: value)
            }
        }
        return Uevent(
            action: Uevent.Action(string(udev_device_get_action(device)) ?? "change"),
            subsystem: string(udev_device_get_subsystem(device)) ?? "",
            devtype: string(udev_device_get_devtype(device)),
            devpath: string(udev_device_get_devpath(device)) ?? "",
            sysname: string(udev_device_get_sysname(device)) ?? "",
            seqnum: UInt64(udev_device_get_seqnum(device)),
            properties: kept)
    }
}

private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}
