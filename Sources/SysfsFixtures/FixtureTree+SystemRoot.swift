import Foundation
import ISCSIRootCore

/// The system root: mounts (`proc/self/mountinfo`) and swaps (`proc/swaps`).
extension FixtureTree {
    /// A mount of block device `device` (`sda2`, `dm-0`) in `proc/self/mountinfo` (proc(5) format);
    /// device-mapper devices appear as `/dev/mapper/NAME` like LVM's. Mount `/` first.
    public func mount(point: String, device: String, fileSystem: String) throws {
        guard let dev = sysfs.attribute("class/block/\(device)/dev").value else {
            throw FixtureError(message: "no block device \(device)")
        }
        let source = sysfs.attribute("class/block/\(device)/dm/name").value.map { "/dev/mapper/\($0)" } ?? "/dev/\(device)"
        mounts.append((point, dev, fileSystem, source))
        try writeMountInfo()
    }

    /// An active swap partition (`/dev/sda3`) in `proc/swaps`.
    public func addSwap(device: String) throws {
        guard let sectors = sysfs.integer("class/block/\(device)/size").value else {
            throw FixtureError(message: "no block device \(device)")
        }
        // swapon uses the area minus its header page.
        swaps.append(("/dev/\(device)", "partition", UInt64(max(sectors / 2 - 4, 0))))
        try writeSwaps()
    }

    /// An active swap file in `proc/swaps`.
    public func addSwapFile(path: String, kibibytes: UInt64 = 1_048_572) throws {
        swaps.append((path, "file", kibibytes))
        try writeSwaps()
    }

    /// `proc/self/mountinfo` with the mounts so far, `/` first, then the usual virtual file systems.
    func writeMountInfo() throws {
        guard !adopted else { throw FixtureError(message: "mounts of an existing tree are fixed") }
        // proc(5): ID PARENT MAJ:MIN ROOT POINT OPTIONS OPTIONAL… - FSTYPE SOURCE SUPEROPTIONS
        let base: [(String, String, String, String)] = [
            ("/proc", "0:22", "proc", "proc"), ("/sys", "0:21", "sysfs", "sysfs"),
            ("/dev", "0:5", "devtmpfs", "udev"), ("/run", "0:24", "tmpfs", "tmpfs"),
        ]
        let rootFirst = mounts.filter { $0.point == "/" } + mounts.filter { $0.point != "/" }
        var lines: [String] = []
        var id = 21
        for (point, dev, fileSystem, source) in rootFirst.map({ ($0.point, $0.majorMinor, $0.fileSystem, $0.source) }) + base {
            let parent = point == "/" ? 1 : 21
            lines.append("\(id) \(parent) \(dev) / \(point.escapedOctal) rw,relatime shared:\(id - 20) - "
                         + "\(fileSystem) \(source.escapedOctal) rw")
            id += 1
        }
        try Files.write(system.path("proc/self/mountinfo"), lines.joined(separator: "\n") + "\n", mode: 0o444)
    }

    /// `proc/swaps` with the swaps so far (one header line, then one line a swap area).
    func writeSwaps() throws {
        guard !adopted else { throw FixtureError(message: "swaps of an existing tree are fixed") }
        // mm/swapfile.c swap_show(): the path padded to 40 columns, then tab-separated columns.
        var text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        for (index, swap) in swaps.enumerated() {
            let path = swap.path.escapedOctal
            let padding = String(repeating: " ", count: path.count < 40 ? 40 - path.count : 1)
            let kind = swap.kind == "file" ? "file\t" : "partition"
            text += "\(path)\(padding)\(kind)\t\(swap.kibibytes)\t\(swap.kibibytes < 10_000_000 ? "\t" : "")0\t\t-\(index + 2)\n"
        }
        try Files.write(system.path("proc/swaps"), text, mode: 0o444)
    }
}
