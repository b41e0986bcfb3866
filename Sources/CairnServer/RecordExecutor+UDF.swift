import CairnEngine
import CairnLua
import CairnParticle
import CairnStorage
import CairnWire
import Logging

/// Record UDFs (the client's `apply`, PROTOCOL.md §6.1): UDF_PACKAGE_NAME (30), UDF_FUNCTION (31)
/// and UDF_ARGLIST (32) on a write message. The function runs in a Lua state from the server's
/// pool inside the engine's write attempt (``Namespace/apply(_:setName:userKey:options:transform:resume:completion:)``);
/// what it commits with aerospike:create/update/remove is written like any write. The reply is
/// Aerospike's: bin `SUCCESS` with the return value, or result 100 with bin `FAILURE` holding the
/// error text.
extension RecordExecutor {
    static let successBin = "SUCCESS"
    static let failureBin = "FAILURE"

    /// Whether `command` is a record UDF call.
    static func isUDF(_ command: RecordCommand) -> Bool {
        command.field(.udfPackageName) != nil || command.field(.udfFunction) != nil
    }

    func udf(_ command: RecordCommand, target: Target, body raw: UnsafeRawBufferPointer, resume: Resume,
             finish: Finish) throws(Refusal) {
        guard let pool = context.udf else { throw Refusal(.unsupportedFeature, "UDF is not supported") }
        if let op = command.field(.udfOp), let kind = op.data(in: raw).first, kind != 0 {
            throw Refusal(.unsupportedFeature, "UDF op \(kind) on a single record")
        }
        guard let package = command.field(.udfPackageName)?.string(in: raw), !package.isEmpty,
              let function = command.field(.udfFunction)?.string(in: raw), !function.isEmpty
        else {
            throw Refusal(.parameter, "a UDF call needs UDF_PACKAGE_NAME and UDF_FUNCTION")
        }
        let arguments = try Self.udfArguments(command, body: raw)
        var options = try Self.writeOptions(command.header)
        options.storeKey = target.userKey != nil
        options.filter = try Self.filter(of: command, body: raw)
        let logger = self.logger
        let transform = RecordTransform { input in
            let output = pool.apply(package: package, function: function, arguments: arguments, record: Self.udfInput(input))
            Self.log(output.logs, logger: logger, package: package, function: function)
            return Self.decision(output, logger: logger, package: package, function: function)
        }
        target.namespace.with { $0 }.apply(target.digest, setName: target.setName, userKey: target.userKey, options: options,
                                           transform: transform, resume: resume) { outcome in
            switch outcome {
            case .failure(let error):
                finish(.failure(Refusal(ResultCode(engine: error.result), error.message)))
            case .success(let result):
                let code = result.failure.flatMap { ResultCode(rawValue: $0) } ?? (result.failure == nil ? .ok : .serverError)
                let bins = result.bins.map { name, bin -> ReplyBin in
                    guard let bin else { return .empty(opTypeRaw: OpType.read.rawValue, name: name) }
                    return ReplyBin(opTypeRaw: OpType.read.rawValue, name: name, particleTypeRaw: bin.particleType.rawValue,
                                    value: bin.bytes)
                }
                finish(.success(RecordOutcome(resultCode: code, generation: UInt32(result.generation), voidTime: result.voidTime,
                                              bins: bins)))
            }
        }
    }

    /// UDF_ARGLIST: a msgpack list (none: no arguments).
    static func udfArguments(_ command: RecordCommand, body raw: UnsafeRawBufferPointer) throws(Refusal) -> [Value] {
        guard let field = command.field(.udfArgList), !field.data(in: raw).isEmpty else { return [] }
        let decoded: Value
        do {
            decoded = try Value.decode(Array(field.data(in: raw)))
        } catch {
            throw Refusal(.parameter, "UDF_ARGLIST: \(error)")
        }
        switch decoded {
        case .list(let items, _): return items
        case .null: return []  // what a client sends for no argument list
        default: throw Refusal(.parameter, "UDF_ARGLIST is not a list")
        }
    }

    /// A UDF's info / warn / debug / trace lines, into cairnd's log.
    static func log(_ lines: [(level: Int, text: String)], logger: Logger, package: String, function: String) {
        for line in lines {
            let level: Logger.Level = switch line.level {  // Aerospike's: 1 warning ... 4 trace
            case ...1: .warning
            case 2: .info
            case 3: .debug
            default: .trace
            }
            logger.log(level: level, "udf \(package).\(function): \(line.text)")
        }
    }

