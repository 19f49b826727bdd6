import Foundation
import ISCSIRootCore
import Testing

@Suite("The journal catalog and the MESSAGE_IDs")
struct CatalogTests {
    @Test func shippedCatalogIsTheGeneratedOne() throws {
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: repository.appendingPathComponent("systemd/catalog/iscsi-rootd.catalog"),
                                 encoding: .utf8)
        #expect(shipped == MessageKind.catalog, "regenerate with: iscsi-rootd catalog > systemd/catalog/iscsi-rootd.catalog")
    }

    @Test func everyIDIs32LowerCaseHexDigitsAndUnique() {
        for kind in MessageKind.allCases {
            #expect(kind.id.count == 32, "\(kind)")
            #expect(kind.id.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }, "\(kind): \(kind.id)")
        }
        #expect(Set(MessageKind.allCases.map(\.id)).count == MessageKind.allCases.count)
    }

    @Test func catalogHasOneEntryPerKind() {
        let headers = MessageKind.catalog.split(separator: "\n").filter { $0.hasPrefix("-- ") }
        #expect(headers.map { String($0.dropFirst(3)) } == MessageKind.allCases.map(\.id))
        #expect(MessageKind.allCases.allSatisfy { MessageKind.catalog.contains("Subject: \($0.subject)\n") })
    }
}

@Suite("docs/journal.md documents every MESSAGE_ID")
struct JournalDocMessageIDTests {
    @Test func everyKindIsInTheJournalDocTable() throws {
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: repository.appendingPathComponent("docs/journal.md"), encoding: .utf8)
        let tableRows = doc.split(separator: "\n").filter { $0.hasPrefix("| ") }
        for kind in MessageKind.allCases {
            #expect(tableRows.contains { $0.contains("| \(kind.id) |") }, "docs/journal.md lacks \(kind) (\(kind.id))")
        }
    }
}
