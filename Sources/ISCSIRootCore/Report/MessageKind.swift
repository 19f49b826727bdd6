/// Every kind of journal entry the daemon writes, each with one fixed 128-bit MESSAGE_ID.
/// This file is the single definition: the catalog (`iscsi-rootd catalog`), docs/journal.md and
/// the man page are generated from or checked against it.
public enum MessageKind: String, Sendable, CaseIterable {
    case started
    case stopping
    case diskTuned
    case driftCorrected
    case tuningFailed
    case sessionFailed
    case sessionRecovered
    case ioFailing
    case rootAtRisk
    case recoveryTimeoutSet
    case nopsOnRoot
    case udevFallback
    case configRejected
    case ioStalled
    case ioStallCleared
    case kernelStorageError
    case fileSystemDamaged
    case auditFailed
    case networkLost
    case networkRestored
    case networkChanged
    case rootDegraded
    case pathRestored
    case noPathLeft
    case initiatorNameCollision

    /// The MESSAGE_ID, 32 lower-case hex digits as journalctl prints them.
    public var id: String {
        switch self {
        case .started: "51a2c0baf0aa4be08cd6406624f341ca"
        case .stopping: "03ef0a9790f742359fc001c51b21e2ac"
        case .diskTuned: "a79da4de620e49358b7aef6188a61b51"
        case .driftCorrected: "19b85ee560ba4631b9f971a470f4ddf9"
        case .tuningFailed: "6f52d2d47b43481490eab8d83de21aa6"
        case .sessionFailed: "b26819d095504639985c4baf20032191"
        case .sessionRecovered: "a477fa992a714254b0e2b5702fe65f57"
        case .ioFailing: "e236c3afa14c4e63a74ec0114f976b70"
        case .rootAtRisk: "6ca7a159dd6140248b6a6a355e51d54e"
        case .recoveryTimeoutSet: "0de01dd071474ecface51b23016bb436"
        case .nopsOnRoot: "0861a693127c4bd1a1a5ab39d2bfde94"
        case .udevFallback: "0c8afb17de86412c82e0c4ba33073200"
        case .configRejected: "b5ca08f4001a4e60b153cec93e175886"
        case .ioStalled: "cef1f4c7b26c460989e45ff55efd9682"
        case .ioStallCleared: "e514798c492b4f5c90eca6425fb80ecd"
        case .kernelStorageError: "a1315a4926c946f6b3358d0f96a9929d"
        case .fileSystemDamaged: "7fcdaaea3e3146b5a0282d74c36ee69f"
        case .auditFailed: "c8a8bfa66d4d46dc97a940d501179edf"
        case .networkLost: "7df91f42319c48c782d6935afb270bb5"
        case .networkRestored: "e5223110224845219f8f045e6f140280"
        case .networkChanged: "acbcb111c7cd44afae541b55ffd36ead"
        case .rootDegraded: "56b3151cb24a4a7e83293712b2b644d2"
        case .pathRestored: "07aefff971f348fd93b390950944d005"
        case .noPathLeft: "0f14248179d24522a5264d3c863e17c1"
        case .initiatorNameCollision: "3f5d8c2a7b1e4a69b0c4e2d17a98f603"
        }
    }

    /// syslog priority: 2 crit, 3 err, 4 warning, 5 notice, 6 info.
    public var priority: Int {
        switch self {
        case .started, .stopping, .diskTuned: 6
        case .sessionRecovered, .ioStallCleared, .recoveryTimeoutSet, .driftCorrected: 5
        case .udevFallback, .nopsOnRoot, .configRejected, .auditFailed, .sessionFailed, .ioStalled: 4
        case .tuningFailed, .kernelStorageError: 3
        case .ioFailing, .rootAtRisk, .fileSystemDamaged: 2
        case .networkLost: 2
        case .networkRestored: 5
        case .networkChanged: 4
        case .rootDegraded: 4
        case .pathRestored: 5
        case .noPathLeft: 2
        case .initiatorNameCollision: 3
        }
    }

