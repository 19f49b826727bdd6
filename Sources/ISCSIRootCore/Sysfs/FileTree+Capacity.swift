#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileTree {
    /// Why the file system holding `relative` cannot take a new file now: "read-only", "full"
    /// (no block or no inode left, reserved ones counted: the daemon writes as root), or nil when it
    /// can or this cannot be told (statvfs fails). Says why a daemon's file stopped changing.
    /// `bytes`: the size of the file to be written (less free space than that is full too).
    public func cannotTakeWrites(_ relative: String, bytes: Int = 1) -> String? {
        var info = statvfs()
        guard statvfs(path(relative), &info) == 0 else { return nil }
        if info.f_flag & UInt(ST_RDONLY) != 0 { return "read-only" }
        let (free, overflow) = UInt64(info.f_bfree).multipliedReportingOverflow(by: UInt64(info.f_bsize))
        if (!overflow && free < UInt64(max(bytes, 1))) || (info.f_files > 0 && info.f_ffree == 0) { return "full" }
        return nil
    }
}
