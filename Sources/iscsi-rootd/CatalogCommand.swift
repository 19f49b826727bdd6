import ArgumentParser
import ISCSIRootCore

/// `iscsi-rootd catalog`: prints the journal message catalog (systemd/catalog/iscsi-rootd.catalog
/// is this output, checked by a test).
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Print the journal message catalog (MESSAGE_IDs explained, for journalctl -x).",
        shouldDisplay: false
    )

    func run() throws {
        try writeOutput(MessageKind.catalog)
    }
}
