import Glibc
import SystemPackage

/// `/etc/multipath.conf` and `/etc/multipath/conf.d/*.conf` (multipath.conf(5)): sections in braces,
/// one `keyword value` a line, values optionally in double quotes, `#` and `!` comments.
/// Read for one question: does a map queue when no path is left?
public struct MultipathConf: Sendable, Hashable {
    /// A `keyword value` line.
    struct Setting: Sendable, Hashable {
        let key: String
        let value: String
        /// `/etc/multipath.conf:12`.
        let location: String
    }

    /// A section or subsection (`defaults`, `devices` › `device`, `multipaths` › `multipath`).
    struct Section: Sendable, Hashable {
        let name: String
        var settings: [Setting] = []
        var children: [Section] = []

        func value(_ key: String) -> Setting? { settings.last { $0.key == key } }
    }

    /// The top-level sections of every file, in reading order.
    let sections: [Section]
    /// The files read; empty when there is no multipath.conf.
    public let files: [String]
    /// Lines that could not be understood, as `file:line: reason`.
    public let problems: [String]
    /// Files that exist but could not be read, as `file: cannot read: reason`.
    public let unreadable: [String]

    /// Reads `etc/multipath.conf`, then `etc/multipath/conf.d/*.conf` in lexical order (multipath-tools'
    /// default `config_dir`).
    public static func load(from system: FileTree) -> MultipathConf {
        var sections: [Section] = []
        var files: [String] = []
        var problems: [String] = []
        var unreadable: [String] = []
        let directory = "etc/multipath/conf.d"
        let paths = ["etc/multipath.conf"] + system.list(directory).filter { $0.hasSuffix(".conf") }.sorted()
            .map { "\(directory)/\($0)" }
        for path in paths {
            switch system.read(path) {
            case .success(let text):
                files.append("/\(path)")
                let parsed = parse(text, file: "/\(path)")
                sections += parsed.sections
                problems += parsed.problems
            case .failure(let error) where error.errno == .noSuchFileOrDirectory && error.detail == nil:
                continue
            case .failure(let error):
                files.append("/\(path)")
                unreadable.append("/\(path): cannot read: \(error.reason)")
            }
        }
        return MultipathConf(sections: sections, files: files, problems: problems, unreadable: unreadable)
    }

    init(sections: [Section], files: [String], problems: [String], unreadable: [String]) {
        self.sections = sections
        self.files = files
        self.problems = problems
        self.unreadable = unreadable
    }

