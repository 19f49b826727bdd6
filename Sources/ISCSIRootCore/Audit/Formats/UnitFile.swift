/// A systemd INI file (unit, drop-in, .network): `[Section]` headers and `Key=Value` lines, `#`/`;`
/// comments, trailing-backslash continuations. Assignments are kept in file order.
struct UnitFile: Sendable, Hashable {
    struct Assignment: Sendable, Hashable {
        let section: String
        let key: String
        let value: String
    }

    let path: String
    let assignments: [Assignment]
    /// An empty file (or a link to /dev/null) masks a unit.
    let isEmpty: Bool

    init(path: String, text: String) {
        self.path = path
        isEmpty = text.trimmingWhitespace.isEmpty
        var assignments: [Assignment] = []
        var section = ""
        var pending = ""
        for rawLine in text.textLines {
            var line = pending + rawLine.trimmingWhitespace
            pending = ""
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasSuffix("\\") {
                line.removeLast()
                pending = line + " "
                continue
            }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
            } else if let equals = line.firstIndex(of: "=") {
                assignments.append(Assignment(section: section,
                                              key: line[..<equals].trimmingWhitespace,
                                              value: line[line.index(after: equals)...].trimmingWhitespace))
            }
        }
        self.assignments = assignments
    }

    func values(_ section: String, _ key: String) -> [String] {
        assignments.filter { $0.section == section && $0.key == key }.map(\.value)
    }
}

/// A unit as systemd loads it: the fragment found first on the search path, then its drop-ins
/// (one per file name, the earlier directory winning, applied in file-name order).
struct LoadedUnit: Sendable, Hashable {
    let name: String
    let fragment: UnitFile?
    let dropIns: [UnitFile]

    var files: [UnitFile] { (fragment.map { [$0] } ?? []) + dropIns }

    /// Masked: the fragment is empty (a link to /dev/null reads empty).
    var isMasked: Bool { fragment?.isEmpty ?? false }

    /// The value in effect for a single-valued setting: the last assignment wins.
    func last(_ section: String, _ key: String) -> String? {
        files.flatMap { $0.values(section, key) }.last
    }

    /// Every word of a list setting (dependencies), with the file that set it.
    func listEntries(_ section: String, _ key: String) -> [(word: String, path: String)] {
        files.flatMap { file in
            file.values(section, key).flatMap { value in
                value.split(separator: " ").map { (word: String($0), path: file.path) }
            }
        }
    }
}

/// Reads units the way the system manager finds them, under a system root.
struct UnitLookup: Sendable {
    /// systemd's system unit search path, highest precedence first (`/lib` for unmerged /usr).
    static let searchPath = ["etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"]

    let system: FileTree

    func load(_ name: String) -> LoadedUnit {
        var fragment: UnitFile?
        for directory in Self.searchPath {
            if case .success(let text) = system.read("\(directory)/\(name)") {
                fragment = UnitFile(path: "/\(directory)/\(name)", text: text)
                break
            }
        }
        var dropInsByName: [String: UnitFile] = [:]
        for directory in Self.searchPath {
            let dropInDirectory = "\(directory)/\(name).d"
            for file in system.list(dropInDirectory) where file.hasSuffix(".conf") && dropInsByName[file] == nil {
                if case .success(let text) = system.read("\(dropInDirectory)/\(file)") {
                    dropInsByName[file] = UnitFile(path: "/\(dropInDirectory)/\(file)", text: text)
                }
            }
        }
        let dropIns = dropInsByName.keys.sorted().compactMap { dropInsByName[$0] }
        return LoadedUnit(name: name, fragment: fragment, dropIns: dropIns)
    }

    /// The systemd version, from the name of its shared library (`libsystemd-shared-252.so`).
    func systemdVersion() -> Int? {
        for directory in ["usr/lib/systemd", "lib/systemd", "usr/lib64/systemd"] {
            for file in system.list(directory) where file.hasPrefix("libsystemd-shared-") && file.hasSuffix(".so") {
                let digits = file.dropFirst("libsystemd-shared-".count).dropLast(3).prefix(while: \.isNumber)
                if let version = Int(digits) { return version }
            }
        }
        return nil
    }

    /// Whether a unit is enabled: a link of that name in some `*.wants/` or `*.requires/` directory.
    func isEnabled(_ name: String) -> Bool {
        Self.searchPath.contains { directory in
            system.list(directory).contains { entry in
                (entry.hasSuffix(".wants") || entry.hasSuffix(".requires"))
                    && system.list("\(directory)/\(entry)").contains(name)
            }
        }
    }
}

/// systemd's boolean words (`parse_boolean()`).
func systemdBoolean(_ text: String?) -> Bool? {
    switch text?.lowercased() {
    case "1", "yes", "y", "true", "t", "on": true
    case "0", "no", "n", "false", "f", "off": false
    default: nil
    }
}
