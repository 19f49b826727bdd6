import CSystemd
import Glibc
import ISCSIRootCore

/// Asks the running systemd (PID 1) over sd-bus which files make up a unit, whether it is masked and
/// whether it is enabled: `LoadState`, `FragmentPath`, `DropInPaths`, `UnitFileState` and the manager's
/// `Version`. Root talks to PID 1's private socket as systemctl does (no D-Bus daemon needed); other
/// users go through the system bus. Every call waits at most `timeout`.
public enum SystemdManager {
    static let service = "org.freedesktop.systemd1"
    static let privateSocket = "unix:path=/run/systemd/private"

    /// The answers about `units`, or nil when this system was not booted with systemd or the manager
    /// does not answer (the audit then reads the unit files).
    public static func ask(about units: [String], timeout: Duration = .seconds(2)) -> SystemdAnswers? {
        guard sd_booted() > 0, let bus = connect() else { return nil }
        defer { _ = sd_bus_flush_close_unref(bus) }
        let (seconds, attoseconds) = timeout.components
        _ = sd_bus_set_method_call_timeout(bus, UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000))
        var answers: [String: ManagedUnit] = [:]
        for name in units {
            guard let unit = unit(name, on: bus) else { return nil }
            answers[name] = unit
        }
        let version = string(on: bus, path: "/org/freedesktop/systemd1", interface: "\(service).Manager", "Version")
        return SystemdAnswers(version: version.flatMap(SystemdAnswers.majorVersion), units: answers)
    }

    private static func connect() -> OpaquePointer? {
        var bus: OpaquePointer?
        if geteuid() == 0 {
            if sd_bus_new(&bus) >= 0, sd_bus_set_address(bus, privateSocket) >= 0, sd_bus_start(bus) >= 0 {
                return bus
            }
            _ = sd_bus_unref(bus)
            bus = nil
        }
        guard sd_bus_open_system(&bus) >= 0 else { return nil }
        return bus
    }

    /// The unit's object path (systemd loads the unit when asked through it) and its four properties.
    private static func unit(_ name: String, on bus: OpaquePointer) -> ManagedUnit? {
        var encoded: UnsafeMutablePointer<CChar>?
        guard sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &encoded) >= 0, let encoded else { return nil }
        defer { free(encoded) }
        let path = String(cString: encoded)
        let interface = "\(service).Unit"
        guard let loadState = string(on: bus, path: path, interface: interface, "LoadState"),
              let fragmentPath = string(on: bus, path: path, interface: interface, "FragmentPath"),
              let dropInPaths = strings(on: bus, path: path, interface: interface, "DropInPaths"),
              let unitFileState = string(on: bus, path: path, interface: interface, "UnitFileState")
        else { return nil }
        return ManagedUnit(loadState: loadState, fragmentPath: fragmentPath, dropInPaths: dropInPaths,
                           unitFileState: unitFileState)
    }

    private static func string(on bus: OpaquePointer, path: String, interface: String, _ property: String) -> String? {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var value: UnsafeMutablePointer<CChar>?
        guard sd_bus_get_property_string(bus, service, path, interface, property, &error, &value) >= 0, let value else {
            return nil
        }
        defer { free(value) }
        return String(cString: value)
    }

    private static func strings(on bus: OpaquePointer, path: String, interface: String, _ property: String) -> [String]? {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        guard sd_bus_get_property_strv(bus, service, path, interface, property, &error, &list) >= 0 else { return nil }
        guard let list else { return [] }
        defer { free(list) }
        var values: [String] = []
        var index = 0
        while let item = list[index] {
            values.append(String(cString: item))
            free(item)
            index += 1
        }
        return values
    }
}

extension BootChainAudit {
    /// The audit as `check` and the daemon run it on `system`: on the running system's root, systemd itself
    /// (over sd-bus) says which unit files are in force and what is enabled; under another `--root` the unit
    /// files there do.
    public static func on(_ system: FileTree, topology: Topology, policy: DiskPolicy,
                          portalRoute: PortalRoute?) -> BootChainAudit {
        BootChainAudit(system: system, topology: topology, policy: policy, portalRoute: portalRoute,
                       systemd: system.isLiveRoot ? SystemdManager.ask(about: unitNames) : nil)
    }
}
