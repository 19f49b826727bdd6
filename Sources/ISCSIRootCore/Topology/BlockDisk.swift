/// The whole-disk block device of a SCSI disk (`…/H:C:T:L/block/sdX`).
public struct BlockDisk: Sendable, Hashable {
    /// `sdX` of `…/H:C:T:L/block/sdX` (the first name in `block/` when there are several).
    public let name: String
    /// `…/block/sdX/queue/scheduler`.
    public let scheduler: Reading<Scheduler>
    /// The entries `sdXN` of `…/block/sdX/` that have a `partition` file, sorted.
    public let partitions: [String]
    /// The dm-multipath map (`dm-0`) among `…/block/sdX/holders/`, when the disk is a path of one.
    public let multipathHolder: String?

    public init(name: String, scheduler: Reading<Scheduler>, partitions: [String], multipathHolder: String? = nil) {
        self.name = name
        self.scheduler = scheduler
        self.partitions = partitions
        self.multipathHolder = multipathHolder
    }
}

/// A block queue's I/O scheduler: `[mq-deadline] none` is `selected` "mq-deadline" of two offered.
public struct Scheduler: Sendable, Hashable, CustomStringConvertible {
    public let selected: String?
    public let available: [String]

    public init(selected: String?, available: [String]) {
        self.selected = selected
        self.available = available
    }

    /// Parses the `queue/scheduler` file; a lone name without brackets (`none`) is the selected one.
    public init?(sysfs text: String) {
        // On the UTF-8 bytes (brackets and blanks are ASCII): a tuner parses this file three times a disk.
        let names = text.utf8.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        guard !names.isEmpty else { return nil }
        var selected: String?
        var available: [String] = []
        for name in names {
            if name.first == UInt8(ascii: "["), name.last == UInt8(ascii: "]"), name.count > 2 {
                let inner = String(decoding: name.dropFirst().dropLast(), as: UTF8.self)
                guard selected == nil else { return nil }
                selected = inner
                available.append(inner)
            } else if name.contains(UInt8(ascii: "[")) || name.contains(UInt8(ascii: "]")) {
                return nil
            } else {
                available.append(String(decoding: name, as: UTF8.self))
            }
        }
        if selected == nil && available.count == 1 { selected = available[0] }
        guard selected != nil else { return nil }
        self.init(selected: selected, available: available)
    }

    public var description: String { selected ?? "unknown" }
}
