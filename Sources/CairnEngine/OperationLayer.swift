import CairnIndex
import CairnParticle
import CairnStorage

/// The operation layer for collection (CDT) operations: given a record's bins, computes the new
/// bins and the operation's result. The engine keeps record semantics (existence, generation,
/// TTL); this layer only knows values.
public enum OperationLayer {
    /// Runs a particle operation (`.cdt`, `.bits` or `.hll`) on `bins`; other operations return nil.
    static func apply(_ op: BinOperation, to bins: inout [StoredBin], scope: @autoclosure () -> RecordScope) throws(EngineError) -> StoredBin? {
        switch op {
        case .expression(let name, let payload, let isWrite):
            return try applyExpression(&bins, name: name, payload: payload, isWrite: isWrite, scope: scope())
        case .cdt(let name, let payload, let isWrite):
            return try applyCDT(&bins, name: name, payload: payload, isWrite: isWrite, scope: scope())
        case .bits(let name, let payload, let isWrite):
            return try applyBlob(&bins, name: name, type: .blob, payload: payload, isWrite: isWrite, BitExecutor.execute)
        case .hll(let name, let payload, let isWrite):
            return try applyBlob(&bins, name: name, type: .hll, payload: payload, isWrite: isWrite, HLLExecutor.execute)
        default:
            return nil
        }
    }

    /// Runs a bit or HLL operation `payload` on bin `name`, whose particle type must be `type`:
    /// a write replaces (or creates) the bin when the operation changed it.
    static func applyBlob(
        _ bins: inout [StoredBin], name: String, type: ParticleType, payload: [UInt8], isWrite: Bool,
        _ execute: (_ payload: [UInt8], _ bin: BlobBin, _ isWrite: Bool) throws(CDTError) -> BlobOutcome
    ) throws(EngineError) -> StoredBin? {
        if isWrite {
            do { try BinMath.checkName(name) } catch { throw EngineError.from(error) }
        }
        let index = bins.firstIndex { $0.name == name }
        let bin: BlobBin
        if let index {
            bin = bins[index].particleType == type ? .bytes(bins[index].bytes) : .otherType
        } else {
            bin = .missing
        }
        let outcome: BlobOutcome
        do {
            outcome = try execute(payload, bin, isWrite)
        } catch {
            throw .particle(error)
        }
        if let newValue = outcome.newValue {
            let newBin = StoredBin(name: name, particleType: type, bytes: newValue)
            if let index { bins[index] = newBin } else { bins.append(newBin) }
        }
        return outcome.result.flatMap { resultBin(name: name, $0) }
    }

    /// Runs the CDT operation `payload` (the op's value bytes) on bin `name` of `bins`.
    ///
    /// A write replaces the bin (a list or map particle) when the operation changed it; the
    /// result is the reply's bin, or nil when the operation returns nothing.
    static func applyCDT(_ bins: inout [StoredBin], name: String, payload: [UInt8], isWrite: Bool,
                         scope: @autoclosure () -> RecordScope) throws(EngineError) -> StoredBin? {
        if isWrite {
            do { try BinMath.checkName(name) } catch { throw EngineError.from(error) }
        }
        let index = bins.firstIndex { $0.name == name }
        let decodedOp = Result { () throws(CDTError) -> CDTOperation in try CDTOperation.decode(payload) }
        // An append to a stored list runs on its bytes: no decode and encode of the whole list.
        if isWrite, let index, bins[index].particleType == .list, case .success(let op) = decodedOp {
            let appended: (bytes: [UInt8], size: Int)?
            do { appended = try InPlaceCDT.append(op, storedList: bins[index].bytes) } catch { throw .particle(error) }
            if let appended {
                bins[index] = StoredBin(name: name, particleType: .list, bytes: appended.bytes)
                return resultBin(name: name, .int(Int64(appended.size)))
            }
        }
        // A put or increment on a stored map runs on its bytes too (InPlaceCDT.mapWrite); what
        // it does not cover, errors included, takes the general path below.
        if isWrite, let index, bins[index].particleType == .map, case .success(let op) = decodedOp,
           let written = InPlaceCDT.mapWrite(op, storedMap: bins[index].bytes) {
            bins[index] = StoredBin(name: name, particleType: .map, bytes: written.bytes)
            return resultBin(name: name, written.result)
        }
        let bin: CDTBin
        if let index {
            let stored = bins[index]
            switch stored.particleType {
            case .list, .map:
                do {
                    bin = .collection(try Value.decode(stored.bytes))
                } catch {
                    throw EngineError(.serverError, "bin \(name): stored collection does not decode: \(error)")
                }
            default:
                bin = .otherType
            }
        } else {
            bin = .missing
        }
        let outcome: CDTOutcome
        do {
            let op = try decodedOp.get()
            // A path select's filters may read the record's bins (as they are now).
            let record = op.command == CDTExecutor.pathSelectCommand ? scope().record(bins) : nil
            outcome = try CDTExecutor.execute(op, bin: bin, isWrite: isWrite, record: record)
        } catch {
            throw .particle(error)
        }
        if let newValue = outcome.newValue {
            let type: ParticleType
            if case .map = newValue { type = .map } else { type = .list }
            let newBin = StoredBin(name: name, particleType: type, bytes: newValue.encoded)
            if let index { bins[index] = newBin } else { bins.append(newBin) }
        }
        return outcome.result.flatMap { resultBin(name: name, $0) }
    }

