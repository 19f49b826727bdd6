/// Where an event source's thread delivers: `deliver` puts one element into the consumer's inbox
/// and says whether there was room. An element the inbox has no room for is replaced by one
/// `overflow` element, delivered as soon as there is room again, so a consumer that falls behind
/// learns that it must rescan instead of silently missing events.
final class SourceOutlet<Element: Sendable> {
    private let deliver: (Element) -> Bool
    private let overflow: Element
    /// An overflow element waits for room: the thread should call `flushOverflow()` soon.
    private(set) var overflowPending = false

    init(overflow: Element, deliver: @escaping (Element) -> Bool) {
        self.deliver = deliver
        self.overflow = overflow
    }

    func send(_ element: Element) {
        if overflowPending { flushOverflow() }
        if overflowPending { return }
        overflowPending = !deliver(element)
    }

    func flushOverflow() {
        overflowPending = !deliver(overflow)
    }

    /// How long the thread may block in `poll` before retrying a pending overflow element.
    var pollTimeoutMilliseconds: Int32 {
        overflowPending ? 50 : -1
    }
}
