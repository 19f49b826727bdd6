/// `<state-dir>/status`: the report `iscsi-rootd status` prints, rendered by the daemon from its own
/// view (the topology it scanned last, the configuration in force, its state) each time it writes
/// its state file, so a shell that is already open can show it while the root is frozen.
///
/// Why a file and not a program: during an outage with a cold page cache, starting any program
/// from the root waits for the disk. Even the daemon's own binary, whose pages the running daemon
/// keeps locked in memory, does: the dynamic loader first looks up /etc/ld.so.preload, a name
/// the dentry cache no longer holds, and that reads /etc's directory from the root (measured on
/// the e2e guest: 19 s, the rest of the outage). A shell's builtins reading a file in /run need
/// nothing from it (0.03 s, in a bash started before the cut and caches dropped after).
extension StatusReport {
    public static let daemonViewFileName = "status"

    /// The text of the file: a first line saying whose view it is and when it was written, then
    /// what `status` prints (no colour).
    public func daemonView(writtenMicroseconds: Int64, pid: Int32) -> String {
        "iscsi-rootd's own view at \(WallClock.format(microseconds: writtenMicroseconds)) (pid \(pid); "
            + "rewritten with its state file, every second while anything is wrong)\n"
            + text(color: false)
    }
}