    static func udfInput(_ input: TransformInput) -> UDFRecordInput {
        UDFRecordInput(
            exists: input.exists, bins: input.bins.map { (name: $0.name, value: value(of: $0)) }, generation: input.generation,
            voidTime: input.voidTime, nowVoidTime: UInt32(truncatingIfNeeded: input.nowMs / 1000), lastUpdateMs: input.lastUpdateMs,
            setName: input.setName, key: input.userKey.map(value(of:)), digest: input.digest.bytes)
    }

    /// What the engine does with a UDF's output.
    static func decision(_ output: UDFRecordOutput, logger: Logger, package: String, function: String) -> TransformDecision {
        switch output.result {
        case .failure(let message):
            logger.warning("udf \(package).\(function) failed: \(message)")
            return TransformDecision(change: .none, reply: [StoredBin(name: failureBin, particleType: .string, bytes: Array(message.utf8))],
                                     failure: ResultCode.udfError.rawValue)
        case .success(let value):
            if let code = output.updateResultCode {
                return TransformDecision(change: .none, reply: [], failure: UInt8(clamping: code))
            }
            let reply = [storedBin(name: successBin, value) ?? StoredBin(name: successBin, particleType: .null, bytes: [])]
            guard output.updated else { return TransformDecision(change: .none, reply: reply) }
            var bins: [StoredBin] = []
            for (name, value) in output.bins {
                guard let bin = storedBin(name: name, value) else { continue }
                bins.append(bin)
            }
            let ttl = output.ttl.map(ttlRequest)
            return TransformDecision(change: .write(bins), ttl: ttl, reply: reply)
        }
    }

    /// record.set_ttl's value as a write's TTL (the wire's meanings: 0 default, -1 never, -2 keep).
    static func ttlRequest(_ ttl: Int64) -> TTLRequest {
        switch ttl {
        case 0: .namespaceDefault
        case -1: .never
        case -2: .keepExisting
        case 1...Int64(RecordTTL.secondsMax): .seconds(UInt32(ttl))
        default: .invalid(UInt32(truncatingIfNeeded: ttl))
        }
    }

    /// A stored bin as the UDF sees it.
    static func value(of bin: StoredBin) -> Value {
        value(particleType: bin.particleType, bytes: bin.bytes)
    }

    static func value(of key: StoredKey) -> Value {
        value(particleType: key.particleType, bytes: key.bytes)
    }

    static func value(particleType: ParticleType, bytes: [UInt8]) -> Value {
        switch particleType {
        case .integer:
            return .int(Int64(bitPattern: bytes.reduce(0) { $0 << 8 | UInt64($1) }))
        case .float:
            return .double(Double(bitPattern: bytes.reduce(0) { $0 << 8 | UInt64($1) }))
        case .string:
            return .string(bytes[...])
        case .bool:
            return .bool(bytes.first.map { $0 != 0 } ?? false)
        case .list, .map:
            return (try? Value.decode(bytes)) ?? .null
        case .geoJSON:
            return .geojson(bytes[...])
        case .null:
            return .null
        default:
            return .blob(particleType.rawValue, bytes[...])
        }
    }

    /// A UDF value as a stored bin; nil for nil (no bin). Ordered lists and key-ordered maps are
    /// put back in order, and collections are stored in canonical form as a client's are.
    static func storedBin(name: String, _ value: Value) -> StoredBin? {
        switch value {
        case .ext(_, let data):
            return StoredBin(name: name, particleType: .blob, bytes: Array(data))
        case .list, .map:
            let ordered = inOrder(value)
            let isMap: Bool
            if case .map = ordered { isMap = true } else { isMap = false }
            let bytes = (try? CollectionFromClient.rewrite(ordered.encoded, isMap: isMap)) ?? ordered.encoded
            return StoredBin(name: name, particleType: isMap ? .map : .list, bytes: bytes)
        default:
            // Scalars (and nil: no bin) are stored as an operation's result is sent.
            return OperationLayer.resultBin(name: name, value)
        }
    }

    /// `value` with every ordered list sorted and every key-ordered map sorted by key.
    static func inOrder(_ value: Value) -> Value {
        switch value {
        case .list(let items, let flags):
            let inner = items.map(inOrder)
            guard flags & 1 != 0 else { return .list(inner, flags: flags) }
            return .list(stableSorted(inner) { Value.compare($0, $1) }, flags: flags)
        case .map(let entries, let flags):
            let inner = entries.map { MapEntry(inOrder($0.key), inOrder($0.value)) }
            guard flags & 1 != 0 else { return .map(inner, flags: flags) }
            return .map(stableSorted(inner) { Value.compare($0.key, $1.key) }, flags: flags)
        default:
            return value
        }
    }

    private static func stableSorted<T>(_ items: [T], _ compare: (T, T) -> Int) -> [T] {
        items.indices.sorted { a, b in
            let c = compare(items[a], items[b])
            return c != 0 ? c < 0 : a < b
        }.map { items[$0] }
    }
}
