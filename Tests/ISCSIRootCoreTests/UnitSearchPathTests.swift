import Testing
@testable import ISCSIRootCore

/// `check` finds units where systemd does: every directory of the unit search path, or what the
/// running systemd says; its fixes name the paths the install used.
@Suite struct UnitSearchPathTests {
    /// The good client with the project installed by `make install` under /usr/local (open-iscsi's own
    /// units stay in /usr/lib).
    static func usrLocalFiles() throws -> [String: String?] {
        var files: [String: String?] = [:]
        for (path, contents) in try AuditTests.goodFiles() {
            let moved = path.hasPrefix("usr/lib/systemd/system/") && !path.hasSuffix("iscsid.service") && !path.hasSuffix("iscsid.socket")
            files[moved ? "usr/local/" + path.dropFirst("usr/".count) : path] = contents
        }
        files["usr/local/share/doc/iscsi-rootd/examples/iscsid.service"] = AuditTests.upstreamISCSID
        return files
    }

    static func audit(_ files: [String: String?], enabled: Bool = true, systemd: SystemdAnswers? = nil) throws -> [AuditItem] {
        try AuditTests.withSystem(files, enabled: enabled) { system in
            BootChainAudit(system: system, topology: AuditTests.topology(), policy: DiskPolicy(), systemd: systemd).run()
        }
    }

    @Test func anInstallUnderUsrLocalPasses() throws {
        let items = try Self.audit(try Self.usrLocalFiles())
        for item in items { #expect(item.verdict == .ok, "\(item.id): \(item.detail)") }
        #expect(try AuditTests.item("iscsid-shutdown", items).detail.contains("SurviveFinalKillSignal=yes"))
    }

    @Test func fixesNameThePrefixTheInstallUsed() throws {
        var files = try Self.usrLocalFiles()
        files["usr/local/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf"] = nil
        files["usr/local/lib/systemd/system/iscsid.socket.d/iscsi-rootd.conf"] = nil
        files[AuditTests.nodePath] = nil
        files["etc/iscsi/iscsid.conf"] = nil
        let items = try Self.audit(files)
        let shutdown = try AuditTests.item("iscsid-shutdown", items)
        #expect(shutdown.fix?.contains("install iscsi-rootd's drop-in /usr/local/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf") == true,
                "\(shutdown.fix ?? "no fix")")
        #expect(shutdown.fix?.contains("/usr/local/lib/systemd/system/iscsid.socket.d/iscsi-rootd.conf") == true)
        #expect(shutdown.fix?.contains("/usr/lib/systemd/system/iscsid") == false)
        #expect(try AuditTests.item("node-record", items).fix?
            .contains("/usr/local/share/doc/iscsi-rootd/examples/iscsi-root-node.sh") == true)

