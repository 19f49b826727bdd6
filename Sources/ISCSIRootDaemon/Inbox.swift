import Synchronization
import SystemPackage

/// The event loop's inbox: any thread puts inputs in, the loop's own thread takes them all at once
/// after sleeping in `poll(2)` on `event` until one arrives or its next deadline passes. So a quiet
/// daemon wakes only for its own timer, never through Swift's concurrency pool.
final class Inbox<Element: Sendable>: Sendable {
    /// Signalled on every `put`; the loop waits for it to become readable.
    let event: WakeEvent
    /// Inputs beyond this many untaken ones are dropped (the oldest are kept).
    let capacity: Int
    private let queue = Mutex<[Element]>([])

    init(capacity: Int) throws(Errno) {
        event = try WakeEvent()
        self.capacity = capacity
    }

    deinit {
        event.close()
    }

    /// Puts `element` in; false when the inbox is full (the element is dropped).
    @discardableResult
    func put(_ element: Element) -> Bool {
        let added = queue.withLock { queue in
            guard queue.count < capacity else { return false }
            queue.append(element)
            return true
        }
        if added { event.signal() }
        return added
    }

    /// Every input put so far, in order; clears the event first, so an input put meanwhile wakes
    /// the next wait.
    func takeAll() -> [Element] {
        event.drain()
        return queue.withLock { queue in
            defer { queue = [] }
            return queue
        }
    }
}
