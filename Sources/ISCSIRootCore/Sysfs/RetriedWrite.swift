#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// The one write(2) loop of the project: the attribute writer, the file replacement, the daemon's
/// log lines and the commands' output all go through it.
public enum RetriedWrite {
    /// One `write` (the default is write(2) on `fd`), retried while interrupted (EINTR): how many
    /// bytes it took, or why none.
    public static func once(_ bytes: UnsafeRawBufferPointer, to fd: Int32,
                            through write: (Int32, UnsafeRawBufferPointer) -> Int = plainWrite) -> Result<Int, Errno> {
        while true {
            let written = write(fd, bytes)
            if written >= 0 { return .success(written) }
            if errno != EINTR { return .failure(Errno(rawValue: errno)) }
        }
    }

    /// Writes from `bytes` until all are taken or a write fails (EAGAIN included: the caller
    /// decides whether to wait): how many were taken, and the error that stopped it, if any.
    public static func all(_ bytes: UnsafeRawBufferPointer, to fd: Int32,
                           through write: (Int32, UnsafeRawBufferPointer) -> Int = plainWrite) -> (written: Int, error: Errno?) {
        var offset = 0
        while offset < bytes.count {
            switch once(UnsafeRawBufferPointer(rebasing: bytes[offset...]), to: fd, through: write) {
            case .success(0): return (offset, .ioError)
            case .success(let count): offset += count
            case .failure(let error): return (offset, error)
            }
        }
        return (offset, nil)
    }

    /// write(2).
    public static func plainWrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        Glibc.write(fd, bytes.baseAddress, bytes.count)
    }
}
