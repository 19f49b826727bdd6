/// A deterministic random number generator (SplitMix64) for property and fuzz tests: a failing
/// case is reproduced from its seed alone.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `chance`.
    public mutating func chance(_ chance: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < chance
    }

    /// One of `items`.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[Int.random(in: 0..<items.count, using: &self)]
    }

    /// A string of up to `length` scalars, mostly printable ASCII with control bytes, escape
    /// sequences, multi-byte UTF-8, CR/LF and NULs mixed in: what a hostile file could hold.
    public mutating func hostileString(maximumLength length: Int = 24) -> String {
        let pieces = ["\u{1B}[2J", "\u{1B}]0;owned\u{07}", "\r", "\n", "\r\n", "\0", "\u{7F}", "\u{85}", "\u{9B}31m",
                      "\u{202E}", "\u{FEFF}", "é", "日本", "🙂", "\\", "\"", "[", "]", "=", ";", ",", ":", " ", "\t",
                      "-1", "0x", "99999999999999999999", "1e308", "NaN", "%n", "../"]
        var text = ""
        for _ in 0..<Int.random(in: 0...length, using: &self) {
            if chance(0.3) {
                text += pick(pieces)
            } else {
                text.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &self)))
            }
        }
        return text
    }
}
