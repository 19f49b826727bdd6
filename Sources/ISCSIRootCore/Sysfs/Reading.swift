import SystemPackage

/// An attribute as read from sysfs: its parsed value, or why there is none ("missing",
/// "EINVAL (Invalid argument)", "unparsable 'x'"). Never a crash, never a guess.
public enum Reading<Value: Sendable & Hashable>: Sendable, Hashable {
    case value(Value)
    case unknown(String)

    /// The value, or nil when unknown.
    public var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// Why there is no value, or nil when there is one.
    public var unknownReason: String? {
        if case .unknown(let reason) = self { return reason }
        return nil
    }

    /// Parses a known value into another type; an unparsable one becomes unknown.
    public func map<Other>(_ transform: (Value) -> Other?) -> Reading<Other> {
        switch self {
        case .value(let value):
            if let other = transform(value) { return .value(other) }
            return .unknown("unparsable '\(value)'")
        case .unknown(let reason):
            return .unknown(reason)
        }
    }
}

extension FileTree {
    /// A text attribute with surrounding white space removed. The kernel's "(null)" means "not set".
    public func attribute(_ relative: String) -> Reading<String> {
        switch read(relative) {
        case .success(let text):
            let trimmed = text.trimmingWhitespace
            if trimmed == "(null)" { return .unknown("not set") }
            return .value(trimmed)
        case .failure(let error):
            if error.errno == .noSuchFileOrDirectory { return .unknown("missing") }
            return .unknown(error.reason)
        }
    }

    /// A decimal (or `0x` hexadecimal) integer attribute.
    public func integer(_ relative: String) -> Reading<Int> {
        attribute(relative).map(Int.init(sysfs:))
    }
}

extension StringProtocol {
    /// The lines of a text file as an editor shows them: split at LF and CRLF (a CRLF file's
    /// line numbers are right), a leading byte-order mark dropped, empty lines kept.
    public var textLines: [SubSequence] {
        var lines = split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = first.dropFirst() }
        return lines
    }

    /// The text without leading and trailing spaces, tabs, newlines and NULs.
    public var trimmingWhitespace: String {
        // On the UTF-8 bytes: the characters trimmed are ASCII, so byte indices fall on characters.
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0 }
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return "" }
        var last = first
        var index = first
        while index != bytes.endIndex {
            if !isSpace(bytes[index]) { last = index }
            index = bytes.index(after: index)
        }
        return String(self[first...last])
    }
}
