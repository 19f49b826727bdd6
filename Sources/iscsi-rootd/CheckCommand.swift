import ArgumentParser
import ISCSIRootCore
import ISCSIRootDaemon

/// `iscsi-rootd check`: audits the boot and shutdown chain that keeps an iSCSI root alive.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Audit the boot and shutdown chain: fstab, iscsid survival, network, node record, tuning.",
        discussion: """
            Prints each link as ok, warn, fail or unknown, with the exact fix. Stops after the first item when \
            / is not on iSCSI. On the live root (--root /) of a system booted with systemd, systemd itself \
            says which unit files are in force and what is enabled; otherwise the files of its unit search \
            path under --root do. Exit codes: 0 all ok, 1 warnings or unknowns, 2 failures, 3 the output could not be \
            written.
            """
    )

    @OptionGroup var paths: SystemPaths
    @OptionGroup var settings: ConfigOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let configuration = try settings.load(root: paths.systemTree)
        let topology = paths.scanner().scan()
        // On the running system the kernel says which way the portal is (policy rules included).
        var portalRoute: PortalRoute?
        if paths.systemTree.isLiveRoot, let root = topology.root,
           let portal = topology.sessions(of: root).first.flatMap(NetworkWatch.portalAddress),
           let query = try? RouteNetlinkQuery() {
            portalRoute = query.portalRoute(to: portal)
        }
        let audit = BootChainAudit.on(paths.systemTree, topology: topology, policy: configuration.disk,
                                      portalRoute: portalRoute)
        let report = AuditReport(items: audit.run())
        try writeOutput(output.json ? report.json.serialized(pretty: true) + "\n" : report.text)
        if report.worst != .ok { throw ExitCode(report.worst.exitCode) }
    }
}
