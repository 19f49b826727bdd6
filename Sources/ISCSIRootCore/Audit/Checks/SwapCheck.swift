/// Swap on an iSCSI disk: under memory pressure the kernel must swap out to free memory, and sending
/// over the network needs memory, so it can deadlock; the iSCSI-root recipe recommends against it.
struct SwapCheck {
    let topology: Topology

    var item: AuditItem {
        let title = "no swap on an iSCSI disk"
        let swaps = topology.chains.filter { $0.use == .swap && !topology.sessions(of: $0).isEmpty }
        guard !swaps.isEmpty else {
            return AuditItem(id: "swap", title: title, verdict: .ok, detail: "no swap area is on an iSCSI disk")
        }
        let names = swaps.map { chain in
            "\(chain.source) (\(topology.sessions(of: chain).map(\.name).joined(separator: ", ")))"
        }
        return AuditItem(id: "swap", title: title, verdict: .warn,
                         detail: "swap on \(names.joined(separator: ", ")): swapping out under memory pressure needs memory to send over the network, which can deadlock the machine",
                         fix: swaps.map { "swapoff \($0.source) and remove it from /etc/fstab; use zram or a local disk for swap" }
                            .joined(separator: "\n"))
    }
}
