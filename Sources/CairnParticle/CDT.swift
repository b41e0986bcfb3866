/// Collection (CDT) operations: decoding of the op payload, nested contexts, and the dispatch
/// to the list (and, later, map) executors.
///
/// Payload forms (what the clients send as the op's value):
/// - `[command, args...]` (current clients);
/// - `[0xff, [ctxType, ctxValue, ...], [command, args...]]` (with a context);
/// - 2-byte big-endian command followed by an optional args list (older clients).

/// Why a CDT operation failed: the Aerospike result code and a reason for logs.
public struct CDTError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: UInt8
    public var reason: String

    public init(_ code: UInt8, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let parameter: UInt8 = 4
    public static let binTypeError: UInt8 = 12
    public static let unsupported: UInt8 = 16
    public static let elementNotFound: UInt8 = 23
    public static let elementExists: UInt8 = 24
    public static let opNotApplicable: UInt8 = 26

    static func param(_ reason: String) -> CDTError { CDTError(parameter, reason) }
    static func notApplicable(_ reason: String) -> CDTError { CDTError(opNotApplicable, reason) }

    public var description: String { "CDT error \(code): \(reason)" }
}

/// The bin a CDT operation works on.
public enum CDTBin: Sendable, Equatable {
    case missing
    /// A list or map bin, decoded.
    case collection(Value)
    /// A bin of another particle type (a CDT op on it is a type error).
    case otherType
}

/// What a CDT operation did.
public struct CDTOutcome: Sendable, Equatable {
    /// The bin's new value when the operation changed it (always a list or a map).
    public var newValue: Value?
    /// The operation's result; nil when it returns nothing.
    public var result: Value?
}

/// One step of a nested context.
public struct CDTContextItem: Sendable, Equatable {
    public var type: UInt8
    public var value: Value

    public static let listIndex: UInt8 = 0x10
    public static let listRank: UInt8 = 0x11
    public static let listValue: UInt8 = 0x13
    public static let mapIndex: UInt8 = 0x20
    public static let mapRank: UInt8 = 0x21
    public static let mapKey: UInt8 = 0x22
    public static let mapValue: UInt8 = 0x23
    /// Create flags (bits 6-7): 0x40 unordered list / map, 0x80 unordered padded list or
    /// key-ordered map, 0xc0 ordered list or key-value-ordered map.
    public static let createMask: UInt8 = 0xc0

    public init(type: UInt8, value: Value) {
        self.type = type
        self.value = value
    }

    public var base: UInt8 { type & 0x3f }
    public var createFlag: UInt8 { type & Self.createMask }
}

/// A decoded CDT operation.
public struct CDTOperation: Sendable, Equatable {
    public var command: Int
    public var args: [Value]
    public var context: [CDTContextItem]

    public init(command: Int, args: [Value], context: [CDTContextItem] = []) {
        self.command = command
        self.args = args
        self.context = context
    }

    /// Decodes an op payload.
    public static func decode(_ bytes: [UInt8]) throws(CDTError) -> CDTOperation {
        guard let first = bytes.first else { throw .param("empty CDT payload") }
        do {
            if (0x90...0x9f).contains(first) || first == 0xdc || first == 0xdd {
                guard case .list(let items, _) = try Value.decode(bytes), let head = items.first else {
                    throw CDTError.param("empty CDT op list")
                }
                if case .int(0xff) = head {
                    guard items.count == 3, case .list(let ctxItems, _) = items[1], case .list(let op, _) = items[2],
                        let cmd = op.first, case .int(let command) = cmd
                    else { throw CDTError.param("malformed CDT context payload") }
                    guard !ctxItems.isEmpty, ctxItems.count % 2 == 0 else {
                        throw CDTError.param("CDT context of \(ctxItems.count) items")
                    }
                    var context: [CDTContextItem] = []
                    for i in stride(from: 0, to: ctxItems.count, by: 2) {
                        // 0x100 asks for a persisted index on a created top-level collection:
                        // accepted on the first item (and dropped, like the flag), refused below
                        // the top as Aerospike refuses it.
                        guard case .int(var t) = ctxItems[i] else {
                            throw CDTError.param("CDT context type is not a small integer")
                        }
                        if i == 0 && t & 0x100 != 0 && t & Int64(CDTContextItem.createMask) != 0 { t &= ~0x100 }
                        guard let type = UInt8(exactly: t) else {
                            throw CDTError.param("CDT context type is not a small integer")
                        }
                        context.append(CDTContextItem(type: type, value: ctxItems[i + 1]))
                    }
                    return CDTOperation(command: Int(command), args: Array(op.dropFirst()), context: context)
                }
                guard case .int(let command) = head, command >= 0, command < 0x10000 else {
                    throw CDTError.param("CDT command is not an integer")
                }
                return CDTOperation(command: Int(command), args: Array(items.dropFirst()))
            }
            guard bytes.count >= 2 else { throw CDTError.param("CDT payload of \(bytes.count) bytes") }
            let command = Int(bytes[0]) << 8 | Int(bytes[1])
            if bytes.count == 2 { return CDTOperation(command: command, args: []) }
            guard case .list(let args, _) = try Value.decode(Array(bytes[2...])) else {
                throw CDTError.param("CDT arguments are not a list")
            }
            return CDTOperation(command: command, args: args)
        } catch let e as CDTError {
            throw e
        } catch {
            throw .param("\(error)")
        }
    }
}

