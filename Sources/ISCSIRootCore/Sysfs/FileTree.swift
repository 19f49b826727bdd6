#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SystemPackage

/// A directory tree whose paths are read relative to a root: `/sys` or `/` in production,
/// a temporary directory in tests (like node_exporter's `--path.sysfs`).
///
/// Every path handed to a `FileTree` is relative to its root, written with or without a
/// leading slash (`"class/iscsi_session"` and `"/class/iscsi_session"` are the same file).
public struct FileTree: Sendable, Hashable {
    /// The absolute root directory, without a trailing slash (empty for `/`).
    public let root: String

    /// The root with its symbolic links resolved, taken once when it exists (`resolve` compares
    /// every path with it); nil while it does not exist.
    private let canonicalRoot: String?

    public init(root: String) {
        var trimmed = root
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
        canonicalRoot = Self.canonical(trimmed)
    }

    /// Whether this is the running system's `/` (`--root /`): only then do systemd (over sd-bus) and the
    /// kernel's route answers describe the files read through it.
    public var isLiveRoot: Bool { root.isEmpty }

    /// Whether this is the running kernel's sysfs (`--sysfs /sys`): only then do udev and NETLINK_ISCSI
    /// events describe it.
    public var isLiveSysfs: Bool { root == DefaultPaths.sysfs || root.isEmpty }

    public static func == (a: FileTree, b: FileTree) -> Bool { a.root == b.root }
    public func hash(into hasher: inout Hasher) { hasher.combine(root) }

    /// The whole file system: `path` of an absolute path is itself. For files named on the
    /// command line (`--config`, `--state-dir`), which the command makes absolute first.
    public static let absolute = FileTree(root: "")

    /// The absolute path of `relative` under the root.
    public func path(_ relative: String) -> String {
        relative.hasPrefix("/") ? root + relative : root + "/" + relative
    }

    /// Reads a small text file (sysfs attributes, /proc files, configuration, the state file) and
    /// drops one trailing newline: the one reader for everything iscsi-rootd reads whole.
    ///
    /// Safe on hostile paths: opened non-blocking (a FIFO or a device never hangs it), regular
    /// files only (a FIFO, device, socket or directory is an error naming what it is), a file
    /// larger than `limit` is an error (EFBIG), never silently cut, and with `followLinks` false
    /// a symbolic link at the last component is refused (ELOOP) where someone could plant one.
    public func read(_ relative: String, limit: Int = FileTree.maximumReadSize,
                     followLinks: Bool = true) -> Result<String, FileError> {
        let absolute = path(relative)
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW)
        let fd = open(absolute, flags)
        if fd < 0 {
            let code = Errno(rawValue: errno)
            if code == .noSuchFileOrDirectory, Self.isSymbolicLink(absolute) {
                return .failure(FileError(path: absolute, errno: code, detail: "dangling symbolic link"))
            }
            if code == .tooManySymbolicLinkLevels && !followLinks && Self.isSymbolicLink(absolute) {
                return .failure(FileError(path: absolute, errno: code, detail: "a symbolic link (refused)"))
            }
            return .failure(FileError(path: absolute, errno: code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(FileError(path: absolute, errno: Errno(rawValue: errno))) }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { return .failure(FileError(path: absolute, errno: .isDirectory)) }
        guard type == S_IFREG else {
            return .failure(FileError(path: absolute, errno: .invalidArgument,
                                      detail: "not a regular file (\(Self.kindName(type)))"))
        }
        let tooLarge = FileError(path: absolute, errno: .fileTooLarge, detail: "larger than \(Self.sizeText(limit))")
        if Int(info.st_size) > limit { return .failure(tooLarge) }
        // Into an uninitialized buffer, and the text made from it directly: a tuner reads a dozen
        // attributes a disk, each fitting one read.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.chunkSize) { chunk -> Result<String, FileError> in
            var bytes: [UInt8] = []
            while true {
                let count = Glibc.read(fd, chunk.baseAddress, chunk.count)
                if count < 0 {
                    if errno == EINTR { continue }
                    return .failure(FileError(path: absolute, errno: Errno(rawValue: errno)))
                }
                // A regular file's read that does not fill the buffer reached the end (sysfs and procfs
                // files too: they give all they have up to the size asked), so the usual attribute costs
                // one read, not a second one returning 0.
                if bytes.isEmpty && count < chunk.count {
                    if count > limit { return .failure(tooLarge) }
                    let end = count > 0 && chunk[count - 1] == UInt8(ascii: "\n") ? count - 1 : count
                    return .success(String(decoding: UnsafeBufferPointer(rebasing: chunk[0..<end]), as: UTF8.self))
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<count]))
                if bytes.count > limit { return .failure(tooLarge) }
                if count < chunk.count { break }
            }
            if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// What one `read(2)` asks for.
    static let chunkSize = 4096