    /// A result value as the reply bin Aerospike sends: scalars as their particle types, lists
    /// and maps as msgpack; nil has no bin.
    public static func resultBin(name: String, _ value: Value) -> StoredBin? {
        switch value {
        case .null, .wildcard, .infinity:
            return nil
        case .bool(let b):
            return StoredBin(name: name, particleType: .bool, bytes: [b ? 1 : 0])
        case .int(let i):
            return StoredBin(name: name, particleType: .integer, bytes: bigEndian(UInt64(bitPattern: i)))
        case .double(let d):
            return StoredBin(name: name, particleType: .float, bytes: bigEndian(d.bitPattern))
        case .string(let s):
            return StoredBin(name: name, particleType: .string, bytes: Array(s))
        case .geojson(let g):
            return StoredBin(name: name, particleType: .geoJSON, bytes: Array(g))
        case .blob(let t, let data):
            return StoredBin(name: name, particleType: ParticleType(storable: t) ?? .blob, bytes: Array(data))
        case .list:
            return StoredBin(name: name, particleType: .list, bytes: value.encoded)
        case .map:
            return StoredBin(name: name, particleType: .map, bytes: value.encoded)
        case .ext:
            return StoredBin(name: name, particleType: .blob, bytes: value.encoded)
        }
    }

    private static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (UInt64(7 - $0) * 8)) }
    }
}

/// A decoded filter expression (the FILTER_EXPRESSION field), evaluated on a record read.
/// What an expression sees of a record besides its bins: set, key, digest and times.
struct RecordScope {
    var setName: String?
    var userKey: StoredKey?
    var metadata: ExpressionRecord.Metadata

    init(setName: String?, userKey: StoredKey?, digest: Digest, lastUpdateMs: UInt64, voidTime: UInt32, nowMs: UInt64,
         storage: ExpressionRecord.Storage = .device) {
        self.setName = setName
        self.userKey = userKey
        metadata = ExpressionRecord.Metadata(
            digest: digest.bytes, lastUpdateMs: lastUpdateMs, voidTime: voidTime, nowMs: nowMs, storage: storage)
    }

    /// The record as an expression reads it, with `bins` as they are now.
    func record(_ bins: [StoredBin]) -> ExpressionRecord {
        // A stored key is an integer, string or blob particle, read like a bin of that type.
        let key = userKey.flatMap { ExpressionRecord.Bin(name: "", particleType: $0.particleType.rawValue, bytes: $0.bytes).value }
        let expressionBins = bins.map { ExpressionRecord.Bin(name: $0.name, particleType: $0.particleType.rawValue, bytes: $0.bytes) }
        return ExpressionRecord(bins: expressionBins, setName: setName, key: key, metadata: metadata)
    }
}

extension EngineError {
    /// A particle-layer failure with its Aerospike result code.
    static func particle(_ error: CDTError) -> EngineError {
        EngineError(EngineResult(rawValue: error.code) ?? .parameterError, error.reason)
    }
}

/// A decoded filter expression (the FILTER_EXPRESSION field), evaluated on a record read.
public struct RecordFilter: Sendable, Equatable {
    let expression: Value

    /// Decodes the field; a malformed filter is PARAMETER, one with an op Cairn does not evaluate
    /// UNSUPPORTED_FEATURE.
    public init(_ bytes: [UInt8]) throws(EngineError) {
        do {
            expression = try Expression.decode(bytes)
        } catch {
            throw .particle(error)
        }
    }

