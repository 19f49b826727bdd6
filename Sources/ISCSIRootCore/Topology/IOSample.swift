/// One reading of a disk's I/O counters: requests in flight and requests completed so far.
public struct IOSample: Sendable, Hashable {
    public let inflight: Int
    /// Reads + writes + discards + flushes completed (`stat` fields 1, 5, 12, 16).
    public let completions: UInt64

    public init(inflight: Int, completions: UInt64) {
        self.inflight = inflight
        self.completions = completions
    }

    /// Reads `inflight` ("reads writes") and `stat` of a block device directory; nil when unreadable.
    public static func read(_ sysfs: FileTree, blockDirectory dir: String) -> IOSample? {
        guard case .success(let inflightText) = sysfs.read("\(dir)/inflight"),
              case .success(let statText) = sysfs.read("\(dir)/stat") else { return nil }
        let inflight = inflightText.split(separator: " ").compactMap { Int(sysfs: $0) }
        let stat = statText.split(separator: " ").compactMap { UInt64(bounded: $0, in: 0...UInt64.max) }
        guard inflight.count == 2, stat.count >= 11 else { return nil }
        return IOSample(inflight: inflight[0] + inflight[1], completions: completions(stat))
    }

    /// Every block device's sample from the text of `/proc/diskstats` (the kernel's iostats.rst:
    /// `major minor name` and then the counters of `stat`, in the same order, its ninth the
    /// requests in flight), by device name. One read of one file for all disks: what the daemon
    /// samples each second. Malformed lines are skipped.
    public static func parseDiskstats(_ text: String) -> [String: IOSample] {
        var samples: [String: IOSample] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 14 else { continue }
            let counters = fields.dropFirst(3).compactMap { UInt64($0) }
            guard counters.count == fields.count - 3, let inflight = Int(exactly: counters[8]) else { continue }
            samples[String(fields[2])] = IOSample(inflight: inflight, completions: completions(counters))
        }
        return samples
    }

    /// Reads + writes + discards + flushes completed: `stat` fields 1, 5, 12 and 16 (the last two
    /// only on kernels that have them).
    static func completions(_ stat: [UInt64]) -> UInt64 {
        [0, 4, 11, 15].filter { $0 < stat.count }.reduce(UInt64(0)) { $0 &+ stat[$1] }
    }
}

extension TopologyScanner {
    /// Every iSCSI disk's I/O counters: one read of `proc/diskstats` in `diskstats` for all of them
    /// (nil: no tree whose diskstats describes these disks), and a disk it lacks from its own
    /// `inflight` and `stat` under sysfs. A disk with neither is left out.
    public func ioSamples(of topology: Topology, diskstats: FileTree?) -> [(device: SCSIDevice, sample: IOSample)] {
        var all: [String: IOSample] = [:]
        if let diskstats, case .success(let text) = diskstats.read("proc/diskstats") {
            all = IOSample.parseDiskstats(text)
        }
        return topology.iscsiDevices.compactMap { device in
            guard let disk = device.disk,
                  let sample = all[disk.name] ?? IOSample.read(sysfs, blockDirectory: "\(device.devpath)/block/\(disk.name)")
            else { return nil }
            return (device, sample)
        }
    }
}
