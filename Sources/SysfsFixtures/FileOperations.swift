import Foundation
import ISCSIRootCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file operation of the builder that failed.
public struct FixtureError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    static func errno(_ what: String, _ path: String) -> FixtureError {
        FixtureError(message: "\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Plain POSIX file operations on absolute paths (fast enough for thousands of LUNs).
enum Files {
    static func makeDirectories(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || Glibc.errno == EEXIST { return }
        guard Glibc.errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw FixtureError.errno("mkdir", path)
        }
        try makeDirectories(String(path[..<slash]))
        if mkdir(path, 0o755) != 0 && Glibc.errno != EEXIST { throw FixtureError.errno("mkdir", path) }
    }

    /// Writes `bytes` with `mode`; an existing file is replaced atomically (a reader never sees it missing).
    static func write(_ path: String, _ bytes: [UInt8], mode: UInt16) throws {
        try makeDirectories(TopologyScanner.parent(path))
        var target = path
        let exists = lstatExists(path)
        if exists { target = TopologyScanner.parent(path) + "/.fixture-\(getpid())-" + TopologyScanner.lastComponent(path) }
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FixtureError.errno("create", target) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw FixtureError.errno("write", target) }
        guard fchmod(fd, mode_t(mode)) == 0 else { throw FixtureError.errno("chmod", target) }
        if exists {
            if isDirectory(path) { try remove(path) }
            guard rename(target, path) == 0 else { throw FixtureError.errno("rename", target) }
        }
    }

    static func write(_ path: String, _ text: String, mode: UInt16 = 0o644) throws {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// A symbolic link at `path` with the literal `target` (replacing whatever was there).
    static func symlink(_ path: String, target: String) throws {
        try makeDirectories(TopologyScanner.parent(path))
        if lstatExists(path) { try remove(path) }
        guard Glibc.symlink(target, path) == 0 else { throw FixtureError.errno("symlink", path) }
    }

    /// A relative link from `path` to `target`, both absolute: `../../devices/…` as the kernel makes them.
    static func relativeSymlink(_ path: String, to target: String) throws {
        let from = TopologyScanner.parent(path).split(separator: "/")
        let to = target.split(separator: "/")
        var common = 0
        while common < from.count && common < to.count && from[common] == to[common] { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        try symlink(path, target: (ups + to[common...].map(String.init)).joined(separator: "/"))
    }

    /// A bound unix socket: `open(2)` on it fails with ENXIO, as reading `wwid` does on QEMU's CD-ROM.
    /// It is bound at the short `scratch` path (socket addresses hold 107 bytes) and renamed into place.
    static func socketFile(_ path: String, scratch: String) throws {
        try makeDirectories(TopologyScanner.parent(path))
        if lstatExists(path) { try remove(path) }
        try bindSocket(scratch)
        guard rename(scratch, path) == 0 else { throw FixtureError.errno("rename", scratch) }
    }

    private static func bindSocket(_ path: String) throws {
        if lstatExists(path) { try remove(path) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError.errno("socket", path) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw FixtureError(message: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw FixtureError.errno("bind", path) }
    }

    static func remove(_ path: String) throws {
        guard lstatExists(path) else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw FixtureError(message: "remove \(path): \(error)")
        }
    }

    static func lstatExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
