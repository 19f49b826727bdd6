/// A configuration error, always naming the file and line.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the error concerns the whole file (unreadable).
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads the configuration the systemd way: `/etc/iscsi-rootd.conf`, then every
/// `/etc/iscsi-rootd.conf.d/*.conf` in lexical order, later files winning key by key.
public struct ConfigLoader: Sendable {
    public static let mainFile = "etc/iscsi-rootd.conf"
    public static let dropInDirectory = "etc/iscsi-rootd.conf.d"

    /// The system root the files are read under (`--root`).
    public let system: FileTree

    public init(system: FileTree) {
        self.system = system
    }

    /// The files that make up the configuration, in the order they apply. With `explicitFile`
    /// (`--config F`, an absolute path not under the root) only that file is read.
    public func files(explicitFile: String? = nil) -> [String] {
        if let explicitFile { return [explicitFile] }
        var files: [String] = []
        // Any entry counts: a dangling link, a loop or a directory is an error, as in a drop-in.
        if system.hasEntry(Self.mainFile) { files.append(system.path(Self.mainFile)) }
        let dropIns = system.list(Self.dropInDirectory).filter { $0.hasSuffix(".conf") }.sorted()
        files += dropIns.map { system.path("\(Self.dropInDirectory)/\($0)") }
        return files
    }

    /// The defaults overlaid with every file; the first error stops loading.
    public func load(explicitFile: String? = nil) throws(ConfigError) -> Configuration {
        var configuration = Configuration()
        for file in files(explicitFile: explicitFile) {
            let text: String
            switch FileTree.absolute.read(file) {
            case .success(let contents): text = contents
            case .failure(let error): throw ConfigError(file: file, line: 0, message: "cannot read: \(error.reason)")
            }
            try ConfigParser.apply(text, file: file, to: &configuration)
        }
        return configuration
    }
}

/// The INI dialect of systemd unit files: `[Section]`, `Key=Value`, `#`/`;` comments.
enum ConfigParser {
    /// One key: its name and what its value sets (or the error, through `fail`).
    struct Key: Sendable {
        let name: String
        let apply: @Sendable (_ value: String, _ configuration: inout Configuration, _ fail: (String) -> ConfigError)
            throws(ConfigError) -> Void
    }

    /// Every section and key there is, in the order the errors list them: the one table.
    static let sections: [(name: String, keys: [Key])] = [
        ("Disk", [
            Key(name: "Timeout") { value, configuration, fail throws(ConfigError) in
                guard let seconds = Int(bounded: value, in: Configuration.timeoutRange) else {
                    throw fail("Timeout= wants whole seconds from \(Configuration.timeoutRange.lowerBound) to \(Configuration.timeoutRange.upperBound), got '\(value)'")
                }
                configuration.disk.timeout = seconds
            },
            Key(name: "Scheduler") { value, configuration, fail throws(ConfigError) in
                guard !value.isEmpty, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
                else { throw fail("Scheduler= wants a scheduler name such as none or mq-deadline, got '\(value)'") }
                configuration.disk.scheduler = value
            },
            Key(name: "Types") { value, configuration, fail throws(ConfigError) in
                let words = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
                let types = words.compactMap { Int(bounded: $0, in: Configuration.scsiTypeRange) }
                guard !words.isEmpty, types.count == words.count else {
                    throw fail("Types= wants SCSI peripheral types \(Configuration.scsiTypeRange.lowerBound) to \(Configuration.scsiTypeRange.upperBound) separated by spaces, got '\(value)'")
                }
                configuration.disk.types = Set(types)
            },
            Key(name: "VerifyInterval") { value, configuration, fail throws(ConfigError) in
                configuration.verifyInterval = try duration(value, key: "VerifyInterval", fail: fail)
            },
            Key(name: "StallThreshold") { value, configuration, fail throws(ConfigError) in
                configuration.stallThreshold = try duration(value, key: "StallThreshold", fail: fail)
            },
        ]),
        ("Session", [
            Key(name: "RecoveryTimeout") { value, configuration, fail throws(ConfigError) in
                guard let policy = RecoveryTimeoutPolicy(configValue: value) else {
                    throw fail("RecoveryTimeout= wants whole seconds from 1 to \(Configuration.maximumRecoveryTimeout), 'off' or 'keep', got '\(value)'")
                }
                configuration.recoveryTimeout = policy
            },
        ]),
        ("Metrics", [
            Key(name: "TextfileDirectory") { value, configuration, fail throws(ConfigError) in
                configuration.textfileDirectory = try textfileDirectory(value, fail: fail)
            },
        ]),
    ]

    /// `[Disk], [Session] or [Metrics]`.
    static var sectionList: String {
        let names = sections.map { "[\($0.name)]" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    static func apply(_ text: String, file: String, to configuration: inout Configuration) throws(ConfigError) {
        var section: (name: String, keys: [Key])?
        for (index, rawLine) in text.textLines.enumerated() {
            let line = rawLine.trimmingWhitespace
            let number = index + 1
            func fail(_ message: String) -> ConfigError { ConfigError(file: file, line: number, message: message) }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else { throw fail("malformed section header '\(line)'") }
                let name = String(line.dropFirst().dropLast())
                guard let known = sections.first(where: { $0.name == name }) else {
                    throw fail("unknown section [\(name)]; known: \(sections.map { "[\($0.name)]" }.joined(separator: ", "))")
                }
                section = known
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected Key=Value, got '\(line)'") }
            let key = line[..<equals].trimmingWhitespace
            let value = line[line.index(after: equals)...].trimmingWhitespace
            guard let section else { throw fail("'\(key)=' outside a section; put it under \(sectionList)") }
            guard let known = section.keys.first(where: { $0.name == key }) else {
                throw fail("unknown key '\(key)' in [\(section.name)]; known: \(section.keys.map { "\($0.name)=" }.joined(separator: ", "))")
            }
            try known.apply(value, &configuration, fail)
        }
    }

    /// An absolute directory path without `.`/`..` parts or control characters; empty: off.
    static func textfileDirectory(_ value: String, fail: (String) -> ConfigError) throws(ConfigError) -> String? {
        if value.isEmpty { return nil }
        let parts = value.split(separator: "/")
        guard value.hasPrefix("/"), !parts.isEmpty, !parts.contains(where: { $0 == "." || $0 == ".." }),
              !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw fail("TextfileDirectory= wants an absolute directory such as /var/lib/prometheus/node-exporter (empty: off), got '\(value)'")
        }
        return "/" + parts.joined(separator: "/")
    }

    static func duration(_ value: String, key: String, fail: (String) -> ConfigError) throws(ConfigError) -> Duration {
        guard let seconds = parseSeconds(value), seconds > .zero else {
            throw fail("\(key)= wants seconds above 0 and at most \(Configuration.maximumInterval.wholeSeconds) (fractions allowed), got '\(value)'")
        }
        return seconds
    }
}

extension RecoveryTimeoutPolicy {
    /// Parses `86400`, `off` or `keep`.
    public init?(configValue value: String) {
        switch value {
        case "off": self = .off
        case "keep": self = .keep
        default:
            guard let seconds = Int(bounded: value, in: 1...Configuration.maximumRecoveryTimeout) else { return nil }
            self = .atLeast(seconds)
        }
    }
}
