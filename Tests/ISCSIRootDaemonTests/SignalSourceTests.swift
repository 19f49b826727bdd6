import Glibc
import Testing
@testable import ISCSIRootDaemon

@Suite("SignalSource")
struct SignalSourceTests {
    @Test("SIGHUP asks for a reload, SIGTERM and SIGINT for a stop")
    func translatesSignals() async throws {
        let source = try SignalSource()
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(20))
            source.stop()
        }
        // Directed at the signal thread, which blocks them: the rest of the test process (whose
        // other threads do not) is never hit.
        for signal in [SIGHUP, SIGTERM, SIGINT] {
            #expect(pthread_kill(source.thread.handle, signal) == 0)
        }
        var received: [SignalRequest] = []
        for await request in source.requests {
            received.append(request)
            if received.count == 3 { break }
        }
        watchdog.cancel()
        source.stop()
        #expect(Set(received) == [.reload, .stop(signal: "SIGTERM"), .stop(signal: "SIGINT")])
    }

    @Test("stop() finishes the stream")
    func stopFinishes() async throws {
        let source = try SignalSource()
        source.stop()
        var count = 0
        for await _ in source.requests { count += 1 }
        #expect(count == 0)
    }
}
