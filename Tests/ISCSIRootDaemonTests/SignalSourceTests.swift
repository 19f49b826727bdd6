import Glibc
import Testing
@testable import ISCSIRootDaemon

@Suite("SignalSource")
struct SignalSourceTests {
    @Test("SIGHUP asks for a reload, SIGTERM and SIGINT for a stop, read from the signalfd")
    func translatesSignals() throws {
        var saved = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        let source = try SignalSource()
        #expect(source.takeAll().isEmpty)
        // Directed at this thread, which now blocks them: they stay pending until read, and the
        // rest of the test process (whose other threads do not block them) is never hit.
        for signal in [SIGHUP, SIGTERM, SIGINT] {
            #expect(pthread_kill(pthread_self(), signal) == 0)
        }
        var waiting = pollfd(fd: source.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&waiting, 1, 5000) == 1)
        #expect(Set(source.takeAll()) == [.reload, .stop(signal: "SIGTERM"), .stop(signal: "SIGINT")])
        #expect(source.takeAll().isEmpty)
    }
}
