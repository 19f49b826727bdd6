import Glibc
import Testing
@testable import ISCSIRootDaemon

@Suite("SignalSource")
struct SignalSourceTests {
    @Test("SIGHUP, SIGTERM and SIGINT arrive through the stream")
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
        var received: [Int32] = []
        for await signal in source.events {
            received.append(signal)
            if received.count == 3 { break }
        }
        watchdog.cancel()
        source.stop()
        #expect(received.sorted() == [SIGHUP, SIGINT, SIGTERM])
    }

    @Test("stop() finishes the stream")
    func stopFinishes() async throws {
        let source = try SignalSource()
        source.stop()
        var count = 0
        for await _ in source.events { count += 1 }
        #expect(count == 0)
    }
}
