import Foundation
import ISCSIRootCore

/// The console captures in `Fixtures/captures/diskless-root-outages`, turned into what the daemon reads:
/// `/dev/kmsg` records from the kernel lines, and I/O samples from the `@@S` sampler lines.
enum OutageConsole {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/captures/diskless-root-outages")

    static func lines(_ file: String) throws -> [String] {
        try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The kernel lines (`[  169.182037] text`) of a console capture as kmsg records, as one `read(2)` of
    /// /dev/kmsg returns them: `6,SEQ,USEC,-;text`, numbered from `firstSequence` in console order.
    static func kmsgRecords(_ file: String, firstSequence: UInt64 = 1000) throws -> [String] {
        var records: [String] = []
        for line in try lines(file) {
            guard let (microseconds, text) = kernelLine(line) else { continue }
            records.append("6,\(firstSequence + UInt64(records.count)),\(microseconds),-;\(text)\n")
        }
        return records
    }

    /// `[  169.182037]  session1: …` → (169182037, " session1: …"); nil for other lines.
    static func kernelLine(_ line: String) -> (UInt64, String)? {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        let stamp = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        let parts = stamp.split(separator: ".")
        guard parts.count == 2, parts[1].count == 6, let seconds = UInt64(parts[0]), let micros = UInt64(parts[1]) else {
            return nil
        }
        var text = line[line.index(after: close)...]
        if text.first == " " { text = text.dropFirst() }
        return (seconds * 1_000_000 + micros, String(text))
    }

    /// One `@@S` sample: seconds since boot, the disk's in-flight reads and writes, the writer's completed count.
    struct Sample {
        let seconds: Double
        let inflightReads: UInt64
        let inflightWrites: UInt64
        let writesDone: UInt64
    }

    /// `@@S 45.60 sess=… inflight= 0 2 … lastw=[n=5 …]`.
    static func samples(_ file: String) throws -> [Sample] {
        try lines(file).compactMap { line in
            guard line.hasPrefix("@@S "), let inflight = line.range(of: "inflight= "),
                  let count = line.range(of: "lastw=[n=") else { return nil }
            let words = line.split(separator: " ")
            let counters = line[inflight.upperBound...].split(separator: " ").prefix(2).compactMap { UInt64($0) }
            guard words.count > 1, let seconds = Double(words[1]), counters.count == 2,
                  let done = UInt64(line[count.upperBound...].prefix(while: \.isNumber)) else { return nil }
            return Sample(seconds: seconds, inflightReads: counters[0], inflightWrites: counters[1], writesDone: done)
        }
    }
}

/// Moments on an injected clock: `seconds` since boot on the monotonic clock, and a fixed wall-clock base.
enum TestClock {
    static let wallBase: Int64 = 1_764_090_000_000_000

    static func at(_ seconds: Double) -> Moment {
        let microseconds = Int64((seconds * 1_000_000).rounded())
        return Moment(monotonic: .microseconds(microseconds), wallMicroseconds: wallBase + microseconds)
    }
}
