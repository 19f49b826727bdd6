/// The one parser for numbers in text iscsi-rootd does not control: configuration files and
/// flags, sysfs attributes, the state file, kernel log records, /proc tables. Every number comes
/// out within the range its user can do arithmetic on, or not at all: nothing read can overflow
/// later (a duration turned into microseconds, a timeout the kernel stores in a C int).
extension FixedWidthInteger {
    /// `text` as an integer in `radix` (digits only; a sign where the range allows it, `+` never)
    /// when it lies in `range`; nil otherwise (empty, stray characters, overflow, out of range).
    public init?(bounded text: some StringProtocol, in range: ClosedRange<Self>, radix: Int = 10) {
        guard !text.isEmpty, text.utf8.count <= 80, text.first != "+",
              let value = Self(String(text), radix: radix), range.contains(value) else { return nil }
        self = value
    }
}

extension Int {
    /// What a kernel `int` or `unsigned int` attribute can hold: every sysfs integer iscsi-rootd
    /// reads is one (timeouts, types, ports, counters), so anything beyond is not a kernel value.
    public static let sysfsRange = Int(Int32.min)...Int(UInt32.max)

    /// Parses a sysfs integer: decimal, or hexadecimal with `0x` (as in `iodone_cnt`), within
    /// `sysfsRange`.
    public init?(sysfs text: some StringProtocol) {
        if text.hasPrefix("0x") {
            self.init(bounded: text.dropFirst(2), in: 0...Int.sysfsRange.upperBound, radix: 16)
        } else {
            self.init(bounded: text, in: Int.sysfsRange)
        }
    }
}

/// Parses seconds with an optional fraction of up to nine digits ("5", "0.5", ".25", "2.25")
/// into a Duration within `range`; nil when malformed or out of range.
public func parseSeconds(_ text: some StringProtocol,
                         in range: ClosedRange<Duration> = .zero ... Configuration.maximumInterval) -> Duration? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count) else { return nil }
    let wholeText = parts[0].isEmpty && parts.count == 2 ? "0" : parts[0]
    guard wholeText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
          let whole = Int64(bounded: wholeText, in: 0...range.upperBound.components.seconds) else { return nil }
    var nanoseconds: Int64 = 0
    if parts.count == 2 {
        let fraction = parts[1]
        guard !fraction.isEmpty, fraction.utf8.count <= 9,
              fraction.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let digits = Int64(bounded: fraction, in: 0...999_999_999) else { return nil }
        nanoseconds = digits
        for _ in fraction.utf8.count..<9 { nanoseconds *= 10 }
    }
    let value = Duration(secondsComponent: whole, attosecondsComponent: nanoseconds * 1_000_000_000)
    return range.contains(value) ? value : nil
}
