#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// A directory tree whose paths are read relative to a root: `/sys` or `/` in production,
/// a temporary directory in tests (like node_exporter's `--path.sysfs`).
///
/// Every path handed to a `FileTree` is relative to its root, written with or without a
/// leading slash (`"class/iscsi_session"` and `"/class/iscsi_session"` are the same file).
public struct FileTree: Sendable, Hashable {
    /// The absolute root directory, without a trailing slash (empty for `/`).
    public let root: String

    public init(root: String) {
        var trimmed = root
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    /// The absolute path of `relative` under the root.
    public func path(_ relative: String) -> String {
        relative.hasPrefix("/") ? root + relative : root + "/" + relative
    }

    /// Reads a small text file (sysfs attributes, /proc files) and drops one trailing newline.
    public func read(_ relative: String) -> Result<String, FileError> {
        let absolute = path(relative)
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(absolute, .readOnly, options: [.closeOnExec])
        } catch let errno as Errno {
            return .failure(FileError(path: absolute, errno: errno))
        } catch {
            return .failure(FileError(path: absolute, errno: .ioError))
        }
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
            } catch let errno as Errno {
                return .failure(FileError(path: absolute, errno: errno))
            } catch {
                return .failure(FileError(path: absolute, errno: .ioError))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > Self.maximumReadSize { break }
        }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// Writes `value` in one `write(2)`, the way sysfs attributes expect it. Opened like the
    /// shell's `echo value > attribute` (O_TRUNC, which sysfs ignores), so a plain file in a test
    /// tree ends up holding exactly the value written.
    public func write(_ relative: String, _ value: String) -> Result<Void, FileError> {
        let absolute = path(relative)
        do {
            let fd = try FileDescriptor.open(absolute, .writeOnly, options: [.closeOnExec, .truncate])
            defer { try? fd.close() }
            var bytes = Array(value.utf8)
            let written = try bytes.withUnsafeMutableBytes { try fd.write(UnsafeRawBufferPointer($0)) }
            if written != bytes.count { return .failure(FileError(path: absolute, errno: .ioError)) }
            return .success(())
        } catch let errno as Errno {
            return .failure(FileError(path: absolute, errno: errno))
        } catch {
            return .failure(FileError(path: absolute, errno: .ioError))
        }
    }

    /// The entry names of a directory (not `.` and `..`), in no particular order; empty when it
    /// is missing or unreadable.
    public func list(_ relative: String) -> [String] {
        guard let dir = opendir(path(relative)) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The canonical path of `relative` (all symbolic links resolved), relative to the root and
    /// starting with `/`; nil when it does not exist or leads outside the root.
    public func resolve(_ relative: String) -> String? {
        guard let resolved = realpath(path(relative), nil) else { return nil }
        defer { free(resolved) }
        let absolute = String(cString: resolved)
        let canonicalRoot = canonicalRootPath
        if canonicalRoot.isEmpty { return absolute }
        if absolute == canonicalRoot { return "/" }
        guard absolute.hasPrefix(canonicalRoot + "/") else { return nil }
        return String(absolute.dropFirst(canonicalRoot.count))
    }

    /// Whether `relative` exists (following links).
    public func exists(_ relative: String) -> Bool {
        access(path(relative), F_OK) == 0
    }

    private var canonicalRootPath: String {
        guard !root.isEmpty, let resolved = realpath(root, nil) else { return root }
        defer { free(resolved) }
        let value = String(cString: resolved)
        return value == "/" ? "" : value
    }

    /// Attribute files are small; anything larger is cut here rather than read whole.
    static let maximumReadSize = 1 << 20
}

/// A failed file operation: which path, and what the kernel answered.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let errno: Errno

    public init(path: String, errno: Errno) {
        self.path = path
        self.errno = errno
    }

    /// "EINVAL (Invalid argument)".
    public var reason: String { "\(errno.symbolicName) (\(errno.description))" }

    public var description: String { "\(path): \(reason)" }
}

extension Errno {
    /// The C constant's name, e.g. `EBUSY`, for messages admins can search for.
    public var symbolicName: String {
        switch self {
        case .permissionDenied: "EACCES"
        case .notPermitted: "EPERM"
        case .noSuchFileOrDirectory: "ENOENT"
        case .invalidArgument: "EINVAL"
        case .resourceBusy: "EBUSY"
        case .ioError: "EIO"
        case .operationNotSupportedByDevice: "ENODEV"
        case .noSuchAddressOrDevice: "ENXIO"
        case .readOnlyFileSystem: "EROFS"
        case .resourceTemporarilyUnavailable: "EAGAIN"
        case .notDirectory: "ENOTDIR"
        case .isDirectory: "EISDIR"
        case .noSpace: "ENOSPC"
        case .timedOut: "ETIMEDOUT"
        default: "errno \(rawValue)"
        }
    }
}
