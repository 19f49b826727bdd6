import CUdev
import Glibc
import ISCSIRootCore
import SystemPackage

/// Coldplug: the devices that exist now, listed by libudev from the real /sys.
public enum UdevEnumeration {
    /// The devpaths (relative to /sys, with a leading slash, like `Uevent.devpath`) of the devices
    /// in `match`'s subsystem whose `DEVTYPE` is `match.devtype`, sorted. The libudev handles live
    /// and die within this call, on the calling thread.
    public static func devpaths(matching match: DeviceMatch = .scsiDevice) throws(UdevEnumerationError) -> [String] {
        guard let udev = udev_new() else { throw .create(Errno(rawValue: errno)) }
        defer { udev_unref(udev) }
        guard let enumerate = udev_enumerate_new(udev) else { throw .create(Errno(rawValue: errno)) }
        defer { udev_enumerate_unref(enumerate) }

        var status = udev_enumerate_add_match_subsystem(enumerate, match.subsystem)
        if status >= 0, let devtype = match.devtype {
            status = udev_enumerate_add_match_property(enumerate, "DEVTYPE", devtype)
        }
        if status < 0 { throw .filter(match, Errno(rawValue: -status)) }
        status = udev_enumerate_scan_devices(enumerate)
        if status < 0 { throw .scan(match, Errno(rawValue: -status)) }

        var devpaths: [String] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let name = udev_list_entry_get_name(current) {
                devpaths.append(devpath(fromSyspath: String(cString: name)))
            }
            entry = udev_list_entry_get_next(current)
        }
        return devpaths.sorted()
    }

    /// libudev lists syspaths (`/sys/devices/…`); the daemon works with devpaths (`/devices/…`).
    static func devpath(fromSyspath syspath: String) -> String {
        syspath.hasPrefix("/sys/") ? String(syspath.dropFirst(4)) : syspath
    }
}

/// Why the coldplug enumeration failed.
public enum UdevEnumerationError: Error, Sendable, Hashable, CustomStringConvertible {
    case create(Errno)
    case filter(DeviceMatch, Errno)
    case scan(DeviceMatch, Errno)

    public var description: String {
        switch self {
        case .create(let errno):
            "cannot create a libudev enumeration: \(errno.symbolicName) (\(errno))"
        case .filter(let match, let errno):
            "cannot filter the libudev enumeration on \(match): \(errno.symbolicName) (\(errno))"
        case .scan(let match, let errno):
            "cannot enumerate \(match) devices in /sys: \(errno.symbolicName) (\(errno))"
        }
    }
}
