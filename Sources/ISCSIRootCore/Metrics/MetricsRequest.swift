/// One HTTP/1.x request to the daemon's own metrics endpoint (`iscsi-rootd-metrics.socket`), judged
/// from the bytes received so far: what a Prometheus scrape sends (`GET /metrics HTTP/1.1` and
/// headers) is answered with the exposition; anything else gets a short error. Bounded: the head
/// (request line and headers) may be at most `maximumLength` bytes, headers are not interpreted, a
/// body is never read, and every connection is closed after one answer.
public enum MetricsRequest {
    /// More than any scrape's head (Prometheus sends about 250 bytes).
    public static let maximumLength = 4096
    public static let path = "/metrics"

    public enum Outcome: Equatable, Sendable {
        /// The head is not complete yet: read more (while there is room and time).
        case incomplete
        case respond(Response)
    }

    public struct Response: Equatable, Sendable {
        public let status: Int
        public let reason: String
        /// Whether the body is the exposition (GET /metrics); else a one-line message.
        public let exposition: Bool
        /// HEAD: the head alone.
        public let headOnly: Bool

        public init(status: Int, reason: String, exposition: Bool, headOnly: Bool) {
            self.status = status
            self.reason = reason
            self.exposition = exposition
            self.headOnly = headOnly
        }

        static func error(_ status: Int, _ reason: String) -> Response {
            Response(status: status, reason: reason, exposition: false, headOnly: false)
        }
    }

    /// The outcome for `received`, the bytes read from the connection so far. A peer that closed
    /// its side before the head was complete is answered with `endOfInput`'s 400.
    public static func judge(_ received: ArraySlice<UInt8>, endOfInput: Bool = false) -> Outcome {
        guard let headEnd = headEnd(received) else {
            if received.count >= maximumLength { return .respond(.error(431, "Request Header Fields Too Large")) }
            return endOfInput ? .respond(.error(400, "Bad Request")) : .incomplete
        }
        if headEnd - received.startIndex > maximumLength { return .respond(.error(431, "Request Header Fields Too Large")) }
        let lineEnd = received[..<headEnd].firstIndex(of: 0x0A) ?? headEnd
        var line = received[received.startIndex..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        // Visible ASCII and single spaces only: no control byte, no UTF-8 from the request line ever
        // reaches a log or a reply.
        guard line.allSatisfy({ (0x20...0x7E).contains($0) }) else { return .respond(.error(400, "Bad Request")) }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return .respond(.error(400, "Bad Request")) }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version.hasPrefix("HTTP/1.") else {
            return .respond(version.hasPrefix("HTTP/") ? .error(505, "HTTP Version Not Supported") : .error(400, "Bad Request"))
        }
        guard version == "HTTP/1.0" || version == "HTTP/1.1" else { return .respond(.error(505, "HTTP Version Not Supported")) }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method == "GET" || method == "HEAD" else { return .respond(.error(405, "Method Not Allowed")) }
        // The query (Prometheus adds none by default; `?name[]=…` filters are not supported) is ignored.
        let target = parts[1].split(separator: 0x3F, maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard String(decoding: target, as: UTF8.self) == path else { return .respond(.error(404, "Not Found")) }
        return .respond(Response(status: 200, reason: "OK", exposition: true, headOnly: method == "HEAD"))
    }

    /// The index just past the blank line that ends the head (`\r\n\r\n` or `\n\n`), or nil.
    static func headEnd(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        var newlines = 0
        while index < bytes.endIndex {
            switch bytes[index] {
            case 0x0A:
                newlines += 1
                if newlines == 2 { return index + 1 }
            case 0x0D:
                break
            default:
                newlines = 0
            }
            index += 1
        }
        return nil
    }

    /// The whole answer: status line, headers, and the body (`exposition` for a 200, else the reason).
    public static func answer(_ response: Response, exposition: [UInt8]) -> [UInt8] {
        let body = response.exposition ? exposition : Array("\(response.reason)\n".utf8)
        var head = "HTTP/1.1 \(response.status) \(response.reason)\r\n"
        head += response.exposition ? "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n" : "Content-Type: text/plain; charset=utf-8\r\n"
        if response.status == 405 { head += "Allow: GET, HEAD\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + (response.headOnly ? [] : body)
    }
}
