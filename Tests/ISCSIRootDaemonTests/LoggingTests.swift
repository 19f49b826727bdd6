import Glibc
import Testing
@testable import ISCSIRootDaemon

private func entry(_ level: Logger.Level, _ message: String, _ fields: [String: String] = [:]) -> LogLine {
    LogLine(priority: level.rawValue, message: message, fields: fields)
}

@Suite("JournalLogHandler and LogLine")
struct LoggingTests {
    @Test("an entry reads as the documented line")
    func documentedLine() {
        let handler = JournalLogHandler(destination: .stderr)
        let line = handler.journalLine(for: entry(.warning, "session1 failed", [
            "MESSAGE_ID": "4e1c2b9a6f0d4a3e8b7c5d2e1f0a9b8c",
            "ISCSI_SESSION": "session1",
            "ISCSI_TARGET": "iqn.2003-01.org.linux-iscsi:target x",
            "STATE": "FAILED",
        ]))
        #expect(line.formatted == #"<4>session1 failed\#t[ISCSI_SESSION=session1 ISCSI_TARGET="iqn.2003-01.org.linux-iscsi:target x" MESSAGE_ID=4e1c2b9a6f0d4a3e8b7c5d2e1f0a9b8c STATE=FAILED]"#)
    }

    @Test("messages and values with the format's special characters survive a round trip")
    func roundTrip() throws {
        let handler = JournalLogHandler(destination: .stderr)
        let tricky = handler.journalLine(for: entry(.error, "\(#"writing "none" to sda [2:0:0:0] failed:\ EINVAL"#)\nsecond line\r", [
            "empty": "",
            "spaces": "a b  c",
            "quotes": #"say "hi" \ bye"#,
            "brackets": "[x] ]",
            "newlines": "one\ntwo\r\n\tthree",
            "equals": "A=B=C",
            "unicode": "Grüße→",
        ]))
        #expect(!tricky.formatted.contains("\n"))
        #expect(try LogLine.parse(tricky.formatted) == tricky)
        #expect(try LogLine.parse(tricky.formatted + "\n") == tricky)

        let plain = LogLine(priority: 6, message: "no fields here [REALLY=yes]")
        #expect(plain.formatted == "<6>no fields here [REALLY=yes]")
        #expect(try LogLine.parse(plain.formatted) == plain)
        #expect(try LogLine.parse("<7>") == LogLine(priority: 7, message: ""))
    }

    @Test("the message reads as status and the journal write it: a [ in the text is not escaped")
    func bracketsInTheMessageStayAsTheyAre() throws {
        let line = LogLine(priority: 2, message: "/, [swap] at risk: session1 is in recovery",
                           fields: ["MESSAGE_ID": "6ca7a159dd6140248b6a6a355e51d54e", "CARRIES": "/ [swap]"])
        #expect(line.formatted == #"<2>/, [swap] at risk: session1 is in recovery\#t[CARRIES="/ [swap]" MESSAGE_ID=6ca7a159dd6140248b6a6a355e51d54e]"#)
        #expect(try LogLine.parse(line.formatted) == line)
        // A tab in the text is escaped, so it cannot open a field list.
        let tab = LogLine(priority: 6, message: "a\t[B=c]")
        #expect(tab.formatted == #"<6>a\t[B=c]"#)
        #expect(try LogLine.parse(tab.formatted) == tab)
    }

    @Test("metadata keys become valid journal field names", arguments: [
        ("ISCSI_SESSION", "ISCSI_SESSION"),
        ("iscsi.session", "ISCSI_SESSION"),
        ("scsi-device", "SCSI_DEVICE"),
        ("_pid", "PID"),
        ("__", "META_"),
        ("9lives", "META_9LIVES"),
        ("MESSAGE", "META_MESSAGE"),
        ("priority", "META_PRIORITY"),
        ("Grüße", "GR__E"),
        (String(repeating: "x", count: 80), String(repeating: "X", count: 64)),
        // Upper-case keys at the edges of the as-it-stands check.
        ("9LIVES", "META_9LIVES"),
        ("_PID", "PID"),
        ("PRIORITY", "META_PRIORITY"),
        (String(repeating: "X", count: 65), String(repeating: "X", count: 64)),
        ("DURATION_USEC", "DURATION_USEC"),
    ])
    func fieldNames(key: String, expected: String) {
        #expect(JournalLogHandler.fieldName(key) == expected)
        #expect(expected.unicodeScalars.allSatisfy(JournalLogHandler.isFieldNameCharacter))
    }

    @Test("syslog priorities map to the logger's levels: 0–2 critical, 7 (debug) info", arguments: [
        (0, Logger.Level.critical), (1, .critical), (2, .critical), (3, .error), (4, .warning), (5, .notice),
        (6, .info), (7, .info),
    ])
    func levels(priority: Int, level: Logger.Level) {
        #expect(Logger.Level(priority: priority) == level)
    }

    @Test("field keys are renamed to journal field names, values kept exactly")
    func fieldsRenamed() {
        let line = JournalLogHandler(destination: .stderr).journalLine(for: entry(.notice, "tuned", [
            "scsi.host": "host3", "DEVICE": "sd b\\n", "priority": "x",
        ]))
        #expect(line == LogLine(priority: 5, message: "tuned",
                                fields: ["SCSI_HOST": "host3", "DEVICE": "sd b\\n", "META_PRIORITY": "x"]))
    }

    @Test("malformed lines are rejected with the reason and place", arguments: [
        ("session1 failed", "no <0>…<7> priority prefix"),
        ("<9>x", "no <0>…<7> priority prefix"),
        (#"<3>a \q"#, "unknown escape in the message"),
        (#"<3>a \[x]"#, "unknown escape in the message"),
        ("<3>a\tb", "a tab opens the field list: [ must follow"),
        ("<3>a\t[state=FAILED]", "field names are A-Z, 0-9 and _"),
        ("<3>a\t[STATE]", "field names are A-Z, 0-9 and _"),
        ("<3>a\t[=x]", "a field needs NAME=VALUE"),
        (#"<3>a\#t[STATE="FAILED]"#, "unterminated quoted value"),
        ("<3>a\t[STATE=]", "an empty value must be quoted"),
        ("<3>a\t[STATE=FAILED", "the field list does not end with ]"),
        ("<3>a\t[STATE=FAILED] x", "text after the field list"),
    ])
    func rejects(line: String, reason: String) {
        #expect {
            try LogLine.parse(line)
        } throws: { error in
            (error as? LogLineParseError)?.reason == reason
        }
    }

    @Test("the destination follows the journal socket's existence")
    func automaticDestination() throws {
        var template = Array("/tmp/iscsi-rootd-journal-XXXXXX".utf8CString)
        let directory = String(cString: try #require(mkdtemp(&template)))
        defer { rmdir(directory) }
        let socketPath = directory + "/socket"
        #expect(LogDestination.automatic(journalSocket: socketPath) == .stderr)
        close(creat(socketPath, 0o600))
        defer { unlink(socketPath) }
        #expect(LogDestination.automatic(journalSocket: socketPath) == .journal)
    }

    @Test("journald's native protocol: NAME=value lines, a value with a newline as NAME, its length (64-bit LE) and the bytes")
    func nativeProtocol() {
        let datagram = JournalSocket.datagram([("MESSAGE", "one line"), ("TRACE", "a\nb"), ("EMPTY", "")])
        let expected = Array("MESSAGE=one line\nTRACE\n".utf8) + [3, 0, 0, 0, 0, 0, 0, 0] + Array("a\nb\nEMPTY=\n".utf8)
        #expect(datagram == expected)
    }
}
