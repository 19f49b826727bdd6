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
    ///
    /// Parsed byte by byte, without a substring or a string per field: splitting each line into
    /// substrings cost about 60 000 instructions a line, 60 M a second at 1 024 disks, most of the
    /// idle daemon's CPU time (callgrind; docs/benchmarks.md).
    public static func parseDiskstats(_ text: String) -> [String: IOSample] {
        var samples: [String: IOSample] = [:]
        var text = text
        text.withUTF8 { bytes in
            var counters: [UInt64] = []
            counters.reserveCapacity(20)
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                if let (name, sample) = parseDiskstatsLine(bytes, start..<end, counters: &counters) {
                    samples[name] = sample
                }
                start = end + 1
            }
        }
        return samples
    }

    /// One line: `major minor name` and at least 11 counters, fields separated by spaces; nil
    /// when malformed (a counter that is not a decimal UInt64, too few fields).
    private static func parseDiskstatsLine(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>,
                                           counters: inout [UInt64]) -> (String, IOSample)? {
        counters.removeAll(keepingCapacity: true)
        var field = 0
        var name: Range<Int>?
        var index = line.lowerBound
        while index < line.upperBound {
            if bytes[index] == UInt8(ascii: " ") {
                index += 1
                continue
            }
            let start = index
            while index < line.upperBound && bytes[index] != UInt8(ascii: " ") { index += 1 }
            if field == 2 {
                name = start..<index
            } else if field > 2 {
                var value: UInt64 = 0
                for position in start..<index {
                    let digit = bytes[position] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    let (times, overflowed) = value.multipliedReportingOverflow(by: 10)
                    let (sum, carried) = times.addingReportingOverflow(UInt64(digit))
                    guard !overflowed && !carried else { return nil }
                    value = sum
                }
                counters.append(value)
            }
            field += 1
        }
        guard field >= 14, let name, let inflight = Int(exactly: counters[8]) else { return nil }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self),
                IOSample(inflight: inflight, completions: completions(counters)))
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
