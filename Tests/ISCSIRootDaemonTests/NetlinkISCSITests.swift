import Testing
@testable import ISCSIRootDaemon

/// A netlink datagram as the kernel sends it: `struct nlmsghdr` (length, type 0, flags 0,
/// sequence 0, port 0) followed by the iscsi_uevent's 32-bit words, in host byte order.
private func message(_ words: [UInt32]) -> [UInt8] {
    let header: [UInt32] = [UInt32(16 + 4 * words.count), 0, 0, 0]
    return (header + words).flatMap { word in withUnsafeBytes(of: word) { Array($0) } }
}

/// The words of each capture line in
/// ../shared/fixtures/kernel-6.1-lio-loopback/61-netlink-iscsi-events.txt (all len=72).
private enum Captured {
    static let createSession1: [UInt32] = [106, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]
    static let nopTimeout: [UInt32] = [102, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 1, 0, 1022, 0]
    static let connectionClosed: [UInt32] = [102, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 1, 0, 1020, 0]
    static let unbindSession1: [UInt32] = [105, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]
    static let destroySession1: [UInt32] = [104, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0]
    static let createSession2: [UInt32] = [106, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0]
    /// A login PDU (len=432): the words the capture printed, then the PDU itself.
    static let receivedPDU: [UInt32] = [101, 0, 3229323360, 4294967295, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 34595, 939589632]
        + Array(repeating: 0, count: 88)
}

@Suite("NETLINK_ISCSI events")
struct NetlinkISCSITests {
    @Test("each captured kernel event parses to its kind (a doorbell: the kernel log says what failed)",
          arguments: [
            (Captured.createSession1, ISCSIKernelEvent.sessionCreated),
            (Captured.nopTimeout, .connectionError),
            (Captured.connectionClosed, .connectionError),
            (Captured.unbindSession1, .sessionUnbound),
            (Captured.destroySession1, .sessionDestroyed),
            (Captured.createSession2, .sessionCreated),
          ])
    func parsesCapturedEvent(words: [UInt32], expected: ISCSIKernelEvent) throws {
        let datagram = message(words)
        #expect(datagram.count == 72)
        #expect(try ISCSIKernelEvent.parse(datagram: datagram) == [expected])
    }

    @Test("received login PDUs are skipped")
    func skipsPDUs() throws {
        let datagram = message(Captured.receivedPDU)
        #expect(datagram.count == 432)
        #expect(try ISCSIKernelEvent.parse(datagram: datagram).isEmpty)
    }

    @Test("several messages in one datagram all count, in order")
    func severalMessages() throws {
        let datagram = message(Captured.receivedPDU) + message(Captured.connectionClosed) + message(Captured.unbindSession1)
        #expect(try ISCSIKernelEvent.parse(datagram: datagram) == [
            .connectionError,
            .sessionUnbound,
        ])
    }

    @Test("a length beyond the datagram is an error that says where")
    func badLength() {
        var datagram = message(Captured.nopTimeout)
        datagram[0] = 200
        #expect(throws: NetlinkParseError.badMessageLength(offset: 0, length: 200, available: 72)) {
            try ISCSIKernelEvent.parse(datagram: datagram)
        }
        #expect(throws: NetlinkParseError.badMessageLength(offset: 0, length: 0, available: 16)) {
            try ISCSIKernelEvent.parse(datagram: message([]).map { _ in 0 })
        }
    }

    @Test("a message too short for its type is an error; a short connection error still rings")
    func truncated() throws {
        let header: [UInt32] = [18, 0, 0, 0]
        let short: [UInt8] = header.flatMap { word -> [UInt8] in withUnsafeBytes(of: word) { Array($0) } } + [102, 0]
        #expect(throws: NetlinkParseError.truncated(size: 2)) {
            try ISCSIKernelEvent.parse(datagram: short)
        }
        #expect(try ISCSIKernelEvent.parse(datagram: message(Array(Captured.nopTimeout.prefix(1)))) == [.connectionError])
    }

    @Test("starting the listener either works or fails with a typed reason for polling only")
    func startsOrSaysWhy() {
        do {
            let listener = try NetlinkISCSIListener { _ in true }
            listener.stop()
        } catch {
            #expect(error == .protocolNotSupported || error == .notPermitted, "\(error)")
        }
    }
}