    /// Which entries of this kind the daemon also writes to the system console as they happen
    /// (`iscsi-rootd run --console`): what threatens the root and its end, so that a person at a
    /// serial console, or a console server logging it, sees an outage while it lasts, when the
    /// journal (on the root's disk) cannot take entries.
    public enum ConsoleRule: Sendable {
        /// Every entry.
        case always
        /// Entries with `ROOT=1` (the session, disk or map carries /, /usr or swap).
        case root
        case never
    }

    public var console: ConsoleRule {
        switch self {
        case .rootAtRisk, .ioFailing, .fileSystemDamaged, .networkLost, .networkRestored, .noPathLeft: .always
        case .sessionFailed, .sessionRecovered, .ioStalled, .ioStallCleared, .rootDegraded, .pathRestored,
             .initiatorNameCollision: .root
        case .started, .stopping, .diskTuned, .driftCorrected, .tuningFailed, .recoveryTimeoutSet, .nopsOnRoot,
             .udevFallback, .configRejected, .kernelStorageError, .auditFailed, .networkChanged: .never
        }
    }

    /// The catalog's subject line.
    public var subject: String {
        switch self {
        case .started: "iscsi-rootd started"
        case .stopping: "iscsi-rootd stopping"
        case .diskTuned: "iSCSI disk tuned"
        case .driftCorrected: "iSCSI disk setting changed by someone else and corrected"
        case .tuningFailed: "iSCSI disk setting could not be applied"
        case .sessionFailed: "iSCSI session failed; I/O waits for recovery"
        case .sessionRecovered: "iSCSI session recovered"
        case .ioFailing: "iSCSI recovery timed out; I/O is failing"
        case .rootAtRisk: "The root file system's iSCSI session is in recovery"
        case .recoveryTimeoutSet: "recovery_tmo of a root session raised"
        case .nopsOnRoot: "NOP-Out pings are on for a root session"
        case .udevFallback: "udev is not available; polling sysfs instead"
        case .configRejected: "Configuration rejected; the previous one stays in force"
        case .ioStalled: "I/O to an iSCSI disk is stalled"
        case .ioStallCleared: "I/O to an iSCSI disk flows again"
        case .kernelStorageError: "Kernel storage error on an iSCSI disk"
        case .fileSystemDamaged: "File system on an iSCSI disk damaged; writes are lost until reboot"
        case .auditFailed: "Boot and shutdown chain check found a problem"
        case .networkLost: "A root iSCSI session lost the network path to its portal"
        case .networkRestored: "A root iSCSI session's network path to its portal is back"
        case .networkChanged: "The network path of a root iSCSI session changed"
        case .rootDegraded: "A path of a multipath map went down; the map runs degraded"
        case .pathRestored: "A multipath path is back"
        case .noPathLeft: "Every path of a multipath map is down"
        case .initiatorNameCollision: "A healthy iSCSI session keeps being ended: likely another client with the same initiator name"
        }
    }

