#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Standard error as a `TextOutputStream`, for `print(…, to: &StandardError.stream)`.
struct StandardError: TextOutputStream {
    nonisolated(unsafe) static var stream = StandardError()

    mutating func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// Whether standard output is a terminal (colour only then).
var standardOutputIsTerminal: Bool { isatty(1) == 1 }
