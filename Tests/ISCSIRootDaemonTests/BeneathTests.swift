import Glibc
import ISCSIRootCore
import SysfsFixtures
import Testing

/// Writes stay beneath the sysfs root: a symbolic link planted at a directory inside `--sysfs`
/// (the attribute itself is guarded by O_NOFOLLOW) must not carry `apply`'s writes out of the tree,
/// and `status` and `apply` must see the same chain.
@Suite("--sysfs with a linked directory inside")
struct BeneathTests {
    @Test("a device's target directory linked outside the tree: apply writes nothing there, status and apply name the same break")
    func linkedTargetDirectory() throws {
        let tree = try FixtureTree.healthyDisklessClient()
        // class/scsi_device/2:0:0:0 → …/targetT/2:0:0:0/scsi_device/2:0:0:0
        let link = try #require(tree.sysfs.kernelLinkTarget("class/scsi_device/2:0:0:0"))
        var components = link.split(separator: "/").map(String.init)
        components.removeLast(2)
        let device = components.removeLast()
        let target = "/" + components.joined(separator: "/")
        let outside = tree.directory + "/outside"
        try #require(mkdir(outside, 0o755) == 0)
        let moved = outside + "/" + components.last!
        try #require(rename(tree.sysfs.path(target), moved) == 0)
        try #require(symlink(moved, tree.sysfs.path(target)) == 0)
        let outsideTimeout = moved + "/" + device + "/timeout"
        #expect(ChildProcess.contents(outsideTimeout).trimmingWhitespace == "30")

        let apply = try runIscsiRootd(["apply", "--sysfs", tree.sysfs.root, "--root", tree.system.root])
        #expect(ChildProcess.contents(outsideTimeout).trimmingWhitespace == "30",
                "apply wrote outside the tree: \(apply.standardOutput)\(apply.standardError)")
        let status = try runIscsiRootd(["status", "--sysfs", tree.sysfs.root, "--root", tree.system.root,
                                        "--state-dir", tree.directory + "/no-state"])
        // Both say where the chain breaks, in the same words; neither calls the client healthy.
        let text = status.standardOutput + status.standardError
        #expect(text.contains("leads outside \(tree.sysfs.root)"), "\(text)")
        #expect(status.status != 0, "\(text)")
        #expect(apply.status == 3 && apply.standardError.contains("leads outside \(tree.sysfs.root): not tuned"),
                "\(apply.status): \(apply.standardOutput)\(apply.standardError)")
    }

    @Test("FileTree.write: a linked directory leading out is refused (EXDEV), a link that stays inside is followed")
    func writeBeneath() throws {
        let fixtures = try TemporaryDirectory("beneath")
        let root = fixtures.path + "/sys"
        let outside = fixtures.path + "/outside"
        try #require(mkdir(root, 0o755) == 0 && mkdir(outside, 0o755) == 0 && mkdir(root + "/real", 0o755) == 0)
        try writeFile(outside + "/timeout", "30\n")
        try writeFile(root + "/real/timeout", "30\n")
        try #require(symlink(outside, root + "/out") == 0)
        try #require(symlink("../outside", root + "/relative-out") == 0)
        try #require(symlink("real", root + "/in") == 0)
        let sysfs = FileTree(root: root)

        for path in ["out/timeout", "relative-out/timeout"] {
            guard case .failure(let error) = sysfs.write(path, "90") else {
                Issue.record("\(path) was written")
                continue
            }
            #expect(error.errno == .improperLink && error.description.hasSuffix("leads outside \(root) (a symbolic link on the way)"), "\(error)")
        }
        #expect(ChildProcess.contents(outside + "/timeout") == "30\n")
        #expect(throws: Never.self) { try sysfs.write("in/timeout", "90").get() }
        #expect(ChildProcess.contents(root + "/real/timeout") == "90")
        #expect(sysfs.isDirectoryWithoutLinks("real") && !sysfs.isDirectoryWithoutLinks("in") && !sysfs.isDirectoryWithoutLinks("out"))
    }
}