    /// The catalog's body: what happened and what to do.
    public var explanation: String {
        switch self {
        case .started:
            "iscsi-rootd has read its configuration, tuned the iSCSI disks it found and is now watching sessions, hosts and disks."
        case .stopping:
            "iscsi-rootd received a stop request and is exiting. Disk settings stay as they are."
        case .diskTuned:
            "The SCSI command timeout or I/O scheduler of an iSCSI disk was set to the configured value ([Disk] Timeout=, Scheduler=)."
        case .driftCorrected:
            "A disk setting that iscsi-rootd had applied was found changed (by another udev rule, a tool or an admin) and was set back. Find what changes it: a RUN rule, tuned, or a script writing /sys/block/*/queue/scheduler."
        case .tuningFailed:
            "Writing a disk setting failed or did not read back. The entry names the file and the kernel's answer (EINVAL: value not accepted, EACCES/EPERM: no permission, ENOENT: the device vanished). A scheduler the kernel does not offer is named with the ones it offers."
        case .sessionFailed:
            "The iSCSI connection was lost and the session is in recovery. I/O to its disks is queued, not failed, until the session logs in again or recovery_tmo runs out. Check the network path to the portal and the target."
        case .sessionRecovered:
            "The session is LOGGED_IN again and its disks are running. DURATION_USEC= says how long the outage lasted."
        case .ioFailing:
            "Recovery took longer than recovery_tmo (session FREE) or a disk went transport-offline or offline: I/O to these disks now fails with EIO. On a root disk the file system will abort its journal. Restore the target; a root file system that saw I/O errors needs a reboot."
        case .rootAtRisk:
            "A session that carries /, /usr or swap is in recovery. The machine may freeze until it recovers, and if recovery_tmo expires the root file system fails."
        case .recoveryTimeoutSet:
            "A session that carries /, /usr or swap had a recovery_tmo below [Session] RecoveryTimeout= and it was raised, so an outage has longer to heal before I/O fails."
        case .nopsOnRoot:
            "NOP-Out pings (ping_tmo/recv_tmo) are on for a session that carries the root. A busy or briefly stalled link can then be declared dead. Set node.conn[0].timeo.noop_out_interval = 0 and node.conn[0].timeo.noop_out_timeout = 0 in the node record (iscsiadm -m node -T TARGET -o update -n ...)."
        case .udevFallback:
            "udevd is not running (/run/udev/control is missing) or udev was turned off (--udev off), so new and vanished disks are found by rescanning sysfs every poll interval instead of at once."
        case .configRejected:
            "A reload (SIGHUP) found an invalid configuration. The entry names file:line. The configuration in force before the reload stays."
        case .ioStalled:
            "Requests are in flight to an iSCSI disk but none completed for longer than [Disk] StallThreshold=. With NOPs off the kernel does not notice a dead target, so sysfs still says LOGGED_IN and running; the SCSI command timeout is the next thing that fires. INFLIGHT= says how many requests wait."
        case .ioStallCleared:
            "Requests to the disk complete again. DURATION_USEC= says how long I/O stood still."
        case .kernelStorageError:
            "The kernel log reported an error for an iSCSI disk (I/O error, rejected I/O, session recovery timeout, file system error). KERNEL_SEQNUM= names the kernel record; DEVICE=, ISCSI_SESSION= and MOUNT_POINT= tell what it hit."
        case .fileSystemDamaged:
            "A file system on an iSCSI disk recorded errors or aborted its journal, typically after an outage longer than recovery_tmo. Even when the session logs in again and sysfs looks healthy, the kernel keeps the file system dead: writes since then are lost although they return success. Reboot the machine."
        case .auditFailed:
            "iscsi-rootd check found a gap in the boot or shutdown chain (fstab, iscsid survival, network configuration, node record). Run 'iscsi-rootd check' for the exact fix."
        case .networkLost:
            "The local address of a session that carries /, /usr or swap was removed, its interface went down or lost its carrier, or the kernel has no route to the portal any more (rtnetlink said so the moment it happened; the route is the kernel's own answer, policy rules included). INTERFACE=, LOCAL_ADDRESS=, OLD_VALUE= and NEW_VALUE= (an address that replaced it), ISCSI_PORTAL= and CARRIES= tell what is cut off. With NOPs off the kernel does not notice: I/O to the root waits until the path is back, and later stall and recovery entries name this as their likely cause (LIKELY_CAUSE=). Typical causes: a network manager flushing the address the initramfs set (networkd without KeepConfiguration=), a DHCP renewal handing out another address, an interface taken down, a pulled cable. Restore the address, link or route; a link that keeps flapping is one entry, counted."
        case .networkRestored:
            "The address, link and route a root session needs are there again. DURATION_USEC= says how long the path was cut; for a flapping link the entry comes once it has been stable and counts the losses."
        case .networkChanged:
            "The route to the portal of a root session now leaves through another interface, or a reconnect would use another source address than the session's. The session may still work; a reconnect after the next outage takes the new way. Check that the network manager did what was intended."
        case .rootDegraded:
            "A path of a dm-multipath map (MULTIPATH_MAP=, the path disk DEVICE=, its ISCSI_SESSION= and ISCSI_PORTAL=) went down: its SCSI device is no longer running or its session no longer LOGGED_IN. I/O goes on over the PATHS_UP= remaining of PATHS_TOTAL= paths. ROOT=1 when the map carries /, /usr or swap. multipathd owns the path's timers; iscsi-rootd never changes them. Check the network to that portal; iscsid logs the session in again when it can."
        case .pathRestored:
            "The path's SCSI device is running and its session LOGGED_IN again; multipathd's path checker puts it back into the map. DURATION_USEC= says how long it was down, PATHS_UP= how many paths the map has now."
        case .initiatorNameCollision:
            "The target ended a LOGGED_IN session SESSION_ENDINGS= times within DURATION_USEC= and it recovered each time, while the network under it showed no loss. That is what a second initiator logging in with the same initiator name (ISCSI_INITIATOR=) does: the target reinstates the session for the newest login and ends the older one, and the two clients take turns ending each other's session (the kernel logs 'conn error (1020)'). It happens when many clients boot one image and all take its /etc/iscsi/initiatorname.iscsi. Give each client its own name: from its kernel command line (dracut rd.iscsi.initiator=, mkinitcpio and initramfs-tools iscsi_initiator=), from iBFT, or derived at boot from its MAC or machine-id; 'iscsi-rootd check' says where the name came from and how to fix it for the initramfs generator in use. Journaled once per episode; an episode ends after 5 minutes without an ending."
        case .noPathLeft:
            "Every path of a dm-multipath map is down. With queue_if_no_path (no_path_retry queue) I/O to the map waits until a path returns and the machine may freeze; without it I/O fails and a file system on the map aborts. ROOT=1 when the map carries /, /usr or swap. Restore a path (network, target); for a root map set no_path_retry queue in /etc/multipath.conf."
        }
    }

