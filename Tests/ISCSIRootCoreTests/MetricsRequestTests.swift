import Foundation
import ISCSIRootCore
import Testing

/// The daemon's `/metrics` endpoint: what its request parser answers.
@Suite("MetricsRequest: the endpoint's bounded request parser")
struct MetricsRequestTests {
    static let scrape = try! Array(Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/captures/prometheus/scrape-request-2.42.0.bin")))

    private func judge(_ text: String, endOfInput: Bool = false) -> MetricsRequest.Outcome {
        MetricsRequest.judge(Array(text.utf8)[...], endOfInput: endOfInput)
    }

    private func status(_ text: String) -> Int? {
        if case .respond(let response) = judge(text) { return response.status }
        return nil
    }

    @Test("Prometheus's own scrape (captured) is answered with the exposition, not before its head is complete")
    func prometheusScrape() throws {
        guard case .respond(let response) = MetricsRequest.judge(Self.scrape[...]) else {
            Issue.record("the captured scrape is not answered")
            return
        }
        #expect(response.status == 200 && response.exposition && !response.headOnly)
        for cut in [0, 1, 20, Self.scrape.count - 1] {
            #expect(MetricsRequest.judge(Self.scrape[..<cut]) == .incomplete, "after \(cut) bytes")
        }
        let answer = String(decoding: MetricsRequest.answer(response, exposition: Array("up 1\n".utf8)), as: UTF8.self)
        #expect(answer == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            + "Content-Length: 5\r\nConnection: close\r\n\r\nup 1\n")
    }

    @Test("HEAD, HTTP/1.0, bare line feeds and a query are served; other paths, methods and versions are refused")
    func methodsPathsVersions() throws {
        #expect(judge("HEAD /metrics HTTP/1.0\n\n") == .respond(.init(status: 200, reason: "OK", exposition: true, headOnly: true)))
        #expect(status("GET /metrics?x=1 HTTP/1.1\r\n\r\n") == 200)
        #expect(status("GET / HTTP/1.1\r\n\r\n") == 404)
        #expect(status("GET /metricsx HTTP/1.1\r\n\r\n") == 404)
        #expect(status("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n") == 405)
        #expect(status("GET /metrics HTTP/2.0\r\n\r\n") == 505)
        #expect(status("GET /metrics HTTP/1.10\r\n\r\n") == 505)
        #expect(status("GET /metrics\r\n\r\n") == 400)
        #expect(status("GET  /metrics HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET /m\u{1B}[2J HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET /métrics HTTP/1.1\r\n\r\n") == 400)
        let refused = MetricsRequest.answer(.init(status: 405, reason: "Method Not Allowed", exposition: false, headOnly: false),
                                            exposition: Array("secret 1\n".utf8))
        let text = String(decoding: refused, as: UTF8.self)
        #expect(text.contains("Allow: GET, HEAD\r\n") && text.hasSuffix("\r\n\r\nMethod Not Allowed\n"))
    }

    @Test("a head that never ends is refused at maximumLength bytes; a peer that closes early gets 400")
    func bounds() {
        let endless = "GET /metrics HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 1000)
        let bytes = Array(endless.utf8)
        #expect(MetricsRequest.judge(bytes[..<(MetricsRequest.maximumLength - 1)]) == .incomplete)
        #expect(MetricsRequest.judge(bytes[..<MetricsRequest.maximumLength])
            == .respond(.init(status: 431, reason: "Request Header Fields Too Large", exposition: false, headOnly: false)))
        #expect(status("GET /metrics HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 700) + "\r\n") == 431)
        #expect(judge("GET /metrics HTTP/1.1\r\n", endOfInput: true)
            == .respond(.init(status: 400, reason: "Bad Request", exposition: false, headOnly: false)))
        #expect(judge("", endOfInput: true) != .incomplete)
    }
}
