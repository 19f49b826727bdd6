/// A process as /proc shows it: pid, `comm` and the argument vector.
struct ProcessInfo: Sendable, Hashable {
    let pid: Int
    let command: String
    let arguments: [String]

    /// systemd's root storage daemon rule: argv[0][0] == '@' exempts it from the final kill.
    var isRootStorageDaemon: Bool { arguments.first?.hasPrefix("@") ?? false }

    /// Every process of `<root>/proc` whose `comm` is `command`.
    static func named(_ command: String, in system: FileTree) -> [ProcessInfo] {
        system.list("proc").compactMap(Int.init).sorted().compactMap { pid in
            guard system.attribute("proc/\(pid)/comm").value == command else { return nil }
            let arguments: [String]
            if case .success(let text) = system.read("proc/\(pid)/cmdline") {
                arguments = text.split(separator: "\0").map(String.init)
            } else {
                arguments = []
            }
            return ProcessInfo(pid: pid, command: command, arguments: arguments)
        }
    }
}
