import CSystemd
import Glibc
import Synchronization
import SystemPackage

/// One OS thread (not a Swift concurrency thread) that blocks in `poll(2)` on its own file
/// descriptor and on a wake `eventfd`. The event sources (udev, NETLINK_ISCSI, rtnetlink, kmsg) each
/// run on one, so their C handles are created, used and freed on that thread alone.
///
/// The thread is created with the process's default attributes, so its stack size is the one
/// `ProcessHygiene.shrinkThreadStacks` set.
final class DedicatedThread: Sendable {
    /// The pthread, for tests that direct a signal at it.
    let handle: pthread_t
    private let wake: WakeEvent
    private let joined = Mutex(false)

    private init(handle: pthread_t, wake: WakeEvent) {
        self.handle = handle
        self.wake = wake
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes) and waits until `body` calls
    /// `started` exactly once: with success, after which it runs its loop until `wake` is
    /// signalled (`WakeEvent.wait` returns `.woken`), or with the error that ends it, which is
    /// rethrown here. `wake` then belongs to the thread object, which closes it.
    static func start<Failure: Error>(
        name: String,
        wake: WakeEvent,
        body: @escaping @Sendable (_ wake: WakeEvent, _ started: (Result<Void, Failure>) -> Void) -> Void
    ) throws(Failure) -> DedicatedThread {
        let startup = Startup<Failure>()
        let context = ThreadContext(name: name) {
            body(wake) { result in startup.report(result) }
        }
        let handle: pthread_t
        switch spawn(context) {
        case .success(let created): handle = created
        case .failure(let error): fatalError("pthread_create \(name): \(error)")
        }
        let thread = DedicatedThread(handle: handle, wake: wake)
        if case .failure(let error) = startup.wait() {
            thread.stop()
            throw error
        }
        return thread
    }

    /// Asks the thread to leave its loop and waits until it has; later calls return at once.
    func stop() {
        let alreadyJoined = joined.withLock { joined in
            defer { joined = true }
            return joined
        }
        if alreadyJoined { return }
        wake.signal()
        pthread_join(handle, nil)
        wake.close()
    }

    deinit {
        stop()
    }
}

/// An event source a `DedicatedThread` polls: a descriptor that turns readable when there is
/// something to take, and a drain that takes it without blocking.
protocol PolledSource: ~Copyable, SendableMetatype {
    associatedtype Event: Sendable
    var descriptor: Int32 { get }
    /// Takes what is queued (the descriptor is non-blocking) and sends it to `outlet`.
    mutating func drain(into outlet: SourceOutlet<Event>)
}

extension DedicatedThread {
    /// The start-up handshake and loop the udev monitor and the netlink listeners share: on a new
    /// thread named `name`, `open` creates the source (its error is thrown here, after which the
    /// thread is gone); then the thread waits on the source's descriptor and drains it into
    /// `deliver` until `stop()`, retrying a pending `overflow` while the consumer has no room.
    static func polling<Source: PolledSource & ~Copyable, Failure: Error>(
        name: String, overflow: Source.Event, deliver: @escaping @Sendable (Source.Event) -> Bool,
        wakeEventFailure: (Errno) -> Failure, open: @escaping @Sendable () throws(Failure) -> Source
    ) throws(Failure) -> DedicatedThread {
        let wake: WakeEvent
        do { wake = try WakeEvent() } catch { throw wakeEventFailure(error) }
        return try start(name: name, wake: wake) { (wake, started: (Result<Void, Failure>) -> Void) in
            var source: Source
            do throws(Failure) {
                source = try open()
            } catch {
                started(.failure(error))
                return
            }
            started(.success(()))
            let outlet = SourceOutlet(overflow: overflow, deliver: deliver)
            while true {
                switch wake.wait(for: source.descriptor, timeoutMilliseconds: outlet.pollTimeoutMilliseconds) {
                case .woken, .failed:
                    return
                case .timedOut:
                    outlet.flushOverflow()
                case .readable:
                    source.drain(into: outlet)
                }
            }
        }
    }
}

/// An `eventfd` a dedicated thread polls next to its source: signalled once, it stays readable.
struct WakeEvent: Sendable {
    let fd: Int32

    init() throws(Errno) {
        let fd = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        if fd < 0 { throw Errno(rawValue: errno) }
        self.fd = fd
    }

    func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, MemoryLayout<UInt64>.size)
    }

    /// Clears the signal, so that the next `wait` blocks again (for an inbox, signalled per input).
    func drain() {
        var count: UInt64 = 0
        _ = read(fd, &count, MemoryLayout<UInt64>.size)
    }

    func close() {
        _ = Glibc.close(fd)
    }

    /// What a wait on the source descriptor ended with.
    enum Wait: Equatable {
        case readable
        case woken
        case timedOut
        case failed(Errno)
    }

    /// Blocks until `source` is readable (or has an error to receive), this event is signalled,
    /// or `timeoutMilliseconds` pass (-1: no timeout). A signal wins over a readable source.
    func wait(for source: Int32, timeoutMilliseconds: Int32 = -1) -> Wait {
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: source, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let ready = poll(&fds, 2, timeoutMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                return .failed(Errno(rawValue: errno))
            }
            if ready == 0 { return .timedOut }
            if fds[0].revents != 0 { return .woken }
            if fds[1].revents & Int16(POLLNVAL) != 0 { return .failed(.badFileDescriptor) }
            // POLLERR counts: a netlink socket whose buffer overflowed reports it, and the next
            // receive returns the pending ENOBUFS.
            return .readable
        }
    }
}

/// What `pthread_create` hands to the new thread.
final class ThreadContext {
    let name: String
    let body: () -> Void

    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }
}

/// The one place a thread is created: an OS thread with the process's default attributes, named
/// `context.name` (at most 15 bytes), running `context.body`. The caller joins or detaches it.
func spawn(_ context: ThreadContext) -> Result<pthread_t, Errno> {
    var handle = pthread_t()
    let retained = Unmanaged.passRetained(context).toOpaque()
    let created = pthread_create(&handle, nil, { raw in
        let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
        pthread_setname_np(pthread_self(), String(decoding: context.name.utf8.prefix(15), as: UTF8.self))
        context.body()
        return nil
    }, retained)
    if created != 0 {
        Unmanaged<ThreadContext>.fromOpaque(retained).release()
        return .failure(Errno(rawValue: created))
    }
    return .success(handle)
}

/// A POSIX semaphore owned by a Sendable class (sem_post/sem_wait are thread-safe): the one
/// way a thread here waits for another.
final class Semaphore: @unchecked Sendable {
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    init() { sem_init(semaphore, 0, 0) }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    func signal() { sem_post(semaphore) }

    func wait() { while sem_wait(semaphore) != 0 && errno == EINTR {} }
}

/// The start-up handshake: the new thread reports once, `start` waits for it.
private final class Startup<Failure: Error>: @unchecked Sendable {
    // Written by the thread before the signal, read by the starter after its wait.
    private var result: Result<Void, Failure>?
    private let semaphore = Semaphore()

    func report(_ result: Result<Void, Failure>) {
        precondition(self.result == nil, "a dedicated thread reported its start twice")
        self.result = result
        semaphore.signal()
    }

    func wait() -> Result<Void, Failure> {
        semaphore.wait()
        return result!
    }
}