    /// Whether the expression is known to evaluate to something other than a boolean.
    public var isKnownNonBoolean: Bool { Expression.isKnownNonBoolean(expression) }

    /// Whether `record` passes: only a true filter does. An unsupported expression is
    /// UNSUPPORTED_FEATURE, a malformed one PARAMETER.
    public func passes(_ record: EngineRecord, digest: Digest, nowMs: UInt64 = CitrusleafTime.nowMs(),
                       storage: ExpressionRecord.Storage = .device) throws(EngineError) -> Bool {
        try passes(record.bins, RecordScope(setName: record.setName, userKey: record.userKey, digest: digest,
                                            lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs,
                                            storage: storage))
    }

    func passes(_ record: StoredRecord, digest: Digest, nowMs: UInt64, storage: ExpressionRecord.Storage) throws(EngineError) -> Bool {
        try passes(record.bins, RecordScope(setName: record.setName, userKey: record.userKey, digest: digest,
                                            lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs,
                                            storage: storage))
    }

    private func passes(_ bins: [StoredBin], _ scope: RecordScope) throws(EngineError) -> Bool {
        do {
            return try Expression.passes(expression, scope.record(bins))
        } catch {
            throw .particle(error)
        }
    }
}

extension OperationLayer {
    /// Expression op flags.
    static let expCreateOnly: Int64 = 1, expUpdateOnly: Int64 = 2, expAllowDelete: Int64 = 4
    static let expPolicyNoFail: Int64 = 8, expEvalNoFail: Int64 = 16

    /// An expression read (EXP_READ) or write (EXP_MODIFY) on bin `name`: payload `[expression,
    /// flags]`. A read's result is the value; a write stores it in the bin (nil deletes the bin
    /// with ALLOW_DELETE). An expression that evaluates to unknown is 26 unless EVAL_NO_FAIL.
    static func applyExpression(_ bins: inout [StoredBin], name: String, payload: [UInt8], isWrite: Bool,
                                scope: RecordScope) throws(EngineError) -> StoredBin? {
        let items: [Value]
        do {
            guard case .list(let list, _) = try Value.decode(payload), (1...2).contains(list.count) else {
                throw EngineError(.parameterError, "expression op is not [expression, flags]")
            }
            items = list
        } catch let e as EngineError {
            throw e
        } catch {
            throw EngineError(.parameterError, "expression op: \(error)")
        }
        do throws(CDTError) { try Expression.check(items[0]) } catch { throw .particle(error) }
        var flags: Int64 = 0
        if items.count == 2, case .int(let f) = items[1] { flags = f }
        let allowed = isWrite ? expCreateOnly | expUpdateOnly | expAllowDelete | expPolicyNoFail | expEvalNoFail : expEvalNoFail
        guard flags & ~allowed == 0 else { throw EngineError(.parameterError, "bad expression op flags \(flags)") }
        let index = bins.firstIndex { $0.name == name }
        if isWrite {
            do { try BinMath.checkName(name) } catch { throw EngineError.from(error) }
            let policyNoFail = flags & expPolicyNoFail != 0
            if index != nil && flags & expCreateOnly != 0 {
                if policyNoFail { return nil }
                throw EngineError(.binExists, "bin \(name) exists (CREATE_ONLY)")
            }
            if index == nil && flags & expUpdateOnly != 0 {
                if policyNoFail { return nil }
                throw EngineError(.binNotFound, "bin \(name) missing (UPDATE_ONLY)")
            }
        }
        let outcome: Expression.Outcome
        do {
            outcome = try Expression.evaluate(items[0], scope.record(bins))
        } catch {
            throw .particle(error)
        }
        guard case .known(let value) = outcome else {
            if flags & expEvalNoFail != 0 { return nil }
            throw EngineError(.opNotApplicable, "expression is unknown")
        }
        let bin = resultBin(name: name, value)
        guard isWrite else { return bin }
        if let bin {
            if let index { bins[index] = bin } else { bins.append(bin) }
        } else if let index {
            // Deleting needs ALLOW_DELETE; Aerospike then answers OK for any flags at all (its
            // test is `flags && POLICY_NO_FAIL`), 26 for none.
            guard flags & expAllowDelete != 0 else {
                if flags != 0 { return nil }
                throw EngineError(.opNotApplicable, "expression would delete bin \(name)")
            }
            bins.remove(at: index)
        }
        return nil
    }
}
