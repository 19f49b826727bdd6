@testable import ISCSIRootCore
import Testing

/// fstab(5) writes a space, tab or backslash within a field as an octal escape, as mountinfo does.
@Suite("fstab and mountinfo octal escapes")
struct FstabEscapeTests {
    @Test func fstabFieldsAreDecoded() {
        let entries = FstabEntry.parse("LABEL=my\\040root / ext4 defaults 0 1\n/dev/sdb1 /srv/my\\040data\\011x ext4 noatime,x-note=a\\134b 0 2\n")
        #expect(entries.map(\.source) == ["LABEL=my root", "/dev/sdb1"])
        #expect(entries.map(\.mountPoint) == ["/", "/srv/my data\tx"])
        #expect(entries[1].options == ["noatime", "x-note=a\\b"])
    }

    @Test func mountinfoFieldsAreDecoded() {
        let table = MountEntry.parseMountInfo("36 1 8:2 / /srv/my\\040data rw,relatime shared:1 - ext4 /dev/sd\\134a2 rw\n")
        #expect(table.map(\.mountPoint) == ["/srv/my data"])
        #expect(table.map(\.source) == ["/dev/sd\\a2"])
    }

    @Test func theKernelsOctalEscapingReadsBack() {
        let path = "/srv/my data\tx\\y\nz é"
        #expect(path.escapedOctal == "/srv/my\\040data\\011x\\134y\\012z\\040é")
        #expect(unescapeOctal(Substring(path.escapedOctal)) == path)
        #expect("/plain".escapedOctal == "/plain")
    }
}