/// Runs CDT operations.
public enum CDTExecutor {
    /// Whether `command` is a list command (0 ..< 64); map commands are 64 ..< 128.
    public static func isListCommand(_ command: Int) -> Bool { command < 64 }

    /// Runs the operation `payload` on `bin`. `isWrite` tells whether it came as a CDT_MODIFY
    /// op: read commands must come as CDT_READ and modify commands as CDT_MODIFY.
    public static func execute(payload: [UInt8], bin: CDTBin, isWrite: Bool) throws(CDTError) -> CDTOutcome {
        let op = try CDTOperation.decode(payload)
        return try execute(op, bin: bin, isWrite: isWrite)
    }

    /// The path select / apply command (0xfe).
    public static let pathSelectCommand = PathSelect.command

    /// `record`: what a path select's expressions see of the record (no bins when nil).
    public static func execute(_ op: CDTOperation, bin: CDTBin, isWrite: Bool, record: ExpressionRecord? = nil) throws(CDTError) -> CDTOutcome {
        let commandIsWrite: Bool
        let run: (inout Value?) throws(CDTError) -> Value?
        if op.command == PathSelect.command && op.context.isEmpty {
            var target: Value?
            switch bin {
            case .otherType: throw CDTError(CDTError.binTypeError, "bin is not a collection")
            case .missing: target = nil
            case .collection(let v): target = v
            }
            let result = try PathSelect.execute(op.args, target: &target, isWrite: isWrite, record: record)
            return CDTOutcome(newValue: isWrite ? target : nil, result: result)
        }
        if isListCommand(op.command) {
            guard let kind = ListCommand(rawValue: op.command) else { throw .param("unknown list command \(op.command)") }
            commandIsWrite = kind.isWrite
            run = { (target: inout Value?) throws(CDTError) -> Value? in try ListExecutor.run(kind, args: op.args, target: &target) }
        } else {
            guard let kind = MapCommand(rawValue: op.command) else { throw .param("unknown map command \(op.command)") }
            commandIsWrite = kind.isWrite
            run = { (target: inout Value?) throws(CDTError) -> Value? in try MapExecutor.run(kind, args: op.args, target: &target) }
        }
        if commandIsWrite != isWrite {
            throw .param("command \(op.command) \(commandIsWrite ? "needs CDT_MODIFY" : "needs CDT_READ")")
        }
        var root: Value?
        switch bin {
        case .otherType: throw CDTError(CDTError.binTypeError, "bin is not a collection")
        case .missing: root = nil
        case .collection(let v): root = v
        }
        if op.context.isEmpty {
            var target = root
            let result = try run(&target)
            // A write stores the bin again (no deep comparison with the old value: O(1) here).
            return CDTOutcome(newValue: commandIsWrite ? target : nil, result: result)
        }
        if !commandIsWrite {
            guard let root else { return CDTOutcome(newValue: nil, result: nil) }
            var target: Value? = try Context.resolve(root, op.context[...])
            return CDTOutcome(newValue: nil, result: try run(&target))
        }
        var top: Value
        if let root {
            top = root
        } else {
            // A missing bin is created by a create-flagged first context item, as the kind (and
            // order) of collection that item addresses.
            guard let first = op.context.first, first.createFlag != 0 else {
                throw .notApplicable("context on a missing bin")
            }
            top = Context.emptyContainer(for: first)
        }
        let leafKind: Value = isListCommand(op.command) ? .list([], flags: 0) : .map([], flags: 0)
        do {
            let result = try Context.modify(&top, op.context[...], leafKind: leafKind, run)
            return CDTOutcome(newValue: top, result: result)
        } catch {
            // The operation did nothing on a collection the context would have created: keep
            // nothing of the path.
            if error == Context.nothingCreated { return CDTOutcome(newValue: nil, result: nil) }
            throw error
        }
    }
}