    /// The catalog file for `journalctl -x` (systemd's catalog format).
    public static var catalog: String {
        var text = "# iscsi-rootd journal message catalog. Generated by 'iscsi-rootd catalog'; do not edit.\n"
        for kind in allCases {
            text += "\n-- \(kind.id)\nSubject: \(kind.subject)\nDefined-By: iscsi-rootd\n\n\(kind.explanation)\n"
        }
        return text
    }
}

/// The journal fields iscsi-rootd adds to its entries, named once here.
public enum JournalField: String, Sendable, CaseIterable {
    case messageID = "MESSAGE_ID"
    case session = "ISCSI_SESSION"
    case target = "ISCSI_TARGET"
    case portal = "ISCSI_PORTAL"
    case host = "SCSI_HOST"
    case scsiDevice = "SCSI_DEVICE"
    case device = "DEVICE"
    case state = "STATE"
    case previousState = "PREVIOUS_STATE"
    case durationMicroseconds = "DURATION_USEC"
    case recoveryTimeout = "RECOVERY_TMO"
    case root = "ROOT"
    case setting = "SETTING"
    case oldValue = "OLD_VALUE"
    case newValue = "NEW_VALUE"
    case inflight = "INFLIGHT"
    case kernelSequenceNumber = "KERNEL_SEQNUM"
    case mountPoint = "MOUNT_POINT"
    case errno = "ERRNO"
    case interface = "INTERFACE"
    case localAddress = "LOCAL_ADDRESS"
    case route = "ROUTE"
    case carries = "CARRIES"
    case likelyCause = "LIKELY_CAUSE"
    case multipathMap = "MULTIPATH_MAP"
    case pathsUp = "PATHS_UP"
    case pathsTotal = "PATHS_TOTAL"
    /// When the daemon logged an entry that journald took late (wall clock, µs since the epoch).
    case loggedMicroseconds = "LOGGED_USEC"
    case initiatorName = "ISCSI_INITIATOR"
    case sessionEndings = "SESSION_ENDINGS"
}
