import Glibc

/// `path` made absolute against the working directory, so that every command resolves a relative
/// `--sysfs`, `--root`, `--config` or `--state-dir` the same way.
public func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let cwd = getcwd(nil, 0) else { return path }
    defer { free(cwd) }
    let directory = String(cString: cwd)
    return (directory == "/" ? "" : directory) + "/" + path
}