    /// Whether `absolute` itself is a symbolic link (not followed).
    static func isSymbolicLink(_ absolute: String) -> Bool {
        var info = stat()
        return lstat(absolute, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    /// Whether there is an entry at `relative`, whatever it is (a dangling link counts).
    public func hasEntry(_ relative: String) -> Bool {
        var info = stat()
        return lstat(path(relative), &info) == 0
    }

    static func kindName(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "file type \(type >> 12)"
        }
    }

    static func sizeText(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    /// Writes `value` in one `write(2)`, the way sysfs attributes expect it. Opened like the
    /// shell's `echo value > attribute` (O_TRUNC, which sysfs ignores), so a plain file in a test
    /// tree ends up holding exactly the value written. Opened beneath the root (`openBeneath`): a
    /// symbolic link planted at a directory on the way that leads out of the tree is refused, and
    /// so is one at the attribute itself (O_NOFOLLOW: real sysfs attributes never are links), so a
    /// write (as root) never lands outside the tree.
    public func write(_ relative: String, _ value: String) -> Result<Void, FileError> {
        let absolute = path(relative)
        let fd: Int32
        switch openBeneath(relative, flags: O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW) {
        case .success(let opened): fd = opened
        case .failure(let error) where error.errno == .tooManySymbolicLinkLevels && Self.isSymbolicLink(absolute):
            return .failure(FileError(path: absolute, errno: error.errno, detail: "is a symbolic link"))
        case .failure(let error): return .failure(error)
        }
        defer { close(fd) }
        var bytes = Array(value.utf8)
        switch bytes.withUnsafeMutableBytes({ RetriedWrite.once(UnsafeRawBufferPointer($0), to: fd) }) {
        case .success(let written) where written == bytes.count: return .success(())
        case .success: return .failure(FileError(path: absolute, errno: .ioError))
        case .failure(let error): return .failure(FileError(path: absolute, errno: error))
        }
    }

    /// Opens `relative` with `flags` so that the file reached lies beneath the root: with openat2's
    /// RESOLVE_BENEATH (a relative link that stays in the tree is followed, as sysfs's own are; an
    /// absolute one, or `..` or a link leading out, is refused: EXDEV), and with `noSymlinks` no
    /// link at all on the way (ELOOP). Where the kernel has no openat2 (before 5.6: ENOSYS) the file
    /// is opened as asked, then its real path checked, and closed unused when it lies outside. The
    /// whole file system (`FileTree.absolute`, the live `/`) has no outside: a plain open.
    public func openBeneath(_ relative: String, flags: Int32, noSymlinks: Bool = false) -> Result<Int32, FileError> {
        let absolute = path(relative)
        func failure(_ code: Int32) -> Result<Int32, FileError> {
            let errno = Errno(rawValue: code)
            switch errno {
            case .improperLink:
                return .failure(FileError(path: absolute, errno: errno, detail: "leads outside \(root) (a symbolic link on the way)"))
            case .tooManySymbolicLinkLevels where noSymlinks:
                return .failure(FileError(path: absolute, errno: errno, detail: "a symbolic link on the way (refused)"))
            default:
                return .failure(FileError(path: absolute, errno: errno))
            }
        }
        if root.isEmpty {
            let fd = open(absolute, flags)
            return fd < 0 ? failure(errno) : .success(fd)
        }
        let rootFD = open(root, ISCSI_ROOTD_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 { return failure(errno) }
        defer { close(rootFD) }
        var inside = String(relative.drop { $0 == "/" })
        if inside.isEmpty { inside = "." }
        let fd: Int32 = iscsi_rootd_open_beneath(rootFD, inside, flags, noSymlinks ? 1 : 0)
        if fd >= 0 { return .success(fd) }
        let code: Int32 = 0 - fd
        guard code == ENOSYS else { return failure(code) }
        // No openat2: open, then check where the descriptor really is (O_TRUNC only once it is known to be inside).
        let opened = openat(rootFD, inside, flags & ~O_TRUNC)
        if opened < 0 { return failure(errno) }
        let canonical = canonicalRootPath
        let real = Self.realPath(ofDescriptor: opened) ?? Self.canonical(absolute)
        let expected = canonical + "/" + inside.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        guard let real, real == canonical || real.hasPrefix(canonical + "/"), !noSymlinks || real == expected else {
            close(opened)
            return failure(noSymlinks && real.map { $0 == canonical || $0.hasPrefix(canonical + "/") } == true ? ELOOP : EXDEV)
        }
        if flags & O_TRUNC != 0 { _ = ftruncate(opened, 0) }
        return .success(opened)
    }

    /// Whether `relative` is a directory reached from the root through no symbolic link at all:
    /// a kobject directory as the kernel makes them, never a link planted on the way.
    public func isDirectoryWithoutLinks(_ relative: String) -> Bool {
        guard case .success(let fd) = openBeneath(relative, flags: ISCSI_ROOTD_O_PATH | O_DIRECTORY | O_CLOEXEC, noSymlinks: true) else {
            return false
        }
        close(fd)
        return true
    }

    /// Where an open descriptor really is (its /proc/self/fd link); nil when /proc cannot tell.
    private static func realPath(ofDescriptor fd: Int32) -> String? {
        let bytes = [UInt8](unsafeUninitializedCapacity: 4096) { buffer, count in
            let length = buffer.withMemoryRebound(to: CChar.self) { readlink("/proc/self/fd/\(fd)", $0.baseAddress!, $0.count) }
            count = length > 0 && length < buffer.count ? length : 0
        }
        return bytes.first == UInt8(ascii: "/") ? String(decoding: bytes, as: UTF8.self) : nil
    }

    private static let direntNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Whether this process may write `relative` (effective ids, as the write would be checked).
    public func checkWritable(_ relative: String) -> Result<Void, FileError> {
        checkAccess(relative, W_OK)
    }

    /// Whether this process may list and enter the directory `relative` (effective ids).
    public func checkSearchable(_ relative: String) -> Result<Void, FileError> {
        checkAccess(relative, R_OK | X_OK)
    }

    /// Whether this process may access `relative` in `mode` (`R_OK`, `W_OK`, `X_OK`; effective ids).
    func checkAccess(_ relative: String, _ mode: Int32) -> Result<Void, FileError> {
        let absolute = path(relative)
        if faccessat(AT_FDCWD, absolute, mode, AT_EACCESS) == 0 { return .success(()) }
        return .failure(FileError(path: absolute, errno: Errno(rawValue: errno)))
    }

    /// The entry names of a directory (not `.` and `..`), in no particular order; empty when it
    /// is missing or unreadable.
    public func list(_ relative: String) -> [String] {
        guard let dir = opendir(path(relative)) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            // The name read in place: a `dirent` is only as long as its name (d_reclen), so copying
            // the whole struct (`entry.pointee`) reads past the last entry of readdir's buffer, and
            // into an unmapped page once a directory is large (2000 sessions crashed check --json).
            let name = String(cString: (UnsafeRawPointer(entry) + Self.direntNameOffset).assumingMemoryBound(to: CChar.self))
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

    /// Where the sysfs link at `relative` (in a directory that is no link itself, e.g. `class/…`)
    /// leads, relative to the root and starting with `/`, in one `readlink(2)` where `resolve`'s
    /// realpath costs one per component: the kernel makes its links relative paths to kobject
    /// directories, which are never links (kernfs_get_target_path), so only the target's `..` need
    /// applying. Nil when `relative` is no link, its target is absolute, or it leads above the root.
    public func kernelLinkTarget(_ relative: String) -> String? {
        let bytes = [UInt8](unsafeUninitializedCapacity: 4096) { buffer, count in
            let length = buffer.withMemoryRebound(to: CChar.self) { readlink(path(relative), $0.baseAddress!, $0.count) }
            count = length > 0 && length < buffer.count ? length : 0
        }
        // On bytes: splitting a String into Characters costs tens of thousands of instructions a path.
        let slash = UInt8(ascii: "/")
        guard let first = bytes.first, first != slash else { return nil }
        var components = Array(relative.utf8).split(separator: slash).dropLast()
        for part in bytes.split(separator: slash) {
            if part.elementsEqual("..".utf8) {
                guard !components.isEmpty else { return nil }
                components.removeLast()
            } else if !part.elementsEqual(".".utf8) {
                components.append(part)
            }
        }
        var result: [UInt8] = components.isEmpty ? [slash] : []
        for component in components {
            result.append(slash)
            result.append(contentsOf: component)
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Whether `relative` exists, but only by following a link out of the tree (which `resolve` refuses).
    public func leadsOutside(_ relative: String) -> Bool {
        guard !root.isEmpty, let resolved = realpath(path(relative), nil) else { return false }
        free(resolved)
        return resolve(relative) == nil
    }

    /// Whether `relative` exists (following links).
    public func exists(_ relative: String) -> Bool {
        access(path(relative), F_OK) == 0
    }

    /// When `relative` (following links) was last modified, in seconds since the epoch; nil when it
    /// cannot be stat'ed. For comparing a generated file with what it was generated from.
    public func modificationTime(_ relative: String) -> Int64? {
        var info = stat()
        guard stat(path(relative), &info) == 0 else { return nil }
        // timespec's seconds field, read as the first member of the C struct: under MemberImportVisibility
        // its `tv_sec` is only visible through the toolchain's private SwiftOverlayShims module.
        return withUnsafeBytes(of: info.st_mtim) { Int64($0.load(as: Int.self)) }
    }

    private var canonicalRootPath: String {
        canonicalRoot ?? Self.canonical(root) ?? root
    }

    private static func canonical(_ root: String) -> String? {
        guard !root.isEmpty, let resolved = realpath(root, nil) else { return root.isEmpty ? "" : nil }
        defer { free(resolved) }
        let value = String(cString: resolved)
        return value == "/" ? "" : value
    }

    /// The default cap of `read`: sysfs attributes are at most a page, configuration files small.
    public static let maximumReadSize = 1 << 20
}

/// A failed file operation: which path, and what the kernel answered.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let errno: Errno
    /// What the errno alone does not say: "not a regular file (a FIFO)", "larger than 1 MiB".
    public let detail: String?

    public init(path: String, errno: Errno, detail: String? = nil) {
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    /// "EINVAL (Invalid argument)", or the detail when there is one.
    public var reason: String { detail ?? "\(errno.symbolicName) (\(errno.description))" }

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
        case .fileTooLarge: "EFBIG"
        case .tooManySymbolicLinkLevels: "ELOOP"
        case .brokenPipe: "EPIPE"
        case .fileExists: "EEXIST"
        case .networkUnreachable: "ENETUNREACH"
        case .noRouteToHost: "EHOSTUNREACH"
        case .networkDown: "ENETDOWN"
        case .noBufferSpace: "ENOBUFS"
        case .improperLink: "EXDEV"
        default: "errno \(rawValue)"
        }
    }
}
