/// iscsi-rootd.service starts at every boot.
struct ServiceEnabledCheck {
    let units: UnitLookup

    static let name = "iscsi-rootd.service"

    var item: AuditItem {
        let title = "iscsi-rootd.service enabled"
        if units.load(Self.name).isMasked {
            return AuditItem(id: "service", title: title, verdict: .fail, detail: "\(Self.name) is masked",
                             fix: "systemctl unmask \(Self.name) && systemctl enable --now \(Self.name)")
        }
        let enablement = units.enablement(Self.name)
        if enablement.enabled {
            return AuditItem(id: "service", title: title, verdict: .ok, detail: "\(Self.name) is enabled (\(enablement.evidence))")
        }
        return AuditItem(id: "service", title: title, verdict: .warn,
                         detail: "\(Self.name) is not enabled (\(enablement.evidence)): nobody keeps the disks tuned or watches the root session after boot",
                         fix: "systemctl enable --now \(Self.name)")
    }
}
