import Foundation

/// What a session looks like at one moment of an outage, each from a real capture.
public enum SessionPhase: String, CaseIterable, Sendable {
    /// LOGGED_IN, connection up, disks running (`20-snapshot-logged-in.txt`).
    case loggedIn = "logged-in"
    /// FAILED, connection failed, disks blocked (`40-fault-tpg-disable-tmo120-snapshot-during-fault.txt`).
    case failed
    /// FREE after recovery_tmo, connection failed, disks transport-offline
    /// (`41-fault-tpg-disable-tmo10-snapshot-during-fault.txt`).
    case free

    var captureFile: String {
        switch self {
        case .loggedIn: "20-snapshot-logged-in.txt"
        case .failed: "40-fault-tpg-disable-tmo120-snapshot-during-fault.txt"
        case .free: "41-fault-tpg-disable-tmo10-snapshot-during-fault.txt"
        }
    }
}

/// One snapshot sorted into the roles the builder instantiates.
struct CapturedWorld: Sendable {
    let session: CapturedDirectory
    let connection: CapturedDirectory
    let iscsiHost: CapturedDirectory
    /// The iscsi_tcp `scsi_host`.
    let iscsiSCSIHost: CapturedDirectory
    /// The ata_piix `scsi_host` of QEMU's CD-ROM (host1, ata2), and its sibling host0 (ata1).
    let ataHosts: [CapturedDirectory]
    /// The LIO disk's scsi_device (`2:0:0:0`).
    let iscsiDevice: CapturedDirectory
    /// QEMU's ATA CD-ROM (`1:0:0:0`, type 5).
    let ataDevice: CapturedDirectory
    /// The block device's attributes from `udevadm info --attribute-walk` (`queue/scheduler`, `inflight`, `stat` …).
    let blockAttributes: [String: String]
    /// The block device's `MAJ:MIN` as udevadm printed it (`D: b 8:0`).
    let blockDev: String
    /// The device tree below the LUN directory, relative to it (`block/sda/holders`, `scsi_device/2:0:0:0/device` …).
    let lunTree: [String]

    init(_ capture: Capture, file: String) throws {
        func require(_ what: String, _ predicate: (CapturedDirectory) -> Bool) throws -> CapturedDirectory {
            guard let found = capture.directories.first(where: predicate) else {
                throw CaptureError(file: file, message: "no \(what) section")
            }
            return found
        }
        session = try require("iscsi_session") { $0.classPath.hasPrefix("/sys/class/iscsi_session/") }
        connection = try require("iscsi_connection") { $0.classPath.hasPrefix("/sys/class/iscsi_connection/") }
        iscsiHost = try require("iscsi_host") { $0.classPath.hasPrefix("/sys/class/iscsi_host/") }
        iscsiSCSIHost = try require("iscsi scsi_host") {
            $0.classPath.hasPrefix("/sys/class/scsi_host/") && $0.devicePath.hasPrefix("/sys/devices/platform/")
        }
        ataHosts = capture.directories.filter { $0.classPath.hasPrefix("/sys/class/scsi_host/") && $0.devicePath.contains("/ata") }
        iscsiDevice = try require("iSCSI scsi_device") {
            $0.classPath.hasPrefix("/sys/class/scsi_device/") && $0.devicePath.contains("/session")
        }
        ataDevice = try require("ATA scsi_device") {
            $0.classPath.hasPrefix("/sys/class/scsi_device/") && $0.devicePath.contains("/ata")
        }
        let lunPath = iscsiDevice.devicePath.dropFirst("/sys".count)
        let walkKey = capture.attributeWalk.keys.first { $0.hasPrefix(lunPath + "/block/") }
        blockAttributes = walkKey.flatMap { capture.attributeWalk[$0] } ?? [:]
        guard blockAttributes["queue/scheduler"] != nil else {
            throw CaptureError(file: file, message: "no attribute walk of the block device")
        }
        let udevInfo = capture.sections.first { $0.key.hasPrefix("udevadm info --query=all --name=") }?.value ?? []
        guard let dev = udevInfo.first(where: { $0.hasPrefix("D: b ") }) else {
            throw CaptureError(file: file, message: "no 'D: b MAJ:MIN' line in udevadm info")
        }
        blockDev = String(dev.dropFirst("D: b ".count))
        let prefix = iscsiDevice.devicePath + "/"
        lunTree = capture.deviceTree.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }
}

/// The captures in `Fixtures/captures`, parsed once.
enum CaptureLibrary {
    /// `Fixtures/captures/kernel-6.1-lio-loopback` of this repository, or `$ISCSI_ROOTD_FIXTURES`.
    static var directory: String {
        if let override = ProcessInfo.processInfo.environment["ISCSI_ROOTD_FIXTURES"], !override.isEmpty {
            return override
        }
        // …/Sources/SysfsFixtures/CaptureLibrary.swift → …/Fixtures/captures/…
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return repository.appendingPathComponent("Fixtures/captures/kernel-6.1-lio-loopback").path
    }

    static func load(_ phase: SessionPhase) throws -> CapturedWorld {
        let path = directory + "/" + phase.captureFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CaptureError(file: path, message: "cannot read the capture (set ISCSI_ROOTD_FIXTURES to its directory)")
        }
        let text = String(decoding: data, as: UTF8.self)
        return try CapturedWorld(try Capture(parsing: text, name: path), file: path)
    }

    static let worlds: Result<[SessionPhase: CapturedWorld], any Error> = Result(catching: {
        var worlds: [SessionPhase: CapturedWorld] = [:]
        for phase in SessionPhase.allCases { worlds[phase] = try load(phase) }
        return worlds
    })

    static func world(_ phase: SessionPhase) throws -> CapturedWorld {
        try worlds.get()[phase]!
    }
}
