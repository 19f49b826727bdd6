import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fresh directory for a test, removed with everything in it on `remove()` or `deinit`, so no test
/// leaves anything behind. Hold it for as long as the directory is used (or `defer { remove() }`).
public final class TemporaryDirectory {
    /// The directory's absolute path.
    public let path: String
    private var removed = false

    /// Where temporary directories go: `$TMPDIR` when set, else `/dev/shm` (tmpfs: creating thousands
    /// of small files on ext4 takes ~10 ms per LUN), else `/tmp`.
    public static var base: String {
        var base = ProcessInfo.processInfo.environment["TMPDIR"]
            ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory())
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// A new directory `<base>/iscsi-rootd-<name>-XXXXXX`.
    public init(_ name: String) throws {
        var template = Array((Self.base + "/iscsi-rootd-\(name)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError.errno("mkdtemp", Self.base) }
        path = String(cString: made)
    }

    /// Runs `body` with a new directory, removed when `body` returns or throws.
    public static func with<Result>(_ name: String, _ body: (String) throws -> Result) throws -> Result {
        let directory = try TemporaryDirectory(name)
        defer { directory.remove() }
        return try body(directory.path)
    }

    deinit { remove() }

    /// Deletes the directory and everything in it now.
    public func remove() {
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(atPath: path)
    }
}
