import Testing
@testable import ISCSIRootCore

@Suite struct JSONValueTests {
    @Test func serializesInOrderAndEscapes() {
        let value = JSONValue.object([
            ("b", .int(-1)), ("a", .string("q\"\\\n\u{01}é")), ("c", .array([.null, .bool(true), .double(0.5)])),
        ])
        #expect(value.serialized() == #"{"b":-1,"a":"q\"\\\n\u0001é","c":[null,true,0.5]}"#)
    }

    @Test func roundTripsThroughTheParser() {
        let value = JSONValue.object([
            ("name", .string("session1")), ("n", .int(86400)), ("f", .double(1.5)),
            ("nested", .object([("list", .array([.string("a\tb"), .object([])]))])), ("none", .null),
        ])
        #expect(JSONValue(parsing: value.serialized(pretty: true)) == value)
        #expect(JSONValue(parsing: value.serialized()) == value)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"open", "[1] 2", String(repeating: "[", count: 100)])
    func rejectsInvalidText(_ text: String) {
        #expect(JSONValue(parsing: text) == nil)
    }
}
