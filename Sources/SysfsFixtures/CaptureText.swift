/// Replaces each number in `template` by the next of `numbers`, keeping the field widths (`%8u`
/// columns stay 8 wide, a separating space stays).
func substitutingNumbers(_ template: String, _ numbers: [UInt64]) -> String {
    var result = ""
    var pendingSpaces = 0
    var atStart = true
    var remaining = numbers[...]
    var characters = template[...]
    while let character = characters.first {
        if character == " " {
            pendingSpaces += 1
            characters.removeFirst()
        } else if character.isASCII && character.isNumber {
            let digits = characters.prefix { $0.isASCII && $0.isNumber }
            characters = characters.dropFirst(digits.count)
            let replacement = remaining.popFirst().map(String.init) ?? String(digits)
            let width = pendingSpaces + digits.count - (atStart ? 0 : min(pendingSpaces, 1))
            if !atStart && pendingSpaces > 0 { result += " " }
            result += String(repeating: " ", count: max(width - replacement.count, 0)) + replacement
            pendingSpaces = 0
            atStart = false
        } else {
            result += String(repeating: " ", count: pendingSpaces) + String(character)
            pendingSpaces = 0
            atStart = false
            characters.removeFirst()
        }
    }
    return result + String(repeating: " ", count: pendingSpaces)
}

/// `8:16` → (8, 16).
func majorMinor(_ text: String) -> (major: UInt64, minor: UInt64)? {
    let parts = text.split(separator: ":")
    guard parts.count == 2, let major = UInt64(bounded: parts[0], in: 0...UInt64(UInt32.max)),
          let minor = UInt64(bounded: parts[1], in: 0...UInt64(UInt32.max)) else { return nil }
    return (major, minor)
}

/// Left-aligned, space-padded as SCSI INQUIRY strings read back from sysfs.
func padded(_ text: String, to width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
