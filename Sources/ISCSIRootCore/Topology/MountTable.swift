/// One line of `/proc/self/mountinfo` (proc(5)): what is mounted where, from which device.
public struct MountEntry: Sendable, Hashable {
    /// `8:2`; `0:N` for file systems without a block device (btrfs subvolumes, tmpfs).
    public let majorMinor: String
    public let mountPoint: String
    public let fileSystem: String
    /// The mount source, e.g. `/dev/sda2` or `/dev/root`.
    public let source: String
    /// The super options as mountinfo writes them (`rw,lowerdir=/run/rootfsbase,…`), each file
    /// system's own escapes left in: `OverlayLayers` reads an overlay's layers from them.
    public let superOptions: String
    /// The mount is read-only (`ro` among its per-mount options, mountinfo's sixth field).
    public let readOnly: Bool

    public init(majorMinor: String, mountPoint: String, fileSystem: String, source: String, superOptions: String = "",
                readOnly: Bool = false) {
        self.majorMinor = majorMinor
        self.mountPoint = mountPoint
        self.fileSystem = fileSystem
        self.source = source
        self.superOptions = superOptions
        self.readOnly = readOnly
    }

    /// Parses `/proc/self/mountinfo`; lines that do not fit the format are skipped.
    public static func parseMountInfo(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count
            else { return nil }
            return MountEntry(majorMinor: String(fields[2]), mountPoint: unescapeOctal(fields[4]),
                              fileSystem: String(fields[dash + 1]), source: unescapeOctal(fields[dash + 2]),
                              superOptions: dash + 3 < fields.count ? String(fields[dash + 3]) : "",
                              readOnly: fields[5].split(separator: ",").contains("ro"))
        }
    }
}

/// One active swap area from `/proc/swaps`.
public struct SwapEntry: Sendable, Hashable {
    /// `/dev/sda3`, `/dev/dm-1` or a swap file's path.
    public let path: String
    /// `partition` or `file`.
    public let kind: String

    public init(path: String, kind: String) {
        self.path = path
        self.kind = kind
    }

    /// Parses `/proc/swaps`, skipping its header.
    public static func parseSwaps(_ text: String) -> [SwapEntry] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { return nil }
            return SwapEntry(path: unescapeOctal(fields[0]), kind: String(fields[1]))
        }
    }
}

/// The kernel writes space, tab, newline and backslash in paths as `\040`-style octal escapes.
func unescapeOctal(_ field: Substring) -> String {
    guard field.contains("\\") else { return String(field) }
    var bytes: [UInt8] = []
    let utf8 = Array(field.utf8)
    var index = 0
    while index < utf8.count {
        if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count {
            let digits = utf8[(index + 1)...(index + 3)]
            if digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                if value < 256 {
                    bytes.append(UInt8(value))
                    index += 4
                    continue
                }
            }
        }
        bytes.append(utf8[index])
        index += 1
    }
    return String(decoding: bytes, as: UTF8.self)
}
