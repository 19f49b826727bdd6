/// `iscsi-rootd check`: audits every link of the chain that keeps an iSCSI root alive from the
/// initramfs to poweroff, reading configuration under a system root and live state from a topology.
/// Pure: reads through `FileTree` only, so tests run against a root in a temporary directory.
public struct BootChainAudit: Sendable {
    public let system: FileTree
    public let topology: Topology
    /// The `[Disk]` settings: which devices are tuned, and to what.
    public let policy: DiskPolicy
    /// The kernel's own answer for the portal (RTM_GETROUTE, policy rules included), when the caller
    /// could ask; nil falls back to the main table in `proc/net/route`.
    public let portalRoute: PortalRoute?
    public let systemd: SystemdAnswers?

    /// The units the audit reads: what to ask the running systemd about.
    public static let unitNames = ["iscsid.service", "iscsid.socket", "-.mount", ServiceEnabledCheck.name,
                                   "multipathd.service", "multipathd-queueing.service"]

    /// `system` is the root holding /etc, /usr, /run and /proc (`/` in production);
    /// `policy` the `[Disk]` settings (which devices it tunes and what they should have);
    /// `systemd` what the running systemd said about `unitNames` (nil: read the unit files under `system`).
    public init(system: FileTree, topology: Topology, policy: DiskPolicy,
                portalRoute: PortalRoute? = nil, systemd: SystemdAnswers? = nil) {
        self.system = system
        self.topology = topology
        self.policy = policy
        self.portalRoute = portalRoute
        self.systemd = systemd
    }

    /// Every item, in chain order. When / is not on iSCSI there is one item saying so.
    public func run() -> [AuditItem] {
        let root = RootOnISCSICheck(topology: topology)
        guard let session = root.session else { return [root.item] }
        let units = UnitLookup(system: system, systemd: systemd)
        let layout = InstallLayout(system: system)
        let iscsid = ProcessInfo.named("iscsid", in: system)
        let firmware = self.firmware
        return [
            root.item,
            FstabCheck(system: system, units: units, shared: SharedImage(topology.root)).item,
            ISCSIDRunningCheck(processes: iscsid, units: units).item,
            ISCSIDShutdownCheck(processes: iscsid, units: units, layout: layout).item,
        ] + multipathItems(units: units) + [
            NetworkCheck(system: system, session: session, host: session.hostNumber.flatMap(topology.host),
                         kernelRoute: portalRoute, firmware: firmware).item,
        ] + initramfsItems(session, layout: layout) + [
            InitiatorNameCheck(system: system, topology: topology, session: session, firmware: firmware).item,
        ] + sessionItems(first: session, firmware: firmware) + [
            DiskTuningCheck(topology: topology, policy: policy).item,
            SwapCheck(topology: topology).item,
            ServiceEnabledCheck(units: units).item,
            BootFilesCheck(system: system, generator: InitramfsSystem.detect(in: system, cmdline: InitramfsSystem.commandLine(of: system))).item,
        ]
    }

    /// The firmware's boot record (iBFT) under the system root's /sys.
    var firmware: FirmwareBoot? { FirmwareBoot.read(sysfs: FileTree(root: system.path("sys"))) }

    /// When / is on a multipath map: multipathd running, enabled and outliving / at shutdown, and
    /// the map queueing with no path left.
    func multipathItems(units: UnitLookup) -> [AuditItem] {
        guard let root = topology.root, let map = topology.maps(of: root).first else { return [] }
        let multipathd = ProcessInfo.named("multipathd", in: system)
        let conf = MultipathConf.load(from: system)
        return [
            MultipathdRunningCheck(processes: multipathd, units: units).item,
            MultipathdShutdownCheck(processes: multipathd, units: units, conf: conf).item,
            MultipathQueueCheck(map: map, carries: topology.criticalUses(of: map), conf: conf).item,
        ]
    }

    /// How the initramfs logged the root in. Not for a multipath root: its paths want NOPs on, which the
    /// single-session settings the item expects forbid.
    func initramfsItems(_ session: ISCSISession, layout: InstallLayout) -> [AuditItem] {
        topology.isPathSession(session.number) ? [] : [InitramfsCheck(system: system, layout: layout).item]
    }

    /// The node record and live settings of the root session, or of every path of a multipath root.
    func sessionItems(first session: ISCSISession, firmware: FirmwareBoot?) -> [AuditItem] {
        guard topology.isPathSession(session.number), let root = topology.root else {
            return [inImage(NodeRecordCheck(system: system, session: session, firmware: firmware).item), LiveSessionCheck(session: session).item]
        }
        let paths = topology.sessions(of: root).filter { topology.isPathSession($0.number) }
        return paths.map { inImage(NodeRecordCheck(system: system, session: $0, isPath: true, firmware: firmware).item) }
            + paths.map { LiveSessionCheck(session: $0, recipe: .multipathPath).item }
    }

    /// A node record fix on a shared image's root is made in the image: the record is the image's,
    /// the same for every client (and on an overlay root, an update here is lost at reboot).
    func inImage(_ item: AuditItem) -> AuditItem {
        guard let shared = SharedImage(topology.root), let fix = item.fix else { return item }
        return AuditItem(id: item.id, title: item.title, verdict: item.verdict, detail: item.detail, fix: shared.inImage(fix))
    }
}

extension ISCSISession {
    /// `iqn… at 10.0.0.1:3260 (session1)` for messages.
    var label: String {
        "\(targetName.value ?? "unknown target") at \(portal ?? "unknown portal") (\(name))"
    }
}
