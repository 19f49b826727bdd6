/// The interface the kernel routes an address through, from `/proc/net/route` (IPv4) and
/// `/proc/net/ipv6_route` (IPv6): the longest matching prefix, then the lowest metric.
/// Only the main table is there; loopback addresses are `lo` by definition.
struct RouteTable: Sendable {
    struct Route: Sendable, Hashable {
        let interface: String
        let destination: [UInt8]
        let prefixLength: Int
        let metric: Int
    }

    let routes: [Route]

    init(routes: [Route]) {
        self.routes = routes
    }

    init(system: FileTree) {
        var routes: [Route] = []
        if case .success(let text) = system.read("proc/net/route") { routes += Self.parseIPv4(text) }
        if case .success(let text) = system.read("proc/net/ipv6_route") { routes += Self.parseIPv6(text) }
        self.routes = routes
    }

    /// The outgoing interface for `address` (dotted quad or IPv6 text); nil when no route matches.
    func interface(for address: String) -> String? {
        guard let bytes = IPAddress.parse(address) else { return nil }
        if bytes.count == 4 && bytes[0] == 127 || bytes == IPAddress.ipv6Loopback { return "lo" }
        return routes
            .filter { $0.destination.count == bytes.count && IPAddress.matches(bytes, $0.destination, prefix: $0.prefixLength) }
            .min { ($0.prefixLength, -$0.metric) > ($1.prefixLength, -$1.metric) }?
            .interface
    }

    /// `eth0  0002A8C0  00000000  0001  0  0  100  00FFFFFF ...`: addresses in host byte order
    /// (little-endian on every Linux port this runs on).
    static func parseIPv4(_ text: String) -> [Route] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(bounded: fields[1], in: 0...UInt32.max, radix: 16),
                  let flags = Int(bounded: fields[3], in: 0...0xFFFF_FFFF, radix: 16), flags & 1 == 1,
                  let metric = Int(bounded: fields[6], in: 0...Int(UInt32.max)),
                  let mask = UInt32(bounded: fields[7], in: 0...UInt32.max, radix: 16) else { return nil }
            return Route(interface: String(fields[0]), destination: littleEndianBytes(destination),
                         prefixLength: mask.nonzeroBitCount, metric: metric)
        }
    }

    /// `fd00…0000 40 <src> 00 <next hop> 00000100 refcnt use flags eth0`.
    static func parseIPv6(_ text: String) -> [Route] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            // A prefix length beyond 128 (or negative) would index past the address: no route.
            guard fields.count >= 10, let prefix = Int(bounded: fields[1], in: 0...128, radix: 16),
                  let metric = Int(bounded: fields[5], in: 0...0xFFFF_FFFF, radix: 16),
                  let flags = Int(bounded: fields[8], in: 0...0xFFFF_FFFF, radix: 16), flags & 1 == 1
            else { return nil }
            let hex = Array(fields[0].utf8)
            guard hex.count == 32 else { return nil }
            var destination: [UInt8] = []
            for index in stride(from: 0, to: 32, by: 2) {
                guard let byte = UInt8(bounded: String(decoding: hex[index..<index + 2], as: UTF8.self),
                                       in: 0...255, radix: 16) else { return nil }
                destination.append(byte)
            }
            return Route(interface: String(fields[9]), destination: destination, prefixLength: prefix, metric: metric)
        }
    }

    static func littleEndianBytes(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

/// IP address text to bytes, and prefix matching.
enum IPAddress {
    static let ipv6Loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]

    /// 4 bytes for `10.0.0.1`, 16 for `fd00::1` (brackets allowed); nil for anything else.
    static func parse(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let bytes = parts.compactMap { UInt8($0) }
            return parts.count == 4 && bytes.count == 4 ? bytes : nil
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            let words = part.split(separator: ":", omittingEmptySubsequences: false)
            let values = words.compactMap { $0.count <= 4 ? UInt16($0, radix: 16) : nil }
            return values.count == words.count ? values : nil
        }
        guard let head = groups(halves[0]), let tail = halves.count == 2 ? groups(halves[1]) : [] else { return nil }
        let missing = 8 - head.count - tail.count
        guard halves.count == 2 ? missing >= 1 : missing == 0 else { return nil }
        let words = head + Array(repeating: 0, count: halves.count == 2 ? missing : 0) + tail
        return words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    static func matches(_ address: [UInt8], _ network: [UInt8], prefix: Int) -> Bool {
        for bit in 0..<max(0, min(prefix, address.count * 8, network.count * 8)) {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if address[bit / 8] & mask != network[bit / 8] & mask { return false }
        }
        return true
    }
}

extension Substring {
    /// Splits on a multi-character separator (Foundation-free `components(separatedBy:)`).
    func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.range(of: separator) {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
