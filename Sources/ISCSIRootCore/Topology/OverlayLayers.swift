/// An overlayfs mount's layers, read from its mountinfo super options as the kernel writes them
/// (fs/overlayfs/params.c `ovl_show_options`, each value through `seq_show_option`, which writes
/// `,`, space, tab, newline and `\` as `\ooo` octal):
/// - `lowerdir=A:B::C`: the string given at mount time, colon-separated, a `\` escaping the next
///   character (`\:` is a colon in a name); the layers after `::` are data-only layers;
/// - or, mounted with the new mount API, one `lowerdir+=A` per layer and `datadir+=C` per
///   data-only layer, each value one path with no colon escapes;
/// - `upperdir=` and `workdir=` when the overlay has a writable upper layer.
/// The names are the ones given at mount time, in the mount namespace of the mounter: an initramfs
/// that mounted the overlay before switch_root may name a path that no longer leads there.
public struct OverlayLayers: Sendable, Hashable {
    /// Top first, as the overlay looks them up.
    public let lower: [String]
    /// Data-only lower layers (metacopy), after the others.
    public let data: [String]
    public let upper: String?

    public init(lower: [String], data: [String] = [], upper: String? = nil) {
        self.lower = lower
        self.data = data
        self.upper = upper
    }

    /// The layers, or nil when the options name no lower layer (then nothing can be traced).
    public init?(superOptions: String) {
        var lower: [String] = []
        var data: [String] = []
        var upper: String?
        for option in superOptions.split(separator: ",") {
            guard let equals = option.firstIndex(of: "=") else { continue }
            let key = option[..<equals]
            let value = unescapeOctal(option[option.index(after: equals)...])
            switch key {
            case "lowerdir":
                let split = Self.splitLowerdir(value)
                lower += split.lower
                data += split.data
            case "lowerdir+": lower.append(value)
            case "datadir+": data.append(value)
            case "upperdir": upper = value
            default: continue
            }
        }
        guard !lower.isEmpty || !data.isEmpty else { return nil }
        self.init(lower: lower, data: data, upper: upper)
    }

    /// `A:B::C` → lower [A, B], data [C]; `\x` is `x` (fs/overlayfs/params.c splits on unescaped
    /// colons and then removes the escapes).
    static func splitLowerdir(_ text: String) -> (lower: [String], data: [String]) {
        var lower: [String] = []
        var data: [String] = []
        var current: [UInt8] = []
        var dataOnly = false
        var escaped = false
        var previousWasSeparator = false
        func finish() {
            guard !current.isEmpty else { return }
            let name = String(decoding: current, as: UTF8.self)
            if dataOnly { data.append(name) } else { lower.append(name) }
            current = []
        }
        for byte in text.utf8 {
            if escaped {
                current.append(byte)
                escaped = false
                previousWasSeparator = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: ":") {
                // `::` (an empty name between two colons) starts the data-only layers.
                if previousWasSeparator { dataOnly = true }
                finish()
                previousWasSeparator = true
            } else {
                current.append(byte)
                previousWasSeparator = false
            }
        }
        finish()
        return (lower, data)
    }
}