    /// Parses one file into its top-level sections.
    static func parse(_ text: String, file: String) -> (sections: [Section], problems: [String]) {
        var stack: [Section] = [Section(name: "")]
        var problems: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let location = "\(file):\(index + 1)"
            var tokens = tokenize(line)
            while !tokens.isEmpty {
                if tokens[0] == "}" {
                    tokens.removeFirst()
                    guard stack.count > 1 else { problems.append("\(location): '}' without a section"); continue }
                    let closed = stack.removeLast()
                    stack[stack.count - 1].children.append(closed)
                } else if tokens.count >= 2, tokens[1] == "{" {
                    // multipath.conf nests two deep (devices › device); deeper is not multipath.conf.
                    guard stack.count <= maximumDepth else {
                        problems.append("\(location): sections nested deeper than \(maximumDepth); the rest of \(file) is ignored")
                        return (closeAll(stack), problems)
                    }
                    stack.append(Section(name: tokens[0]))
                    tokens.removeFirst(2)
                } else {
                    let key = tokens.removeFirst()
                    var words: [String] = []
                    while let next = tokens.first, next != "}" { words.append(tokens.removeFirst()) }
                    if stack.count == 1 {
                        problems.append("\(location): '\(key)' outside a section")
                    } else {
                        stack[stack.count - 1].settings.append(Setting(key: key, value: words.joined(separator: " "),
                                                                       location: location))
                    }
                }
            }
        }
        if stack.count > 1 { problems.append("\(file): section '\(stack[stack.count - 1].name)' is not closed") }
        return (closeAll(stack), problems)
    }

    static let maximumDepth = 4

    /// Closes every open section; the top-level sections.
    static func closeAll(_ open: [Section]) -> [Section] {
        var stack = open
        while stack.count > 1 {
            let closed = stack.removeLast()
            stack[stack.count - 1].children.append(closed)
        }
        return stack[0].children
    }

    /// Words, double-quoted strings (quotes removed) and braces; a comment ends the line.
    static func tokenize(_ line: Substring) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var inToken = false
        func flush() {
            if inToken { tokens.append(current) }
            current = ""
            inToken = false
        }
        for character in line {
            if quoted {
                if character == "\"" { quoted = false } else { current.append(character) }
                continue
            }
            switch character {
            case "\"": quoted = true; inToken = true
            case "#", "!": flush(); return tokens
            case " ", "\t", "\r": flush()
            case "{", "}": flush(); tokens.append(String(character))
            default: current.append(character); inToken = true
            }
        }
        flush()
        return tokens
    }

    /// Whether a map queues with no path left, by multipath-tools' precedence (libmultipath/propsel.c):
    /// `no_path_retry` from the map's `multipaths` entry, then `overrides`, then the matching `devices`
    /// entries (the last one first), then `defaults`; when none sets it, a `features` string holding
    /// `queue_if_no_path` (same precedence) means queue. A number N queues for N checker intervals
    /// only, then fails: not queueing in the sense that matters for `/`.
    public func queueing(wwid: String, vendor: String?, product: String?) -> MultipathQueueing {
        if files.isEmpty {
            return MultipathQueueing(queues: nil, detail: "no /etc/multipath.conf: multipath-tools' built-in hardware table decides (not known here)")
        }
        let levels = precedence(wwid: wwid, vendor: vendor, product: product)
        for (level, section) in levels {
            guard let setting = section.value("no_path_retry") else { continue }
            let where_ = "\(setting.location), \(level)"
            switch setting.value {
            case "queue": return MultipathQueueing(queues: true, detail: "no_path_retry queue (\(where_))")
            case "fail", "0": return MultipathQueueing(queues: false, detail: "no_path_retry \(setting.value) (\(where_))")
            default:
                if let count = Int(bounded: setting.value, in: 1...Int(Int32.max)) {
                    return MultipathQueueing(queues: false, detail: "no_path_retry \(count) (\(where_)): queues for \(count) checker intervals, then fails I/O")
                }
                return MultipathQueueing(queues: nil, detail: "no_path_retry '\(setting.value)' not understood (\(where_))")
            }
        }
        for (level, section) in levels {
            guard let setting = section.value("features") else { continue }
            let queues = setting.value.split(separator: " ").contains("queue_if_no_path")
            return MultipathQueueing(queues: queues, detail: "features \"\(setting.value)\" (\(setting.location), \(level))")
        }
        return MultipathQueueing(queues: nil, detail: "neither no_path_retry nor features is set in \(files.joined(separator: ", ")): multipath-tools' built-in hardware table decides (not known here)"
                                 + unreadable.map { "; \($0)" }.joined())
    }

    /// A setting of the `defaults` sections (the last one read wins).
    func defaultsValue(_ key: String) -> Setting? {
        sections.filter { $0.name == "defaults" }.compactMap { $0.value(key) }.last
    }

    /// The sections that apply to a map, highest precedence first, each with its name for messages.
    func precedence(wwid: String, vendor: String?, product: String?) -> [(String, Section)] {
        var levels: [(String, Section)] = []
        let multipaths = sections.filter { $0.name == "multipaths" }.flatMap(\.children).filter { $0.name == "multipath" }
        if let entry = multipaths.first(where: { $0.value("wwid")?.value == wwid }) {
            levels.append(("multipaths section, wwid \(wwid)", entry))
        }
        for section in sections.reversed() where section.name == "overrides" { levels.append(("overrides", section)) }
        let devices = sections.filter { $0.name == "devices" }.flatMap(\.children).filter { $0.name == "device" }
        for device in devices.reversed() where Self.matches(device, vendor: vendor, product: product) {
            levels.append(("devices section, \(device.value("vendor")?.value ?? "?")/\(device.value("product")?.value ?? "?")", device))
        }
        for section in sections.reversed() where section.name == "defaults" { levels.append(("defaults", section)) }
        return levels
    }

    /// A `device` entry's `vendor` and `product` are POSIX extended regular expressions matched
    /// anywhere in the path's INQUIRY strings, as libmultipath's hwe_regmatch compiles them
    /// (`regcomp` with REG_EXTENDED | REG_NOSUB); a missing one matches anything.
    static func matches(_ device: Section, vendor: String?, product: String?) -> Bool {
        func match(_ key: String, _ text: String?) -> Bool {
            guard let pattern = device.value(key)?.value else { return true }
            guard let text else { return false }
            var regex = regex_t()
            guard regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB) == 0 else { return false }
            defer { regfree(&regex) }
            return regexec(&regex, text, 0, nil, 0) == 0
        }
        return match("vendor", vendor) && match("product", product)
    }
}
