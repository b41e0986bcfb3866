import CairnEngine
import CairnIO
import CairnIndex
import CairnParticle
import CairnStorage
import CairnWire
import Logging
import NIOCore

/// A request refused before or by the engine: the result code for the client and a reason for
/// the debug log.
struct Refusal: Error {
    var resultCode: ResultCode
    var reason: String

    init(_ resultCode: ResultCode, _ reason: String) {
        self.resultCode = resultCode
        self.reason = reason
    }
}

/// Receives a single-record command's outcome, on whichever thread finished it.
protocol RecordOutcomeReceiver: AnyObject, Sendable {
    func receive(_ outcome: RecordOutcome)
}

/// A closure as a ``RecordOutcomeReceiver``.
final class OutcomeClosure: RecordOutcomeReceiver {
    private let body: @Sendable (RecordOutcome) -> Void

    init(_ body: @escaping @Sendable (RecordOutcome) -> Void) {
        self.body = body
    }

    func receive(_ outcome: RecordOutcome) { body(outcome) }
}

/// Runs single-record commands against the engine (PROTOCOL.md §6): read / exists, write and
/// operate, delete, touch.
///
/// A value made per request, used on the connection's event loop (or on the thread pool, where
/// a batch waits for its rows with `waitForAll`). Requests are translated to ``Namespace`` calls; the
/// engine applies Aerospike's record semantics (policies, generations, TTL, bin math) and this
/// type maps its results back onto the wire.
struct RecordExecutor: Sendable {
    let context: ServerContext
    let logger: Logger
    /// How the rows of a batch continue after their device I/O (their waits are on the thread
    /// pool): on the completing thread, with device reads on an io_uring service thread's own
    /// ring when the request came through one.
    var streamResume: Resume = .inline

    /// The record a command addresses, with what the request says about it.
    struct Target {
        /// Borrowed: the context keeps its namespaces for the server's life (see ``Unretained``).
        var namespace: Unretained<Namespace>
        var digest: Digest
        /// nil when the SET field is absent or empty.
        var setName: String?
        /// The KEY field (sent with policy key=SEND), stored on writes and checked against the
        /// stored key (KEY_MISMATCH).
        var userKey: StoredKey?
    }

    /// What a command's completion receives.
    typealias Completion = @Sendable (RecordOutcome) -> Void

