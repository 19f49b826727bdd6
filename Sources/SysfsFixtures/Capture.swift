import Foundation

/// The content of one captured sysfs attribute.
public enum CapturedContent: Sendable, Hashable {
    /// The text `cat` printed (value lines joined with newlines; trailing spaces kept).
    case text(String)
    /// A binary attribute, captured as hex bytes.
    case binary([UInt8])
    /// Reading failed; the message `cat` printed, e.g. "Invalid argument".
    case readError(String)
    /// A write-only attribute (`--w-------`).
    case writeOnly
}

/// One `--- PATH [MODE]` entry of a capture.
public struct CapturedAttribute: Sendable, Hashable {
    /// The path relative to its section's directory, e.g. `state` or `queue/scheduler`.
    public let name: String
    /// Permission bits from the `[-rw-r--r--]` column.
    public let mode: UInt16
    public let content: CapturedContent
}

/// A `===== DIR CLASSPATH -> DEVICEPATH =====` section: every attribute of one sysfs directory.
public struct CapturedDirectory: Sendable, Hashable {
    /// e.g. `/sys/class/iscsi_session/session1`.
    public let classPath: String
    /// The canonical path, e.g. `/sys/devices/platform/host2/session1/iscsi_session/session1`.
    public let devicePath: String
    public let attributes: [CapturedAttribute]

    /// The attribute called `name`, if captured.
    public func attribute(_ name: String) -> CapturedAttribute? {
        attributes.first { $0.name == name }
    }
}

/// A parsed snapshot file (`20-snapshot-logged-in.txt` and the `*-snapshot-during-fault.txt` files).
public struct Capture: Sendable {
    public let directories: [CapturedDirectory]
    /// `readlink -f of class links`: class path → canonical device path.
    public let classLinks: [String: String]
    /// `device tree under /sys/devices/platform/host*`: every listed path.
    public let deviceTree: [String]
    /// `udevadm info --attribute-walk`: device path (without `/sys`) → `ATTR{name}` → value.
    public let attributeWalk: [String: [String: String]]
    /// Every other section's lines by title (e.g. `/sys/block/sda/queue/scheduler`).
    public let sections: [String: [String]]

    /// The DIR section whose class path is `classPath`.
    public func directory(_ classPath: String) -> CapturedDirectory? {
        directories.first { $0.classPath == classPath }
    }

    /// Parses a capture; throws on lines that break the format, naming the line.
    public init(parsing text: String, name: String = "capture") throws {
        var directories: [CapturedDirectory] = []
        var sections: [String: [String]] = [:]
        var title: String?
        var body: [String] = []

        func finishSection() throws {
            guard let title else { return }
            if title.hasPrefix("DIR ") {
                directories.append(try Self.parseDirectory(title: title, lines: body, name: name))
            } else {
                sections[title] = body
            }
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("===== ") && line.hasSuffix(" =====") {
                try finishSection()
                title = String(line.dropFirst(6).dropLast(6))
                body = []
            } else {
                body.append(String(line))
            }
        }
        try finishSection()

        var classLinks: [String: String] = [:]
        for line in sections["readlink -f of class links"] ?? [] {
            let parts = line.components(separatedBy: " -> ")
            if parts.count == 2 { classLinks[parts[0]] = parts[1] }
        }
        let treeTitle = sections.keys.first { $0.hasPrefix("device tree under ") }
        let deviceTree = treeTitle.map { sections[$0]!.filter { $0.hasPrefix("/") } } ?? []
        let walkTitle = sections.keys.first { $0.hasPrefix("udevadm info --attribute-walk") }
        let attributeWalk = walkTitle.map { Self.parseAttributeWalk(sections[$0]!) } ?? [:]

        self.directories = directories
        self.classLinks = classLinks
        self.deviceTree = deviceTree
        self.attributeWalk = attributeWalk
        self.sections = sections
    }

    private static func parseDirectory(title: String, lines: [String], name: String) throws -> CapturedDirectory {
        let paths = title.dropFirst(4).components(separatedBy: " -> ")
        guard paths.count == 2 else { throw CaptureError(file: name, message: "bad DIR header '\(title)'") }
        let classPath = paths[0]
        var attributes: [CapturedAttribute] = []
        var header: (path: String, mode: UInt16, note: String)?
        var values: [String] = []

        func finishAttribute() throws {
            guard let current = header else { return }
            guard current.path.hasPrefix(classPath + "/") else {
                throw CaptureError(file: name, message: "\(current.path) is outside \(classPath)")
            }
            let relative = String(current.path.dropFirst(classPath.count + 1))
            attributes.append(CapturedAttribute(name: relative, mode: current.mode,
                                                content: try content(note: current.note, values: values, name: name)))
            header = nil
            values = []
        }

        for line in lines {
            if line.hasPrefix("--- /") {
                try finishAttribute()
                guard let open = line.lastIndex(of: "["), let close = line.lastIndex(of: "]"), open < close else {
                    throw CaptureError(file: name, message: "bad attribute line '\(line)'")
                }
                let path = String(line[line.index(line.startIndex, offsetBy: 4)..<open]).trimming(" ")
                let mode = try permissionBits(String(line[line.index(after: open)..<close]), name: name)
                let note = String(line[line.index(after: close)...]).trimming(" ")
                header = (path, mode, note)
            } else if line.isEmpty {
                try finishAttribute()
            } else if header != nil {
                values.append(line)
            }
        }
        try finishAttribute()
        return CapturedDirectory(classPath: classPath, devicePath: paths[1], attributes: attributes)
    }

    private static func content(note: String, values: [String], name: String) throws -> CapturedContent {
        if note == "(not readable)" { return .writeOnly }
        if note.hasPrefix("(binary") {
            var bytes: [UInt8] = []
            for token in values.joined(separator: " ").split(separator: " ") {
                guard let byte = UInt8(token, radix: 16) else {
                    throw CaptureError(file: name, message: "bad hex byte '\(token)'")
                }
                bytes.append(byte)
            }
            return .binary(bytes)
        }
        // `cat: '/sys/…/access_state': Invalid argument` (quoted when the path has a colon).
        if values.count == 1, values[0].hasPrefix("cat: "), let colon = values[0].range(of: ": ", options: .backwards) {
            return .readError(String(values[0][colon.upperBound...]))
        }
        return .text(values.joined(separator: "\n"))
    }

    private static func permissionBits(_ column: String, name: String) throws -> UInt16 {
        let flags = Array(column.utf8)
        guard flags.count == 10 else { throw CaptureError(file: name, message: "bad mode '\(column)'") }
        var bits: UInt16 = 0
        for (index, flag) in flags.dropFirst().enumerated() where flag != UInt8(ascii: "-") {
            bits |= 1 << (8 - index)
        }
        return bits
    }

    /// `looking at device '/devices/…':` followed by `ATTR{name}=="value"` lines.
    private static func parseAttributeWalk(_ lines: [String]) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        var device: String?
        for raw in lines {
            let line = raw.trimming(" ")
            if line.hasPrefix("looking at"), let first = line.firstIndex(of: "'"), let last = line.lastIndex(of: "'"), first < last {
                device = String(line[line.index(after: first)..<last])
            } else if let device, line.hasPrefix("ATTR"), let open = line.firstIndex(of: "{"),
                      let close = line.firstIndex(of: "}"), let equals = line.range(of: "==\"") {
                let key = String(line[line.index(after: open)..<close])
                let value = String(line[equals.upperBound...].dropLast())
                result[device, default: [:]][key] = value
            }
        }
        return result
    }
}

/// A capture that does not have the expected shape.
public struct CaptureError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

extension String {
    func trimming(_ character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
