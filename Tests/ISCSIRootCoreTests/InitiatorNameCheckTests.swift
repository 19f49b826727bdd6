import ISCSIRootCore
import Testing

/// `check`'s `initiator-name` item (issue 22): where the root session's initiator name came from,
/// a warning when the image's own file names every client of a shared image, and the fix in the
/// terms of the generator that built the initramfs.
@Suite("check: the root session's initiator name")
struct InitiatorNameCheckTests {
    static let live = "iqn.1993-08.org.debian:01:23e54346c1cd"

    /// The audit's topology with / on an overlay over the iSCSI disk (one image, many clients).
    static func overlayRoot() -> Topology {
        let plain = AuditTests.topology()
        let root = StorageChain(use: .root, source: "overlay", fileSystem: "overlay", path: ["sda"], disks: ["sda"], overlay: "/")
        return Topology(sessions: plain.sessions, hosts: plain.hosts, devices: plain.devices, chains: [root])
    }

    func item(_ changes: [String: String?], topology: Topology = overlayRoot()) throws -> AuditItem {
        try AuditTests.item("initiator-name", AuditTests.audit(try AuditTests.changed(changes), topology: topology))
    }

    @Test func imageFileOnAPlainRootIsFine() throws {
        let item = try item([:], topology: AuditTests.topology())
        #expect(item.verdict == .ok)
        #expect(item.detail.contains("from this image's own /etc/iscsi/initiatorname.iscsi"))
    }

    @Test func imageFileOnASharedRootWarnsWithTheGeneratorsFix() throws {
        let mkinitcpio = try item(["etc/mkinitcpio.conf": "HOOKS=(base udev block iscsi filesystems)\n"])
        #expect(mkinitcpio.verdict == .warn)
        #expect(mkinitcpio.detail.contains("logged in as \(Self.live), from the image's own /etc/iscsi/initiatorname.iscsi, and / is an overlay over the iSCSI disk"))
        #expect(mkinitcpio.fix?.contains("iscsi_initiator=iqn.1993-08.org.debian:<its own name>") == true)
        #expect(mkinitcpio.fix?.contains("iscsi_initiator=derive:mac") == true)
        // dracut: its own command line word.
        let dracut = try item(["proc/cmdline": "root=iscsi:10.0.0.1::3260:0:iqn.2003-01.org.example:root rd.iscsi.param=x\n"])
        #expect(dracut.verdict == .warn)
        #expect(dracut.fix?.hasPrefix("give each client rd.iscsi.initiator=iqn.1993-08.org.debian:<its own name>") == true)
        // initramfs-tools: the kernel command line, or iscsi-rootd's derivation in iscsi.initramfs.
        let debian = try item(["etc/initramfs-tools/initramfs.conf": "MODULES=most\n"])
        #expect(debian.fix?.contains("ISCSI_ROOTD_INITIATOR_FROM=mac") == true)
        #expect(debian.fix?.contains("iscsi_initiator=iqn.1993-08.org.debian:<its own name>") == true)
    }

    @Test func aNameFromTheCommandLineIBFTOrTheHooksDerivationIsTheClientsOwn() throws {
        let dracut = try item(["proc/cmdline": "rd.iscsi.initiator=\(Self.live) netroot=iscsi:10.0.0.1::::iqn.x\n"])
        #expect(dracut.verdict == .ok && dracut.detail.contains("from the kernel command line (rd.iscsi.initiator=)"))
        let arch = try item(["proc/cmdline": "iscsi_initiator=\(Self.live)\n"])
        #expect(arch.verdict == .ok && arch.detail.contains("(iscsi_initiator=)"))
        let ibft = try item(["sys/firmware/ibft/initiator/initiator-name": Self.live + "\n"])
        #expect(ibft.verdict == .ok && ibft.detail.contains("from the firmware's iBFT"))
        let derived = try item(["run/iscsi-rootd/initiatorname": "InitiatorName=\(Self.live)\nDerivedFrom=mac eth0 52:54:00:12:34:56\n"])
        #expect(derived.verdict == .ok && derived.detail.contains("derived at boot from mac eth0 52:54:00:12:34:56"))
    }

    @Test func aNameNothingHereNamesIsUnknown() throws {
        let item = try item(["etc/iscsi/initiatorname.iscsi": "InitiatorName=iqn.2005-03.org.open-iscsi:other\n"])
        #expect(item.verdict == .unknown)
        #expect(item.detail.contains("(iqn.2005-03.org.open-iscsi:other)"))
    }

    @Test func aReadOnlyOrLoopRootIsSharedToo() {
        let readOnly = StorageChain(use: .root, source: "sda", fileSystem: "ext4", path: ["sda"], disks: ["sda"], readOnly: true)
        #expect(InitiatorNameCheckTests.shared(readOnly) == "mounted read-only")
        let plain = StorageChain(use: .root, source: "sda", fileSystem: "ext4", path: ["sda"], disks: ["sda"])
        #expect(InitiatorNameCheckTests.shared(plain) == nil)
    }

    static func shared(_ root: StorageChain) -> String? {
        let plain = AuditTests.topology()
        let topology = Topology(sessions: plain.sessions, hosts: plain.hosts, devices: plain.devices, chains: [root])
        let item = try? AuditTests.item("initiator-name", AuditTests.audit(try AuditTests.goodFiles(), topology: topology))
        guard let item, item.verdict == .warn else { return nil }
        return item.detail.contains("/ is mounted read-only") ? "mounted read-only" : "other"
    }
}