    /// Executes `command` (decoded from `body`) and reports what to reply through `completion`:
    /// before this returns when the engine answers from memory, else from the continuation of
    /// its device I/O, which runs through `resume` (the connection's event loop). No thread
    /// waits either way.
    /// With a `meter`, the transaction's latency and outcome are recorded in its namespace's
    /// histogram (single-record transactions; batch rows are timed as their batch).
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume, meter: TransactionMeter? = nil,
                 completion: @escaping Completion) {
        execute(command, body: body, resume: resume, meter: meter, receiver: OutcomeClosure(completion))
    }

    /// ``execute(_:body:resume:meter:completion:)`` reporting to an object the caller already
    /// has (the io_uring connection): no allocation for the completion.
    func execute(_ command: RecordCommand, body: ByteBuffer, resume: Resume, meter: TransactionMeter? = nil,
                 receiver: any RecordOutcomeReceiver) {
        context.counters.transactions.add(1, ordering: .relaxed)
        let startNanoseconds = meter == nil ? 0 : MonotonicClock.nowNs()
        let benchmarks = meter?.enabledBenchmarks  // enable-benchmarks-read/-write: one relaxed load
        let resolved: Result<Target, Refusal> = body.withUnsafeReadableBytes { raw in
            Result { () throws(Refusal) in try resolveTarget(command, body: raw) }
        }
        let dispatchNanoseconds = benchmarks == nil ? 0 : MonotonicClock.nowNs()
        if let benchmarks { benchmarks.start.record(nanoseconds: dispatchNanoseconds &- startNanoseconds) }
        let finish = Finish(context: Unretained(context), logger: logger, meter: meter, startNanoseconds: startNanoseconds,
                            benchmarks: benchmarks, dispatchNanoseconds: dispatchNanoseconds, receiver: receiver)
        let started: Result<Void, Refusal> = body.withUnsafeReadableBytes { raw in
            Result { () throws(Refusal) in
                let target = try resolved.get()
                try dispatch(command, target: target, body: body, raw: raw, resume: resume, finish: finish)
            }
        }
        if case .failure(let refusal) = started { finish(.failure(refusal)) }
    }

    // MARK: - Dispatch (§6.1)

    /// Where a command's result goes: counted, logged and metered, then handed to the caller's
    /// completion. A value the engine's continuation holds inline, not one more closure (an
    /// allocation per transaction).
    struct Finish: Sendable {
        /// Borrowed: the server keeps its context past every transaction, and a retain of it, in
        /// a value made per transaction, moves a cache line every service thread shares.
        let context: Unretained<ServerContext>
        let logger: Logger
        let meter: TransactionMeter?
        let startNanoseconds: UInt64
        /// The namespace's benchmark histograms while `enable-benchmarks-read/-write` is on.
        let benchmarks: BenchmarkGroup?
        let dispatchNanoseconds: UInt64
        let receiver: any RecordOutcomeReceiver

        func callAsFunction(_ result: Result<RecordOutcome, Refusal>) {
            let outcome: RecordOutcome
            switch result {
            case .success(let o):
                outcome = o
            case .failure(let error):
                outcome = .failure(error.resultCode)
                let level: Logger.Level = error.resultCode == .serverError ? .warning : .debug
                logger.log(level: level, "request refused", metadata: ["result": "\(error.resultCode)", "reason": "\(error.reason)"])
            }
            if outcome.resultCode != .ok && outcome.resultCode != .keyNotFound {
                context.with { $0.counters.transactionErrors.add(1, ordering: .relaxed) }
            }
            meter?.finish(since: startNanoseconds, resultCodeRaw: outcome.resultCode.rawValue)
            guard let benchmarks else { return receiver.receive(outcome) }
            let outcomeNanoseconds = MonotonicClock.nowNs()
            benchmarks.local.record(nanoseconds: outcomeNanoseconds &- dispatchNanoseconds)
            receiver.receive(outcome)
            benchmarks.response.record(since: outcomeNanoseconds)
        }
    }

    private func dispatch(_ command: RecordCommand, target: Target, body: ByteBuffer, raw: UnsafeRawBufferPointer,
                          resume: Resume, finish: Finish) throws(Refusal) {
        let header = command.header
        if Self.isUDF(command) {
            guard header.info2.contains(.write) else { throw Refusal(.parameter, "a UDF call needs the WRITE flag") }
            return try udf(command, target: target, body: raw, resume: resume, finish: finish)
        }
        if header.info2.contains(.write) {
            if header.info2.contains(.delete) {
                return try delete(command, target: target, body: raw, resume: resume, finish: finish)
            }
            return try write(command, target: target, body: body, raw: raw, resume: resume, finish: finish)
        }
        if header.info1.contains(.read) {
            return try read(command, target: target, body: body, resume: resume, finish: finish)
        }
        throw Refusal(.parameter, "neither READ nor WRITE is set")
    }

    /// Finds the namespace and digest and refuses what Cairn does not implement (§6.1, §11.2).
    private func resolveTarget(_ command: RecordCommand, body: UnsafeRawBufferPointer) throws(Refusal) -> Target {
        guard let namespaceField = command.field(.namespace) else {
            throw Refusal(.namespaceNotFound, "no NAMESPACE field")
        }
        guard namespaceField.dataRange.upperBound <= body.count,
              let namespace = context.namespace(named: UnsafeRawBufferPointer(rebasing: body[namespaceField.dataRange]))
        else {
            throw Refusal(.namespaceNotFound, "unknown namespace")
        }
        let digest: Digest
        if let rowDigest = command.rowDigest {
            digest = rowDigest
        } else {
            guard let digestField = command.field(.digest) else { throw Refusal(.parameter, "no DIGEST field") }
            do {
                digest = try digestField.digest(in: body)
            } catch {
                throw Refusal(.parameter, "\(error)")
            }
        }
        if !command.header.info4.intersection(.mrtBits).isEmpty {
            throw Refusal(.unsupportedFeature, "multi-record transactions are not supported")
        }
        let runsUDF = context.udf != nil && Self.isUDF(command)
        for field in command.fields where !(field.type == .filterExpression && Self.evaluatesFilter(command))
            && !(runsUDF && Self.isUDFField(field.type)) {
            if let feature = Self.unsupportedFeature(of: field.type) {
                throw Refusal(.unsupportedFeature, "\(feature) is not supported")
            }
        }
        var setName: String?
        if let setField = command.field(.set) {
            guard let name = setField.string(in: body) else { throw Refusal(.parameter, "SET is not UTF-8") }
            setName = name.isEmpty ? nil : name
        }
        var userKey: StoredKey?
        if let keyField = command.field(.key) {
            userKey = try Self.storedKey(fieldData: keyField.data(in: body))
        }
        return Target(namespace: namespace, digest: digest, setName: setName, userKey: userKey)
    }

    /// Whether a filter expression is evaluated for this command (a message or a batch row): a
    /// read (READ without WRITE, bins wanted, only READ, collection, bit, HLL and expression read
    /// ops; exists too), or a write, operate or delete.
    static func evaluatesFilter(_ command: RecordCommand) -> Bool {
        let header = command.header
        if header.info2.contains(.write) { return true }
        let readOps: Set<OpType> = [.read, .cdtRead, .bitsRead, .hllRead, .expRead]
        return header.info1.contains(.read) && command.ops.allSatisfy { $0.type.map(readOps.contains) ?? false }
    }

    /// Whether a field is one of a UDF call's (package, function, arguments, op).
    static func isUDFField(_ type: FieldType?) -> Bool {
        switch type {
        case .udfPackageName, .udfFunction, .udfArgList, .udfOp: true
        default: false
        }
    }

    /// The feature a field asks for that Cairn does not implement, or nil.
    static func unsupportedFeature(of type: FieldType?) -> String? {
        switch type {
        case .filterExpression: "filter expressions"
        case .udfPackageName, .udfFunction, .udfArgList, .udfOp: "UDF"
        case .recordVersion, .mrtID, .mrtDeadline: "multi-record transactions"
        default: nil
        }
    }

    /// A KEY field: particle type byte (integer, string or blob) + value (§4.2).
    static func storedKey(fieldData: UnsafeRawBufferPointer) throws(Refusal) -> StoredKey {
        let value: ParticleValue
        do {
            value = try UserKey.decode(fieldData: fieldData)
        } catch {
            throw Refusal(.parameter, "KEY field: \(error)")
        }
        switch value {
        case .integer(let integer): return .integer(integer)
        case .string(let text): return .string(text)
        case .blob(let bytes): return .blob(bytes)
        default: throw Refusal(.parameter, "a user key must be an integer, a string or a blob")
        }
    }

    // MARK: - Read (§6.3)

    private func read(_ command: RecordCommand, target: Target, body: ByteBuffer, resume: Resume,
                      finish: Finish) throws(Refusal) {
        let header = command.header
        let metadataOnly = header.info1.contains(.getNoBinData)
        // A read's record_ttl is its read-touch percentage (0 namespace default, -1 never, 1...100).
        guard let touch = Namespace.ReadTouchRequest(wire: header.recordTTL) else {
            throw Refusal(.parameter, "read-touch-ttl-percent \(Int32(bitPattern: header.recordTTL)) is outside -1...100")
        }
        if metadataOnly && command.field(.filterExpression) == nil {
            // exists: metadata only; a Rust metadata read's empty-name READ op is ignored.
            guard let metadata = target.namespace.with({ $0.exists(target.digest, request: touch, resume: resume) }) else {
                return finish(.success(.failure(.keyNotFound)))
            }
            return finish(.success(RecordOutcome(resultCode: .ok, generation: UInt32(metadata.generation), voidTime: metadata.voidTime)))
        }
        if command.ops.contains(where: { $0.type == .cdtRead || $0.type == .bitsRead || $0.type == .hllRead || $0.type == .expRead }) {
            return try body.withUnsafeReadableBytes { raw throws(Refusal) in
                try operateReadOnly(command, target: target, body: body, raw: raw, resume: resume, finish: finish)
            }
        }
        for op in command.ops where op.type != .read {
            throw Self.refusal(forReadOnlyOp: op)
        }
        guard header.info1.contains(.getAll) || !command.ops.isEmpty || metadataOnly else {
            throw Refusal(.parameter, "a read needs GET_ALL or bin names")
        }
        let filter = try body.withUnsafeReadableBytes { (raw) throws(Refusal) in try Self.filter(of: command, body: raw) }
        let userKey = target.userKey
        let namespace = target.namespace
        // A local function, not a closure value: a read served from memory calls it directly,
        // and only a device read forms the escaping continuation (and its allocation).
        @Sendable func answer(_ result: Result<EngineRecord?, EngineError>) {
            let found: EngineRecord?
            switch result {
            case .failure(let error): return finish(.failure(Refusal(ResultCode(engine: error.result), error.message)))
            case .success(let record): found = record
            }
            guard let record = found else { return finish(.success(.failure(.keyNotFound))) }
            if let userKey, let storedKey = record.userKey, storedKey != userKey {
                return finish(.failure(Refusal(.keyMismatch, "the request's key differs from the stored key")))
            }
            if let filter {
                do throws(EngineError) {
                    let storage = namespace.with { $0.expressionStorage }
                    guard try filter.passes(record, digest: target.digest, storage: storage) else {
                        return finish(.success(.failure(.filteredOut)))
                    }
                } catch {
                    return finish(.failure(Refusal(ResultCode(engine: error.result), error.message)))
                }
            }
            // The reply carries the metadata that was read; a touch started here applies after it.
            namespace.with { $0.readTouch(record, digest: target.digest, request: touch, resume: resume) }
            if metadataOnly {
                // exists with a filter: the whole record was read to evaluate it; no bins.
                return finish(.success(RecordOutcome(resultCode: .ok, generation: UInt32(record.generation), voidTime: record.voidTime)))
            }
            if command.ops.isEmpty {  // the whole record: its bins as they are
                return finish(.success(RecordOutcome(resultCode: .ok, generation: UInt32(record.generation), voidTime: record.voidTime,
                                                     readBins: record.bins)))
            }
            let respondsAll = header.info2.contains(.respondAllOps)
            var bins: [ReplyBin] = []
            body.withUnsafeReadableBytes { raw in
                for op in command.ops {
                    let name = op.name(in: raw)
                    if name.isEmpty {
                        bins += record.bins.map(ReplyBin.read)
                    } else if let bin = record.bins.first(where: { $0.name == name }) {
                        bins.append(.read(bin))
                    } else if respondsAll {
                        bins.append(.empty(opTypeRaw: OpType.read.rawValue, name: name))
                    }
                }
            }
            finish(.success(RecordOutcome(resultCode: .ok, generation: UInt32(record.generation), voidTime: record.voidTime, bins: bins)))
        }
        namespace.with { namespace in
            switch namespace.startGet(target.digest, scratch: resume.records) {
            case .finished(let result): answer(result)
            case .pending(let pending): namespace.finishGet(pending, resume: resume) { answer($0) }
            }
        }
    }

    /// The request's decoded filter expression, if it has one.
    static func filter(of command: RecordCommand, body: UnsafeRawBufferPointer) throws(Refusal) -> RecordFilter? {
        guard let field = command.field(.filterExpression) else { return nil }
        let bytes = Array(field.data(in: body))
        do throws(EngineError) {
            return try RecordFilter(bytes)
        } catch {
            throw Refusal(ResultCode(engine: error.result), error.message)
        }
    }

    /// Why a non-READ op cannot be in a request without WRITE: read-class ops Cairn does not
    /// implement are UNSUPPORTED_FEATURE, write-class ops are PARAMETER (§6.4).
    private static func refusal(forReadOnlyOp op: Op) -> Refusal {
        switch op.type {
        case .cdtRead, .expRead, .bitsRead, .hllRead:
            Refusal(.unsupportedFeature, "op \(op.typeRaw) is not supported")
        case .none:
            Refusal(.parameter, "unknown op \(op.typeRaw)")
        default:
            Refusal(.parameter, "write op \(op.typeRaw) without the WRITE flag")
        }
    }

    // MARK: - Write and operate (§6.4, §6.5)

    private func write(_ command: RecordCommand, target: Target, body: ByteBuffer, raw: UnsafeRawBufferPointer,
                       resume: Resume, finish: Finish) throws(Refusal) {
        let header = command.header
        guard !command.ops.isEmpty else { throw Refusal(.parameter, "a write needs at least one op") }
        var options = try Self.writeOptions(header)
        options.storeKey = target.userKey != nil
        options.filter = try Self.filter(of: command, body: raw)
        let replaces = options.exists == .replace || options.exists == .replaceOnly
        // Built in this thread's kept memory when it has some (handed back once replied).
        let scratch = resume.operations
        var operations = scratch?.takeOperations() ?? []
        operations.reserveCapacity(command.ops.count)
        for op in command.ops {
            operations.append(try Self.operation(for: op, header: header, replaces: replaces, body: raw, scratch: scratch))
        }
        let respondsAll = header.info2.contains(.respondAllOps)
        let readAllCount = operations.count { $0 == .readAll }
        if respondsAll && readAllCount > 1 {
            throw Refusal(.parameter, "more than one read-all op with RESPOND_ALL_OPS")
        }
        let start = target.namespace.with {
            $0.startOperate(target.digest, setName: target.setName, userKey: target.userKey, operations: operations,
                            options: options, scratch: resume.records)
        }
        // The operations and values go back to the scratch once answered, a pending write's
        // from its continuation.
        Self.reply(to: start, of: command, operations: operations, respondsAll: respondsAll,
                   namespace: target.namespace, body: body, resume: resume, finish: finish, scratch: scratch)
    }

    /// Replies to an operate: its reply entries (see `replyBins`), or the engine's refusal. An
    /// operate that finished without I/O replies at once, with no continuation formed (no
    /// allocation); a pending one continues through `resume`. The operations go back to
    /// `scratch` once answered.
    static func reply(to start: Namespace.OperateStart, of command: RecordCommand, operations: [BinOperation],
                      respondsAll: Bool, namespace: Unretained<Namespace>, body: ByteBuffer, resume: Resume, finish: Finish,
                      scratch: OperationScratch? = nil) {
        @Sendable func answer(_ outcome: Result<OperateResult, EngineError>) {
            switch outcome {
            case .failure(let error):
                finish(.failure(Refusal(ResultCode(engine: error.result), error.message)))
            case .success(let result):
                let bins = body.withUnsafeReadableBytes { raw in
                    replyBins(ops: command.ops, operations: operations, results: result.bins, respondsAll: respondsAll, body: raw)
                }
                finish(.success(RecordOutcome(resultCode: .ok, generation: UInt32(result.generation), voidTime: result.voidTime, bins: bins)))
            }
            scratch?.keep(operations: operations)
        }
        switch start {
        case .finished(let outcome):
            answer(outcome)
        case .pending(let pending):
            namespace.with { $0.finishOperate(pending, resume: resume) { answer($0) } }
        }
    }

    /// Existence, generation and (when `readsTTL`) TTL policies of a write header (§6.4 table,
    /// §6.6).
    static func writeOptions(_ header: MessageHeader, readsTTL: Bool = true) throws(Refusal) -> WriteOptions {
        var options = WriteOptions()
        if header.info2.contains(.createOnly) {
            options.exists = .createOnly
        } else if header.info3.contains(.createOrReplace) {
            options.exists = .replace
        } else if header.info3.contains(.replaceOnly) {
            options.exists = .replaceOnly
        } else if header.info3.contains(.updateOnly) {
            options.exists = .updateOnly
        }
        // Generations are 16 bits; a larger expected value can never be equal, and is always greater.
        if header.info2.contains(.generation) {
            guard let expected = UInt16(exactly: header.generation) else {
                throw Refusal(.generation, "expected generation \(header.generation) exceeds 16 bits")
            }
            options.generation = .expectEqual(expected)
        } else if header.info2.contains(.generationGT), let bound = UInt16(exactly: header.generation) {
            options.generation = .expectGreater(bound)
        }
        options.durableDelete = header.info2.contains(.durableDelete)
        guard readsTTL else { return options }
        do {
            switch try RecordTTL(wire: header.recordTTL) {
            case .namespaceDefault: options.ttl = .namespaceDefault
            case .neverExpire: options.ttl = .never
            case .keepExisting: options.ttl = .keepExisting
            case .seconds(let seconds): options.ttl = .seconds(seconds)
            }
        } catch {
            // Refused by the engine after the existence and generation checks (Aerospike's order).
            options.ttl = .invalid(header.recordTTL)
        }
        return options
    }

    /// The engine operation for one wire op.
    /// A written value is copied into `scratch`'s kept memory when it is given.
    static func operation(for op: Op, header: MessageHeader, replaces: Bool, body: UnsafeRawBufferPointer,
                          scratch: OperationScratch? = nil) throws(Refusal) -> BinOperation {
        guard let type = op.type else { throw Refusal(.parameter, "unknown op \(op.typeRaw)") }
        let name = op.name(in: body)
        let value = UnsafeRawBufferPointer(rebasing: body[op.valueRange])
        switch type {
        case .read:
            guard header.info1.contains(.read) else { throw Refusal(.parameter, "READ op without the READ flag") }
            return name.isEmpty ? .readAll : .read(name)
        case .write:
            // An empty bin name is allowed, as Aerospike allows it (its client suite checks it).
            if op.particleTypeRaw == ParticleType.null.rawValue {
                guard value.isEmpty else { throw Refusal(.parameter, "NIL value with bytes") }
                guard !replaces else { throw Refusal(.parameter, "bin delete with a replace policy") }
                return .deleteBin(name)
            }
            return .write(try storedBin(name: name, particleTypeRaw: op.particleTypeRaw, value: value, scratch: scratch))
        case .incr:
            guard !replaces else { throw Refusal(.parameter, "increment with a replace policy") }
            guard !name.isEmpty else { throw Refusal(.binName, "INCR op without a bin name") }
            switch ParticleType(rawValue: op.particleTypeRaw) {
            case .integer:
                return .incrementInteger(name, try integer(value))
            case .float:
                guard value.count == ParticleValue.numberSizeBytes else { throw Refusal(.parameter, "float of \(value.count) bytes") }
                return .incrementFloat(name, Double(bitPattern: bigEndianUInt64(value)))
            default:
                throw Refusal(.parameter, "increment by particle type \(op.particleTypeRaw)")
            }
        case .append, .prepend:
            guard !replaces else { throw Refusal(.parameter, "append/prepend with a replace policy") }
            guard !name.isEmpty else { throw Refusal(.binName, "\(type) op without a bin name") }
            guard let particleType = ParticleType(rawValue: op.particleTypeRaw),
                particleType == .string || particleType == .blob
            else {
                throw Refusal(.incompatibleType, "append/prepend of particle type \(op.particleTypeRaw)")
            }
            return type == .append ? .append(name, particleType, Array(value)) : .prepend(name, particleType, Array(value))
        case .touch:
            guard !replaces else { throw Refusal(.parameter, "touch with a replace policy") }
            return .touch
        case .deleteAll:
            guard !replaces else { throw Refusal(.parameter, "delete-all with a replace policy") }
            return .deleteRecord
        case .cdtRead, .cdtModify, .bitsRead, .bitsModify, .hllRead, .hllModify, .expRead, .expModify:
            // Particle operations: a msgpack payload on a named bin, evaluated by the engine's
            // operation layer; the modify forms are writes.
            guard !name.isEmpty else { throw Refusal(.binName, "\(type) op without a bin name") }
            let isWrite = type.kind != .read
            guard !isWrite || !replaces else { throw Refusal(.parameter, "\(type) op with a replace policy") }
            let payload = Array(value)
            switch type {
            case .cdtRead, .cdtModify:
                return .cdt(name, payload, isWrite: isWrite)
            case .bitsRead, .bitsModify:
                // Aerospike takes bit ops only as blob particles.
                guard op.particleTypeRaw == ParticleType.blob.rawValue else {
                    throw Refusal(.incompatibleType, "bit op of particle type \(op.particleTypeRaw)")
                }
                return .bits(name, payload, isWrite: isWrite)
            case .hllRead, .hllModify:
                return .hll(name, payload, isWrite: isWrite)
            default:
                return .expression(name, payload, isWrite: isWrite)
            }
        }
    }

    /// A bin value as the engine stores it: integers widened to 8 bytes, fixed sizes checked,
    /// everything else kept as the wire bytes (§5.3).
    static func storedBin(name: String, particleTypeRaw: UInt8, value: UnsafeRawBufferPointer,
                          scratch: OperationScratch? = nil) throws(Refusal) -> StoredBin {
        guard let particleType = ParticleType(storable: particleTypeRaw) else {
            throw Refusal(.parameter, "particle type \(particleTypeRaw) cannot be stored")
        }
        switch particleType {
        case .integer:
            // Stored as 8 bytes big-endian whatever width the client sent.
            var bigEndian = UInt64(bitPattern: try integer(value)).bigEndian
            let bytes = withUnsafeBytes(of: &bigEndian) { scratch?.bytes(copying: $0) ?? Array($0) }
            return StoredBin(name: name, particleType: .integer, bytes: bytes)
        case .float:
            guard value.count == ParticleValue.numberSizeBytes else { throw Refusal(.parameter, "float of \(value.count) bytes") }
        case .bool:
            guard value.count == 1, value[0] <= 1 else { throw Refusal(.parameter, "bool of \(value.count) bytes") }
        case .list, .map:
            // Checked and stored in canonical form, as Aerospike's list_from_wire / map_from_wire.
            do {
                let bytes = try CollectionFromClient.rewrite(Array(value), isMap: particleType == .map)
                return StoredBin(name: name, particleType: particleType, bytes: bytes)
            } catch {
                throw Refusal(.serverError, "\(particleType) value refused: \(error)")
            }
        case .geoJSON:
            // Aerospike parses GeoJSON on write: what it cannot read is 160 (GeoShape).
            do throws(GeoShape.Problem) {
                _ = try GeoShape.parse(Array(value))
            } catch {
                throw Refusal(.invalidGeoJSON, "GeoJSON refused: \(error.reason)")
            }
        default:
            break
        }
        return StoredBin(name: name, particleType: particleType, bytes: scratch?.bytes(copying: value) ?? Array(value))
    }

    private static func integer(_ value: UnsafeRawBufferPointer) throws(Refusal) -> Int64 {
        do {
            return try ParticleValue.decodeInteger(value)
        } catch {
            throw Refusal(.parameter, "\(error)")
        }
    }

    private static func bigEndianUInt64(_ value: UnsafeRawBufferPointer) -> UInt64 {
        value.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The reply entries of an operate (§6.4, §6.5): read results as READ entries; with
    /// RESPOND_ALL_OPS exactly one entry per op in op order (a read-all op contributes its bins),
    /// writes as empty entries and missing bins as NIL.
    ///
    /// The engine returns one result per `.read` and one per bin for a `.readAll`, in op order;
    /// with at most one `.readAll` its share is what the named reads leave.
    static func replyBins(
        ops: [Op],
        operations: [BinOperation],
        results: [(String, StoredBin?)],
        respondsAll: Bool,
        body: UnsafeRawBufferPointer
    ) -> [ReplyBin] {
        let readAllCount = operations.count { $0 == .readAll }
        guard readAllCount <= 1 else {
            // Order is irrelevant without RESPOND_ALL_OPS (checked by the caller).
            return results.compactMap { $0.1.map(ReplyBin.read) }
        }
        let namedReadCount = operations.count {
            switch $0 {
            case .read, .cdt, .bits, .hll, .expression: true
            default: false
            }
        }
        let readAllShare = max(0, results.count - namedReadCount)
        var bins: [ReplyBin] = []
        var resultIndex = 0
        for (op, operation) in zip(ops, operations) {
            switch operation {
            case .read(let name), .cdt(let name, _, _), .bits(let name, _, _), .hll(let name, _, _), .expression(let name, _, _):
                guard resultIndex < results.count else { continue }
                if let bin = results[resultIndex].1 {
                    bins.append(.read(bin))
                } else if respondsAll {
                    bins.append(.empty(opTypeRaw: OpType.read.rawValue, name: name))
                }
                resultIndex += 1
            case .readAll:
                let end = min(results.count, resultIndex + readAllShare)
                for result in results[resultIndex..<end] {
                    if let bin = result.1 { bins.append(.read(bin)) }
                }
                resultIndex = end
            case .touch:
                // Aerospike answers no entry for a touch, even with RESPOND_ALL_OPS (a batch
                // write row always sets it).
                continue
            default:
                if respondsAll {
                    bins.append(.empty(opTypeRaw: op.typeRaw, name: op.name(in: body)))
                }
            }
        }
        return bins
    }

    // MARK: - Delete (§6.5)

    private func delete(_ command: RecordCommand, target: Target, body: UnsafeRawBufferPointer, resume: Resume,
                        finish: Finish) throws(Refusal) {
        // A delete has no TTL, and its existence policy is implied (the record must exist).
        var options = try Self.writeOptions(command.header, readsTTL: false)
        options.exists = .update
        options.filter = try Self.filter(of: command, body: body)
        target.namespace.with { namespace in
            namespace.operate(target.digest, operations: [.deleteRecord], options: options, resume: resume) { outcome in
                switch outcome {
                case .failure(let error): finish(.failure(Refusal(ResultCode(engine: error.result), error.message)))
                case .success: finish(.success(RecordOutcome(resultCode: .ok)))
                }
            }
        }
    }
}

extension ReplyBin {
    /// A stored bin returned by a READ.
    static func read(_ bin: StoredBin) -> ReplyBin {
        ReplyBin(opTypeRaw: OpType.read.rawValue, name: bin.name, particleTypeRaw: bin.particleType.rawValue, value: bin.bytes)
    }
}
