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
    /// Masked: systemd says so, or the fragment is empty (a link to /dev/null reads empty).
    let isMasked: Bool

    init(name: String, fragment: UnitFile?, dropIns: [UnitFile], masked: Bool? = nil) {
        self.name = name
        self.fragment = fragment
        self.dropIns = dropIns
        isMasked = masked ?? fragment?.isEmpty ?? false
    }

    var files: [UnitFile] { (fragment.map { [$0] } ?? []) + dropIns }

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

/// Whether a unit starts at boot, and what says so (for the audit's detail).
struct UnitEnablement: Sendable, Hashable {
    let enabled: Bool
    let evidence: String
}

/// Reads units the way the system manager finds them: what the running systemd says about them
/// when it was asked (`systemd`), else the files of its search path under a system root.
struct UnitLookup: Sendable {
    /// systemd's system unit search path, highest precedence first (`systemd-analyze unit-paths`;
    /// `/lib` for an unmerged /usr).
    static let searchPath = [
        "etc/systemd/system.control", "run/systemd/system.control", "run/systemd/transient",
        "run/systemd/generator.early", "etc/systemd/system", "etc/systemd/system.attached", "run/systemd/system",
        "run/systemd/system.attached", "run/systemd/generator", "usr/local/lib/systemd/system",
        "usr/lib/systemd/system", "lib/systemd/system", "run/systemd/generator.late",
    ]

    let system: FileTree
    var systemd: SystemdAnswers?

    init(system: FileTree, systemd: SystemdAnswers? = nil) {
        self.system = system
        self.systemd = systemd
    }

    func load(_ name: String) -> LoadedUnit {
        if let managed = systemd?.units[name], let unit = load(name, as: managed) { return unit }
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

    /// The files systemd says it loaded the unit from; nil when one of them cannot be read here
    /// (then the search path decides).
    private func load(_ name: String, as managed: ManagedUnit) -> LoadedUnit? {
        if managed.loadState == "masked" { return LoadedUnit(name: name, fragment: nil, dropIns: [], masked: true) }
        var files: [UnitFile] = []
        for path in [managed.fragmentPath].filter({ !$0.isEmpty }) + managed.dropInPaths {
            guard case .success(let text) = system.read(path) else { return nil }
            files.append(UnitFile(path: path, text: text))
        }
        let fragment = managed.fragmentPath.isEmpty ? nil : files.first
        return LoadedUnit(name: name, fragment: fragment, dropIns: Array(files.dropFirst(fragment == nil ? 0 : 1)),
                          masked: false)
    }

    /// The systemd version: the running manager's, else from the name of its shared library
    /// (`libsystemd-shared-252.so`; Debian keeps it under /usr/lib/<multiarch triplet>/systemd).
    func systemdVersion() -> Int? {
        if let version = systemd?.version { return version }
        let multiarch = system.list("usr/lib").filter { $0.contains(text: "-linux-") }.sorted().map { "usr/lib/\($0)/systemd" }
        for directory in ["usr/lib/systemd", "lib/systemd", "usr/lib64/systemd"] + multiarch {
            for file in system.list(directory) where file.hasPrefix("libsystemd-shared-") && file.hasSuffix(".so") {
                let digits = file.dropFirst("libsystemd-shared-".count).dropLast(3).prefix(while: \.isNumber)
                if let version = Int(digits) { return version }
            }
        }
        return nil
    }

    /// Whether a unit is enabled: systemd's `UnitFileState` (enabled, enabled-runtime), else a link of
    /// that name in some `*.wants/` or `*.requires/` directory of the search path.
    func enablement(_ name: String) -> UnitEnablement {
        if let state = systemd?.units[name]?.unitFileState {
            return UnitEnablement(enabled: ["enabled", "enabled-runtime"].contains(state),
                                  evidence: "systemd says UnitFileState=\(state.isEmpty ? "none" : state)")
        }
        for directory in Self.searchPath {
            for entry in system.list(directory) where entry.hasSuffix(".wants") || entry.hasSuffix(".requires") {
                if system.list("\(directory)/\(entry)").contains(name) {
                    return UnitEnablement(enabled: true, evidence: "link /\(directory)/\(entry)/\(name)")
                }
            }
        }
        return UnitEnablement(enabled: false, evidence: "no link in a .wants/ or .requires/ directory of the unit search path")
    }

    func isEnabled(_ name: String) -> Bool { enablement(name).enabled }
}

/// systemd's boolean words (`parse_boolean()`).
func systemdBoolean(_ text: String?) -> Bool? {
    switch text?.lowercased() {
    case "1", "yes", "y", "true", "t", "on": true
    case "0", "no", "n", "false", "f", "off": false
    default: nil
    }
}