        let packaged = try Self.audit(try AuditTests.changed(["usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf": nil]))
        #expect(try AuditTests.item("iscsid-shutdown", packaged).fix?
            .contains("/usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf") == true)
    }

    @Test func dropInsAndMasksInEveryDirectoryCount() throws {
        let dropIn = try AuditTests.shipped("systemd/iscsid.service.d/iscsi-rootd.conf")
        let control = try Self.audit(try AuditTests.changed([
            "usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf": nil,
            "etc/systemd/system.control/iscsid.service.d/iscsi-rootd.conf": dropIn,
        ]))
        #expect(try AuditTests.item("iscsid-shutdown", control).verdict == .ok)

        let runtime = try Self.audit(try AuditTests.changed([
            "run/systemd/system/iscsid.service.d/99-stop.conf": "[Unit]\nConflicts=shutdown.target\n",
        ]))
        let shutdown = try AuditTests.item("iscsid-shutdown", runtime)
        #expect(shutdown.verdict == .fail)
        #expect(shutdown.detail.contains("/run/systemd/system/iscsid.service.d/99-stop.conf"))

        let masked = try Self.audit(try AuditTests.changed(["run/systemd/transient/iscsi-rootd.service": ""]))
        #expect(try AuditTests.item("service", masked).verdict == .fail)
    }

    @Test func enablementLinksAnywhereOnTheSearchPath() throws {
        var files = try AuditTests.goodFiles() as [String: String?]
        files["usr/local/lib/systemd/system/sysinit.target.wants/iscsi-rootd.service"] = "[Unit]\n"
        let service = try AuditTests.item("service", try Self.audit(files, enabled: false))
        #expect(service.verdict == .ok)
        #expect(service.detail.contains("link /usr/local/lib/systemd/system/sysinit.target.wants/iscsi-rootd.service"))
    }

    // MARK: What the running systemd says

    static func answers(iscsid: ManagedUnit? = nil, service: ManagedUnit? = nil, version: Int? = 256) -> SystemdAnswers {
        SystemdAnswers(version: version, units: [
            "iscsid.service": iscsid ?? ManagedUnit(
                loadState: "loaded", fragmentPath: "/usr/lib/systemd/system/iscsid.service",
                dropInPaths: ["/usr/lib/systemd/system/iscsid.service.d/iscsi-rootd.conf"], unitFileState: "enabled"),
            "iscsid.socket": ManagedUnit(loadState: "loaded", fragmentPath: "/usr/lib/systemd/system/iscsid.socket",
                                         dropInPaths: ["/usr/lib/systemd/system/iscsid.socket.d/iscsi-rootd.conf"],
                                         unitFileState: "enabled"),
            "-.mount": ManagedUnit(loadState: "loaded", fragmentPath: "/run/systemd/generator/-.mount", dropInPaths: [],
                                   unitFileState: "generated"),
            "iscsi-rootd.service": service ?? ManagedUnit(
                loadState: "loaded", fragmentPath: "/usr/lib/systemd/system/iscsi-rootd.service", dropInPaths: [],
                unitFileState: "enabled"),
        ])
    }

    @Test func systemdsAnswersAreTrustedOverTheSearchPath() throws {
        // Enabled according to systemd, with no link under the root this test reads.
        let good = try Self.audit(try AuditTests.goodFiles(), enabled: false, systemd: Self.answers())
        for item in good { #expect(item.verdict == .ok, "\(item.id): \(item.detail)") }
        #expect(try AuditTests.item("service", good).detail.contains("systemd says UnitFileState=enabled"))

        // The fragment systemd loaded lives where no search-path directory is (a generator's output, say).
        var files = try AuditTests.goodFiles() as [String: String?]
        files["run/systemd/generator.late/iscsid.service"] = "[Unit]\nConflicts=shutdown.target\n[Service]\nExecStart=/usr/sbin/iscsid\n"
        let generated = try Self.audit(files, systemd: Self.answers(iscsid: ManagedUnit(
            loadState: "loaded", fragmentPath: "/run/systemd/generator.late/iscsid.service", dropInPaths: [],
            unitFileState: "generated")))
        let shutdown = try AuditTests.item("iscsid-shutdown", generated)
        #expect(shutdown.verdict == .fail)
        #expect(shutdown.detail.contains("(/run/systemd/generator.late/iscsid.service)"))

        let masked = try Self.audit(try AuditTests.goodFiles(), systemd: Self.answers(service: ManagedUnit(
            loadState: "masked", fragmentPath: "/etc/systemd/system/iscsi-rootd.service", dropInPaths: [],
            unitFileState: "masked")))
        #expect(try AuditTests.item("service", masked).verdict == .fail)

        let disabled = try Self.audit(try AuditTests.goodFiles(), systemd: Self.answers(service: ManagedUnit(
            loadState: "loaded", fragmentPath: "/usr/lib/systemd/system/iscsi-rootd.service", dropInPaths: [],
            unitFileState: "disabled")))
        let service = try AuditTests.item("service", disabled)
        #expect(service.verdict == .warn)
        #expect(service.detail.contains("UnitFileState=disabled"))
    }

    @Test func systemdsVersionDecidesSurviveFinalKillSignal() throws {
        let items = try Self.audit(try AuditTests.goodFiles(), systemd: Self.answers(version: 252))
        let shutdown = try AuditTests.item("iscsid-shutdown", items)
        #expect(shutdown.verdict == .warn)
        #expect(shutdown.detail.contains("systemd 252 ignores it"))
    }

    @Test func debiansMultiarchSharedLibraryGivesTheVersion() throws {
        let items = try Self.audit(try AuditTests.changed([
            "usr/lib/systemd/libsystemd-shared-256.so": nil,
            "usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so": "",
        ]))
        #expect(try AuditTests.item("iscsid-shutdown", items).detail.contains("systemd 252 ignores it"))
    }

    @Test func anUnreadableFileSystemdNamesFallsBackToTheSearchPath() throws {
        let items = try Self.audit(try AuditTests.goodFiles(), systemd: Self.answers(iscsid: ManagedUnit(
            loadState: "loaded", fragmentPath: "/nowhere/iscsid.service", dropInPaths: [], unitFileState: "enabled")))
        #expect(try AuditTests.item("iscsid-shutdown", items).verdict == .ok)
    }

    @Test func majorVersions() {
        #expect(SystemdAnswers.majorVersion("252.39-1~deb12u2") == 252)
        #expect(SystemdAnswers.majorVersion("256.7-1-arch") == 256)
        #expect(SystemdAnswers.majorVersion("v257") == 257)
        #expect(SystemdAnswers.majorVersion("unknown") == nil)
    }
}
