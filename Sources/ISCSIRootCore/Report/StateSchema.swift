/// The state file's schema as tables (`DaemonSnapshot+Schema.swift`): each member of a record is
/// one `StateField` (key, where the value lives, its codec with its range), and both the writer and
/// the reader are made from that one row. The writer clamps every number into the codec's range,
/// so a value the daemon can produce is a value the reader accepts; the reader takes each member
/// on its own, so one bad member is a warning naming it (`damage[0].since_usec: -1 is not within
/// 0...253402300799999999`) and its default, never the whole file.
struct StateSchema<Record: Sendable>: Sendable {
    let empty: Record
    let fields: [StateField<Record>]

    init(_ empty: Record, _ fields: [StateField<Record>]) {
        self.empty = empty
        self.fields = fields
    }

    func json(_ record: Record) -> JSONValue {
        .object(fields.map { ($0.key, $0.write(record)) })
    }

    /// The record from an object, each member range-checked; nil when `member` is not an object.
    func read(_ member: StateMember, warnings: inout [String]) -> Record? {
        guard case .object? = member.value else {
            warnings.append(member.problem("is not an object"))
            return nil
        }
        var record = empty
        for field in fields {
            let value = member[field.key]
            if value.value == nil {
                if !field.absentInOlderFiles { warnings.append(value.problem("is missing")) }
                continue
            }
            field.read(&record, value, &warnings)
        }
        return record
    }

    var codec: StateCodec<Record> {
        StateCodec(encode: { json($0) }) { member, warnings in read(member, warnings: &warnings) }
    }
}

/// One member of a record: its key, and how it is written from and read into the record.
struct StateField<Record>: Sendable {
    let key: String
    /// Files written before the member existed lack it: read as its default, without a warning.
    let absentInOlderFiles: Bool
    let write: @Sendable (Record) -> JSONValue
    let read: @Sendable (inout Record, StateMember, inout [String]) -> Void

    init<Value>(_ key: String, _ path: WritableKeyPath<Record, Value> & Sendable, _ codec: StateCodec<Value>,
                absentInOlderFiles: Bool = false) {
        self.key = key
        self.absentInOlderFiles = absentInOlderFiles
        write = { codec.encode($0[keyPath: path]) }
        read = { record, member, warnings in
            if let value = codec.decode(member, &warnings) { record[keyPath: path] = value }
        }
    }
}

/// How one kind of value is written and read: `decode` returns nil (having said why in
/// `warnings`) when the member is not usable, and the field keeps its default.
struct StateCodec<Value>: Sendable {
    let encode: @Sendable (Value) -> JSONValue
    let decode: @Sendable (StateMember, inout [String]) -> Value?
}

/// A member of the state file on its way in, with its path for warnings.
struct StateMember: Sendable {
    let value: JSONValue?
    let path: String

    init(_ value: JSONValue?, _ path: String) {
        self.value = value
        self.path = path
    }

    subscript(key: String) -> StateMember {
        StateMember(value?[key], path.isEmpty ? key : "\(path).\(key)")
    }

    /// `path: <value, at most 40 characters> what`.
    func problem(_ what: String) -> String {
        "\(path): \(value.map { "\($0.serialized().prefix(40))" } ?? "missing") \(what)"
    }
}

extension StateCodec {
    /// Rejects with a warning.
    static func reject(_ member: StateMember, _ what: String, _ warnings: inout [String]) -> Value? {
        warnings.append(member.problem(what))
        return nil
    }

    /// A value or JSON null.
    static func optional<Wrapped>(_ codec: StateCodec<Wrapped>) -> StateCodec<Wrapped?> where Value == Wrapped? {
        StateCodec<Wrapped?>(encode: { $0.map(codec.encode) ?? .null }) { member, warnings in
            if member.value == .null { return .some(nil) }
            return codec.decode(member, &warnings).map { .some($0) }
        }
    }

    /// An array; an unusable item is left out with a warning naming it, the others kept.
    static func array<Element>(_ codec: StateCodec<Element>) -> StateCodec<[Element]> where Value == [Element] {
        StateCodec<[Element]>(encode: { .array($0.map(codec.encode)) }) { member, warnings in
            guard let items = member.value?.arrayValue else { return reject(member, "is not an array", &warnings) }
            return items.enumerated().compactMap { index, item in
                codec.decode(StateMember(item, "\(member.path)[\(index)]"), &warnings)
            }
        }
    }

    /// An object whose keys are names (devices), written sorted; an unusable value leaves its key out.
    static func dictionary<Element>(_ codec: StateCodec<Element>) -> StateCodec<[String: Element]>
        where Value == [String: Element] {
        StateCodec<[String: Element]>(encode: { entries in
            .object(entries.sorted { $0.key < $1.key }.map { ($0.key, codec.encode($0.value)) })
        }) { member, warnings in
            guard case .object(let entries)? = member.value else { return reject(member, "is not an object", &warnings) }
            var result: [String: Element] = [:]
            for (key, value) in entries {
                if let decoded = codec.decode(StateMember(value, "\(member.path).\(key)"), &warnings) { result[key] = decoded }
            }
            return result
        }
    }
}

extension StateCodec where Value == String {
    static var string: StateCodec {
        StateCodec(encode: JSONValue.string) { member, warnings in
            member.value?.stringValue ?? reject(member, "is not a string", &warnings)
        }
    }
}

extension StateCodec where Value == Bool {
    static var bool: StateCodec {
        StateCodec(encode: JSONValue.bool) { member, warnings in
            member.value?.boolValue ?? reject(member, "is not true or false", &warnings)
        }
    }
}

extension StateCodec where Value: FixedWidthInteger & Sendable {
    /// An integer within `range`: the writer clamps into it (a kernel u32 or u64 is written whole,
    /// whatever its size), the reader refuses anything else.
    static func integer(_ range: ClosedRange<Value>) -> StateCodec {
        StateCodec(encode: { JSONValue.integer(Swift.min(Swift.max($0, range.lowerBound), range.upperBound)) }) { member, warnings in
            let number: Value?
            switch member.value {
            case .int(let value)?: number = Value(exactly: value)
            case .uint(let value)?: number = Value(exactly: value)
            default: return reject(member, "is not an integer", &warnings)
            }
            guard let number, range.contains(number) else { return reject(member, "is not within \(range)", &warnings) }
            return number
        }
    }
}

extension StateCodec where Value == Double {
    /// A number of seconds within `range`: the writer clamps into it (an infinity or NaN, which
    /// JSON cannot hold, becomes a bound), the reader refuses anything else.
    static func seconds(_ range: ClosedRange<Double>) -> StateCodec {
        StateCodec(encode: { value in
            .double(value.isNaN ? range.lowerBound : Swift.min(Swift.max(value, range.lowerBound), range.upperBound))
        }) { member, warnings in
            guard let number = member.value?.doubleValue, number.isFinite else {
                return reject(member, "is not a number of seconds", &warnings)
            }
            guard range.contains(number) else { return reject(member, "is not within \(range)", &warnings) }
            return number
        }
    }
}
