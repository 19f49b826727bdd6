/// The paths the commands and the daemon use unless told otherwise: the one table behind the command
/// line's defaults (ArgumentParser's in `iscsi-rootd`, the daemon's own parser and its help text).
public enum DefaultPaths {
    /// `--sysfs`: the running kernel's sysfs.
    public static let sysfs = "/sys"
    /// `--root`: the running system's `/` (its `/etc`, `/proc`).
    public static let root = "/"
    /// `--state-dir`: where the daemon writes `state.json` for `status`.
    public static let stateDirectory = "/run/iscsi-rootd"
    /// `--kernel-log`: the kernel's log.
    public static let kernelLog = "/dev/kmsg"
    /// `--console auto` with the journal: where the daemon also writes its critical transitions as they happen.
    public static let console = "/dev/console"
}
