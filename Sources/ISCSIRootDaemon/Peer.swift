import CSystemd
import Glibc
import ISCSIRootCore
import SystemPackage

/// A reader the daemon sends to (the service manager's notification socket, journald, whatever
/// holds stderr) may stop reading: PID 1 is not locked in memory, and journald waits on a
/// persistent journal on the frozen root. The event loop must never wait for it. So every send
/// is non-blocking, and what a full peer did not take is held here, bounded, and sent in order
/// once it takes again (`flush`, every turn of the loop); what did not fit is dropped and
/// counted, and the peer's recovery is reported once (`Delivery`).
struct Backlog {
    /// What one non-blocking attempt did with an item.
    enum Attempt {
        /// Taken whole.
        case sent
        /// The first `count` bytes taken (a stream: the rest goes first next time).
        case partial(Int)
        /// The peer is full (EAGAIN): try again later.
        case full
        /// Refused for good (gone, too large, …): the item is dropped.
        case failed(Errno)
    }

    /// At most this many items or bytes wait; a newer item beyond that is dropped, counted.
    let itemLimit: Int
    let byteLimit: Int
    private(set) var items: [[UInt8]] = []
    /// Bytes of `items[0]` already taken (streams only).
    private var offset = 0
    private var bytes = 0
    /// Since the peer last took everything: items that waited, items dropped, and when it began.
    private var held = 0
    private var dropped = 0
    private var since: Duration?

    init(itemLimit: Int, byteLimit: Int) {
        self.itemLimit = itemLimit
        self.byteLimit = byteLimit
    }

    var isEmpty: Bool { items.isEmpty }

    /// What became of one item.
    enum Outcome: Equatable {
        case sent
        /// Kept, to go out (in order) once the peer takes again.
        case held
        /// Not kept: the backlog is at its bound (counted).
        case dropped
        /// Refused for good (not counted: the caller says where it went instead).
        case failed(Errno)
    }

    /// Sends what waits, in order, then `item`; holds what the peer does not take now, in the form
    /// `held` makes of it (by default the item itself).
    mutating func send(_ item: [UInt8], held: (([UInt8]) -> [UInt8])? = nil,
                       through attempt: ([UInt8]) -> Attempt) -> Outcome {
        flush(through: attempt)
        if items.isEmpty {
            switch attempt(item) {
            case .sent: return .sent
            case .failed(let error): return .failed(error)
            case .partial(let count): return hold(item, taken: count) ? .held : .dropped
            case .full: break
            }
        }
        return hold(held?(item) ?? item, taken: 0) ? .held : .dropped
    }

    /// Once the peer took everything that waited: how long it did not, and what waited or was
    /// dropped meanwhile; nil otherwise (also when nothing waited). Reported once.
    mutating func takeDelivery(at now: Duration = Moment.monotonicNow) -> Delivery? {
        guard items.isEmpty, let since else { return nil }
        defer {
            self.since = nil
            held = 0
            dropped = 0
        }
        return Delivery(waited: now - since, held: held, dropped: dropped)
    }

    private mutating func hold(_ item: [UInt8], taken: Int) -> Bool {
        if since == nil { since = Moment.monotonicNow }
        // One item is always kept (the stream's line begun must be finished).
        guard items.isEmpty || (items.count < itemLimit && bytes + item.count <= byteLimit) else {
            dropped += 1
            return false
        }
        held += 1
        items.append(item)
        bytes += item.count
        if items.count == 1 { offset = taken }
        return true
    }

    /// Sends what waits, in order, until the peer is full again.
    mutating func flush(through attempt: ([UInt8]) -> Attempt) {
        while let first = items.first {
            let result = attempt(offset == 0 ? first : Array(first[offset...]))
            switch result {
            case .partial(let count):
                offset += count
                return
            case .full:
                return
            case .sent, .failed:
                if case .failed = result {
                    // Refused for good (the peer went away, …): dropped, not sent late.
                    held -= 1
                    dropped += 1
                }
                items.removeFirst()
                bytes -= first.count
                offset = 0
            }
        }
    }
}

/// A peer that took nothing for a while, now taking again.
struct Delivery: Equatable {
    let waited: Duration
    /// Items sent late.
    let held: Int
    /// Items never sent (replaced by newer ones, or beyond the bound).
    let dropped: Int

    /// "took nothing for 3.2 s: 41 waited and were sent late, 2 dropped"
    func text(_ items: String) -> String {
        let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
        let tenths = Int((seconds * 10).rounded())
        return "took nothing for \(tenths / 10).\(tenths % 10) s: \(held) \(items) waited and were sent late, \(dropped) dropped"
    }
}

/// An AF_UNIX datagram socket addressed like `NOTIFY_SOCKET`: a path, or `@name` for an abstract
/// socket. Opened once; each datagram is sent with MSG_DONTWAIT, so a peer whose queue is full
/// answers EAGAIN at once instead of putting the thread to sleep (`unix_wait_for_peer`).
final class DatagramPeer: Sendable {
    let address: String
    private let fd: Int32
    /// The `sockaddr_un`'s bytes, as long as the address needs.
    private let socketAddress: [UInt8]

    /// The peer at `address`, with a send buffer of `sendBuffer` bytes when given (the journal's
    /// entries can be large); an unusable address is EAFNOSUPPORT (no `/` or `@`: `vsock:` and
    /// such) or ENAMETOOLONG.
    static func open(_ address: String, sendBuffer: Int32? = nil) -> Result<DatagramPeer, Errno> {
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let capacity = MemoryLayout<sockaddr_un>.size - pathOffset
        var path = Array(address.utf8)
        switch path.first {
        case UInt8(ascii: "/"): path.append(0)
        case UInt8(ascii: "@"): path[0] = 0
        default: return .failure(.addressFamilyNotSupported)
        }
        guard path.count <= capacity else { return .failure(.fileNameTooLong) }
        var raw = [UInt8](repeating: 0, count: pathOffset + path.count)
        withUnsafeBytes(of: sa_family_t(AF_UNIX)) { family in
            for (index, byte) in family.enumerated() { raw[index] = byte }
        }
        raw.replaceSubrange(pathOffset..., with: path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return .failure(Errno(rawValue: errno)) }
        if var size = sendBuffer, setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        return .success(DatagramPeer(address: address, fd: fd, socketAddress: raw))
    }

    private init(address: String, fd: Int32, socketAddress: [UInt8]) {
        self.address = address
        self.fd = fd
        self.socketAddress = socketAddress
    }

    deinit {
        close(fd)
    }

    /// One datagram, never waiting.
    func send(_ datagram: [UInt8]) -> Backlog.Attempt {
        let sent = socketAddress.withUnsafeBytes { address in
            datagram.withUnsafeBytes { payload in
                RetriedWrite.once(payload, to: fd) { fd, payload in
                    sendto(fd, payload.baseAddress, payload.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL),
                           address.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
                }
            }
        }
        switch sent {
        case .success: return .sent
        case .failure(.resourceTemporarilyUnavailable): return .full
        case .failure(let error): return .failed(error)
        }
    }
}
