import Foundation
import ISCSIRootCore

/// `Fixtures/captures/rtnetlink/veth-root-path.txt`: rtnetlink datagrams captured by
/// `Fixtures/captures/rtnetlink/capture.py` in a network namespace of its own, step by step.
struct RouteNetlinkCapture {
    struct Step {
        /// `event`, `query` or `setup`.
        let kind: String
        /// `ip addr del 10.0.2.15/24 dev v0`, `route 10.0.2.2`, `dump links`.
        let command: String
        /// Multicast datagrams after an event step, answers after a query step.
        let datagrams: [[UInt8]]
    }

    let steps: [Step]

    init(file: String = "veth-root-path.txt") throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/captures/rtnetlink/\(file)")
        var steps: [Step] = []
        var current: (kind: String, command: String, datagrams: [[UInt8]])?
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("## ") {
                if let current { steps.append(Step(kind: current.kind, command: current.command, datagrams: current.datagrams)) }
                let words = line.dropFirst(3).split(separator: " ", maxSplits: 1)
                current = (String(words[0]), String(words[1]), [])
            } else if line.hasPrefix("event ") || line.hasPrefix("reply ") {
                let hex = Array(line.split(separator: " ")[1].utf8)
                let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
                current?.datagrams.append(bytes)
            }
        }
        if let current { steps.append(Step(kind: current.kind, command: current.command, datagrams: current.datagrams)) }
        self.steps = steps
    }

    /// The steps with this command, in order.
    func steps(_ command: String) -> [Step] {
        steps.filter { $0.command == command }
    }

    /// The messages of a step's datagrams, decoded.
    static func messages(_ step: Step) throws -> [RouteNetlinkMessage] {
        try step.datagrams.flatMap { try RouteNetlinkMessage.parse(datagram: $0) }
    }

    /// The kernel's answer to the `occurrence`-th `route ADDRESS` query, as the daemon turns it into a lookup.
    func route(_ address: String, occurrence: Int = 0) throws -> RouteLookup {
        for message in try Self.messages(steps("route \(address)")[occurrence]) {
            switch message {
            case .route(let route, _): return .route(route)
            case .error(let errno, _) where errno != 0: return .unreachable(.init(rawValue: errno))
            default: continue
            }
        }
        return .unknown("no answer in the capture")
    }

    /// The snapshot the daemon makes from the link and address dumps.
    func dumpSnapshot() throws -> NetworkSnapshot {
        NetworkSnapshot(try Self.messages(steps("dump links")[0]) + Self.messages(steps("dump addresses")[0]))
    }
}
