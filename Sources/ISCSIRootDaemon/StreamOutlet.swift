/// Feeds an `AsyncStream` with a bounded buffer from a dedicated thread. Elements the buffer has
/// no room for are replaced by one `overflow` element, delivered as soon as there is room again,
/// so a consumer that falls behind learns that it must rescan instead of silently missing events.
final class StreamOutlet<Element: Sendable> {
    private let continuation: AsyncStream<Element>.Continuation
    private let overflow: Element
    /// An overflow element waits for room: the thread should call `flushOverflow()` soon.
    private(set) var overflowPending = false
    /// The consumer stopped listening: the thread can end.
    private(set) var consumerGone = false

    init(_ continuation: AsyncStream<Element>.Continuation, overflow: Element) {
        self.continuation = continuation
        self.overflow = overflow
    }

    func send(_ element: Element) {
        if overflowPending { flushOverflow() }
        if overflowPending { return }
        record(continuation.yield(element))
    }

    func flushOverflow() {
        overflowPending = false
        record(continuation.yield(overflow))
    }

    private func record(_ result: AsyncStream<Element>.Continuation.YieldResult) {
        switch result {
        case .enqueued: break
        case .dropped: overflowPending = true
        case .terminated: consumerGone = true
        @unknown default: break
        }
    }

    /// How long the thread may block in `poll` before retrying a pending overflow element.
    var pollTimeoutMilliseconds: Int32 {
        overflowPending ? 50 : -1
    }
}
