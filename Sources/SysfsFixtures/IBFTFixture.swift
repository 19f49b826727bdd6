import ISCSIRootCore

/// The firmware's iSCSI boot record as the kernel's iscsi_ibft module shows it, in the formats measured on
/// a real iBFT boot (iPXE `sanhook`, QEMU, kernel 6.1; see Tests/e2e/README.md): `lun` as eight `%x` digits,
/// `origin` 3 with the DHCP server in `dhcp` for a DHCP-configured NIC. The static variant is derived, not
/// measured: origin 1 (manual, the iBFT's IP origin) and no `dhcp` file (iscsi_ibft.c hides zero addresses).
public struct IBFTFixture: Sendable {
    public var initiator = "iqn.2010-04.org.ipxe:client"
    public var target = "iqn.2003-01.org.example:root"
    public var address = "10.0.2.2"
    public var port = 3262
    public var lun = "01000000"
    public var mac = "52:54:00:12:34:56"
    public var nicAddress = "10.0.2.15"
    public var dhcp = true
    /// The kernel's name of the NIC with `mac` (`sys/class/net/<name>/address`); nil: no such interface.
    public var interface: String? = "eth0"

    public init() {}

    /// The files, relative to the sysfs root.
    public var files: [String: String] {
        var files = [
            "firmware/ibft/initiator/initiator-name": initiator,
            "firmware/ibft/target0/target-name": target,
            "firmware/ibft/target0/ip-addr": address,
            "firmware/ibft/target0/port": "\(port)",
            "firmware/ibft/target0/lun": lun,
            "firmware/ibft/target0/nic-assoc": "0",
            "firmware/ibft/target0/chap-type": "0",
            "firmware/ibft/ethernet0/mac": mac,
            "firmware/ibft/ethernet0/ip-addr": nicAddress,
            "firmware/ibft/ethernet0/prefix-len": "24",
            "firmware/ibft/ethernet0/gateway": address,
            "firmware/ibft/ethernet0/origin": dhcp ? "3" : "1",
            "firmware/ibft/acpi_header/signature": "iBFT",
            "firmware/ibft/acpi_header/oem_table_id": "iPXE",
        ]
        if dhcp { files["firmware/ibft/ethernet0/dhcp"] = address }
        if let interface { files["class/net/\(interface)/address"] = mac }
        return files
    }

    /// The files under a system root's `sys/` (what `check` reads), each with the kernel's newline.
    public var systemFiles: [String: String] {
        Dictionary(uniqueKeysWithValues: files.map { ("sys/\($0.key)", $0.value + "\n") })
    }
}

extension FixtureTree {
    /// Lays the firmware's boot record out under the sysfs root.
    public func addIBFT(_ fixture: IBFTFixture) throws {
        for (path, value) in fixture.files { try setAttribute(path, value) }
    }
}
