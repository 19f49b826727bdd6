extension TopologyScanner {
    /// ext4's error counter (`/sys/fs/ext4/DEVICE/errors_count`) of each ext4 file system on an
    /// iSCSI disk, by device (`sda2`, `dm-0`): it moves when the file system records an error, which
    /// is how damage is seen without the kernel log. Unreadable counters are left out.
    public func ext4ErrorCounts(of topology: Topology) -> [String: Int] {
        var counts: [String: Int] = [:]
        for chain in topology.chains where chain.fileSystem == "ext4" {
            guard let device = chain.path.first, chain.disks.contains(where: { topology.device(disk: $0)?.isISCSI == true }),
                  let count = sysfs.integer("fs/ext4/\(device)/errors_count").value else { continue }
            counts[device] = count
        }
        return counts
    }
}
