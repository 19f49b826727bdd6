import Foundation
import ISCSIRootCore

/// iSCSI sessions and their LUNs, laid out from the captured session.
extension FixtureTree {
    /// An iSCSI session `sessionN` under `hostH` (created with its iscsi_host/scsi_host when new), its
    /// connection `connectionN:0`, and one SCSI device per LUN (`H:0:T:L`, T counting sessions on the
    /// host). Type 0, 7 and 14 LUNs get an `sdX` disk, type 5 an `srN`. Values from the capture of
    /// `phase`; `target`, `portal` and `port` replace the captured ones when given.
    @discardableResult
    public func addISCSISession(number: Int, host: Int, phase: SessionPhase = .loggedIn, luns: [UInt64] = [0],
                                type: Int = 0, target: String? = nil, portal: String? = nil, port: Int? = nil,
                                detail: FixtureDetail = .complete) throws -> FixtureSession {
        let world = try CaptureLibrary.world(phase)
        guard !sysfs.exists("class/iscsi_session/session\(number)") else {
            throw FixtureError(message: "session\(number) exists already")
        }
        let hostPath = "/devices/platform/host\(host)"
        if !sysfs.exists("class/scsi_host/host\(host)") {
            try instantiate(world.iscsiSCSIHost, at: "\(hostPath)/scsi_host/host\(host)", detail: detail)
            try instantiate(world.iscsiHost, at: "\(hostPath)/iscsi_host/host\(host)", detail: detail)
        }
        nextHost = max(nextHost, host + 1)
        let targetNumber = targetsOnHost[host, default: 0]
        targetsOnHost[host] = targetNumber + 1

        let sessionPath = "\(hostPath)/session\(number)"
        var sessionValues: [String: String] = ["target_id": "\(targetNumber)"]
        if let target { sessionValues["targetname"] = target }
        try instantiate(world.session, at: "\(sessionPath)/iscsi_session/session\(number)", values: sessionValues,
                        detail: detail)
        var connectionValues: [String: String] = [:]
        if let portal { connectionValues["persistent_address"] = portal; connectionValues["address"] = portal }
        if let port { connectionValues["persistent_port"] = "\(port)"; connectionValues["port"] = "\(port)" }
        try instantiate(world.connection, at: "\(sessionPath)/connection\(number):0/iscsi_connection/connection\(number):0",
                        values: connectionValues, detail: detail)
        if detail == .complete {
            try Files.write(abs("\(sessionPath)/uevent"), "", mode: 0o644)
            try Files.write(abs("\(sessionPath)/connection\(number):0/uevent"), "", mode: 0o644)
        }
        var devices: [FixtureDevice] = []
        for lun in luns {
            devices.append(try addISCSILUN(session: number, lun: lun, type: type, phase: phase, detail: detail))
        }
        return FixtureSession(number: number, host: host, devicePath: sessionPath, devices: devices)
    }

    /// One more LUN on an existing session.
    @discardableResult
    public func addISCSILUN(session number: Int, lun: UInt64, type: Int = 0, phase: SessionPhase = .loggedIn,
                            detail: FixtureDetail = .complete) throws -> FixtureDevice {
        let world = try CaptureLibrary.world(phase)
        guard let sessionPath = sessionDevicePath(number),
              let host = sessionPath.split(separator: "/").compactMap({ TopologyScanner.number(after: "host", in: $0) }).last
        else { throw FixtureError(message: "no session\(number)") }
        let targetNumber = sysfs.integer("class/iscsi_session/session\(number)/target_id").value ?? 0
        let target = "\(host):0:\(targetNumber)"
        let hctl = "\(target):\(lun)"
        let devicePath = "\(sessionPath)/target\(target)/\(hctl)"
        return try addSCSIDevice(template: world.iscsiDevice, world: world, hctl: hctl, devicePath: devicePath,
                                 type: type, values: [:], lunTree: world.lunTree, detail: detail)
    }

    /// Moves a session and its disks to the captured states of `phase`: session `state`; the
    /// connection's and iscsi_host's attributes (during a fault `address` and `port` fail to read,
    /// see `laidOutContent`); each disk's `state`.
    public func setPhase(_ phase: SessionPhase, session number: Int) throws {
        let world = try CaptureLibrary.world(phase)
        guard let sessionPath = sessionDevicePath(number) else { throw FixtureError(message: "no session\(number)") }
        if let state = world.session.attribute("state") {
            try layOut(state, at: "\(sessionPath)/iscsi_session/session\(number)/state", value: nil)
        }
        for name in sysfs.list(sessionPath) where name.hasPrefix("connection\(number):") {
            try applyPhase(world.connection, at: "\(sessionPath)/\(name)/iscsi_connection/\(name)",
                           copies: ["address": "persistent_address", "port": "persistent_port"])
        }
        if let host = sessionPath.split(separator: "/").compactMap({ TopologyScanner.number(after: "host", in: $0) }).last,
           let hostPath = sysfs.resolve("class/iscsi_host/host\(host)") {
            try applyPhase(world.iscsiHost, at: hostPath, copies: [:])
        }
        guard let state = world.iscsiDevice.attribute("state") else { return }
        for target in sysfs.list(sessionPath) where target.hasPrefix("target") {
            for hctl in sysfs.list("\(sessionPath)/\(target)") where HCTL(hctl) != nil {
                try layOut(state, at: "\(sessionPath)/\(target)/\(hctl)/state", value: nil)
            }
        }
    }

    /// A phase's `state`, and its unreadable attributes (address, port and ipaddress fail with
    /// ENOTCONN during a fault); attributes readable again come back, `copies` from their persistent twins.
    private func applyPhase(_ template: CapturedDirectory, at path: String, copies: [String: String]) throws {
        for attribute in template.attributes {
            let file = "\(path)/\(attribute.name)"
            if attribute.name == "state" {
                try layOut(attribute, at: file, value: nil)
            } else if case .readError = attribute.content {
                try layOut(attribute, at: file, value: nil)
            } else if !Files.lstatExists(abs(file)) {
                let copied = copies[attribute.name].flatMap { sysfs.attribute("\(path)/\($0)").value }
                try layOut(attribute, at: file, value: copied)
            }
        }
    }

    /// Removes a session with its devices and links (a logout).
    public func removeSession(_ number: Int) throws {
        guard let sessionPath = sessionDevicePath(number) else { throw FixtureError(message: "no session\(number)") }
        for target in sysfs.list(sessionPath) where target.hasPrefix("target") {
            for hctl in sysfs.list("\(sessionPath)/\(target)") where HCTL(hctl) != nil { try removeDevice(hctl) }
        }
        for name in sysfs.list("class/iscsi_connection") where name.hasPrefix("connection\(number):") {
            try Files.remove(abs("/class/iscsi_connection/\(name)"))
        }
        try Files.remove(abs("/class/iscsi_session/session\(number)"))
        try Files.remove(abs(sessionPath))
    }
}
