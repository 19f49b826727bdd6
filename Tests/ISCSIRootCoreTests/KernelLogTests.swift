import Foundation
import ISCSIRootCore
import Testing

@Suite("Kernel log: /dev/kmsg records and the storage signals in them")
struct KernelLogTests {
    // MARK: KernelRecord

    @Test func parsesARecordWithContinuationLines() throws {
        let record = try #require(KernelRecord(kmsg:
            "3,1234,169182037,-;sd 0:0:0:1: rejecting I/O to offline device\n SUBSYSTEM=scsi\n DEVICE=+scsi:0:0:0:1\n"))
        #expect(record.level == 3)
        #expect(record.sequence == 1234)
        #expect(record.timestampMicroseconds == 169_182_037)
        #expect(record.message == "sd 0:0:0:1: rejecting I/O to offline device")
        #expect(record.properties == ["SUBSYSTEM": "scsi", "DEVICE": "+scsi:0:0:0:1"])
    }

    @Test func stripsTheFacilityAndKeepsExtraPrefixFields() throws {
        // Facility daemon (3 << 3) at info, and a caller id after the flags (CONFIG_PRINTK_CALLER).
        let record = try #require(KernelRecord(kmsg: "30,7,5000000,c,caller=T1;systemd[1]: hello\n"))
        #expect(record.level == 6)
        #expect(record.sequence == 7)
        #expect(record.message == "systemd[1]: hello")
    }

    @Test func unescapesHexEscapes() throws {
        let record = try #require(KernelRecord(kmsg: #"6,1,2,-;path caf\xc3\xa9 tab\x09end \x"# + "\n"))
        #expect(record.message == "path café tab\tend \\x")
    }

    @Test func rejectsMalformedRecords() {
        for text in ["", "\n", "no semicolon here", "6,1234;too few fields", "x,1,2,-;bad priority",
                     "6,-1,2,-;negative sequence", "6,1,2.5,-;fractional time", " SUBSYSTEM=scsi\n"] {
            #expect(KernelRecord(kmsg: text) == nil, "accepted: \(text)")
        }
    }

    @Test func consoleLinesBecomeRecordsInOrder() throws {
        let records = try OutageConsole.kmsgRecords("console-O150-stock.txt").map { try #require(KernelRecord(kmsg: $0)) }
        #expect(records.count > 100)
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.sequence + 1 == $1.sequence })
        let timeout = try #require(records.first { $0.message.contains("session recovery timed out") })
        #expect(timeout.timestampMicroseconds == 169_182_037)
        #expect(timeout.message == " session1: session recovery timed out after 120 secs")
    }

    // MARK: KernelStorageSignal

    @Test func recognisesEachLineTypeOfTheCapturedOutage() throws {
        let expected: [(String, KernelStorageSignal)] = [
            (" session1: session recovery timed out after 120 secs", .recoveryTimedOut(session: 1, seconds: 120)),
            ("sd 0:0:0:1: rejecting I/O to offline device", .rejectingOffline(HCTL(host: 0, channel: 0, target: 0, lun: 1))),
            ("I/O error, dev sda, sector 1839120 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2", .ioError(device: "sda")),
            ("Buffer I/O error on device sda, logical block 229890", .ioError(device: "sda")),
            ("Buffer I/O error on dev sda, logical block 196608, lost sync page write", .ioError(device: "sda")),
            ("EXT4-fs error (device sda): ext4_journal_check_start:83: comm systemd-journal: Detected aborted journal",
             .fileSystemError(device: "sda")),
            ("Aborting journal on device sda-8.", .journalAborted(device: "sda")),
            ("EXT4-fs (sda): Remounting filesystem read-only", .remountedReadOnly(device: "sda")),
            (" connection1:0: detected conn error (1022)", .connectionError(session: 1, error: .nopTimedOut)),
        ]
        let console = try OutageConsole.kmsgRecords("console-O150-stock.txt").compactMap { KernelRecord(kmsg: $0)?.message }
        for (line, signal) in expected {
            #expect(console.contains(line), "not in the capture: \(line)")
            #expect(KernelStorageSignal(message: line) == signal, "\(line)")
        }
        #expect(KernelStorageSignal(message: "Aborting journal on device dm-0-8.") == .journalAborted(device: "dm-0"))
        #expect(KernelStorageSignal(message: " session12: session recovery timed out after 5 secs")
                == .recoveryTimedOut(session: 12, seconds: 5))
    }

    @Test func onlyThoseLinesOfTheCaptureAreSignals() throws {
        let console = try OutageConsole.kmsgRecords("console-O150-stock.txt").compactMap { KernelRecord(kmsg: $0)?.message }
        let recognised = console.filter { KernelStorageSignal(message: $0) != nil }
        let ignored = console.filter { KernelStorageSignal(message: $0) == nil }
        #expect(recognised.allSatisfy { line in
            ["session recovery timed out", "rejecting I/O", "I/O error, dev", "Buffer I/O error on dev", "EXT4-fs error (device",
             "Aborting journal", "Remounting filesystem read-only", "detected conn error"].contains { line.contains($0) }
        })
        for line in ["EXT4-fs (sda): mounted filesystem with ordered data mode. Quota mode: none.",
                     "sd 0:0:0:1: [sda] Attached SCSI disk",
                     "EXT4-fs warning (device sda): ext4_end_bio:343: I/O error 10 writing to inode 13601 starting block 229890)",
                     "JBD2: I/O error when updating journal superblock for sda-8.",
                     "EXT4-fs (sda): I/O error while writing superblock",
                     "EXT4-fs error: 12 callbacks suppressed",
                     " connection1:0: ping timeout of 5 secs expired, recv timeout 5, last rx 4294901895, last ping 4294903152, now 4294904448"] {
            #expect(ignored.contains(line), "expected in the capture and ignored: \(line)")
        }
    }

    @Test func damagingSignalsAreTheFileSystemOnes() {
        #expect(KernelStorageSignal.journalAborted(device: "sda").damagesFileSystem)
        #expect(KernelStorageSignal.fileSystemError(device: "sda").damagesFileSystem)
        #expect(KernelStorageSignal.remountedReadOnly(device: "sda").damagesFileSystem)
        #expect(KernelStorageSignal.xfsShutdown(device: "sda").damagesFileSystem)
        #expect(!KernelStorageSignal.ioError(device: "sda").damagesFileSystem)
        #expect(!KernelStorageSignal.recoveryTimedOut(session: 1, seconds: 120).damagesFileSystem)
    }

    @Test func xfsShutdownInTheKernelsFormats() {
        // xfs_log.c (log shutdown) and xfs_fsops.c xfs_do_force_shutdown(), through xfs_alert()'s "XFS (dev): " prefix.
        #expect(KernelStorageSignal(message: "XFS (sdb1): Filesystem has been shut down due to log error (0x2).")
                == .xfsShutdown(device: "sdb1"))
        #expect(KernelStorageSignal(message: "XFS (dm-3): Metadata I/O Error (0x1) detected at xfs_trans_read_buf_map+0x1d5/0x260 [xfs] (fs/xfs/xfs_trans_buf.c:296).  Shutting down filesystem.")
                == .xfsShutdown(device: "dm-3"))
        #expect(KernelStorageSignal(message: "XFS (sdb1): Ending clean mount") == nil)
        #expect(KernelStorageSignal(message: "XFS (sdb1): Mounting V5 Filesystem 0b5d1f7e-3f0c-4a4e-9e4e-2f7b6a1c9d21") == nil)
    }

    @Test("connection error codes read like the kernel's names")
    func errorNames() {
        #expect(ISCSIConnectionError.nopTimedOut.description == "ISCSI_ERR_NOP_TIMEDOUT (1022)")
        #expect(ISCSIConnectionError.tcpConnectionClosed.description == "ISCSI_ERR_TCP_CONN_CLOSE (1020)")
        #expect(ISCSIConnectionError(rawValue: 1999).description == "1999")
        #expect(KernelStorageSignal(message: " connection1:0: detected conn error (1020)")?.kindName
                == "connection error ISCSI_ERR_TCP_CONN_CLOSE (1020)")
    }
}
