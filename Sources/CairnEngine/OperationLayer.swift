import CairnIndex
import CairnParticle
import CairnStorage

/// The operation layer for collection (CDT) operations: given a record's bins, computes the new
/// bins and the operation's result. The engine keeps record semantics (existence, generation,
/// TTL); this layer only knows values.
public enum OperationLayer {
    /// Runs a particle operation (`.cdt`, `.bits` or `.hll`) on `bins`; other operations return nil.
    static func apply(_ op: BinOperation, to bins: inout [StoredBin]) throws(EngineError) -> StoredBin? {
        switch op {
        case .cdt(let name, let payload, let isWrite):
            return try applyCDT(&bins, name: name, payload: payload, isWrite: isWrite)
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
            throw engineError(error)
        }
        if let newValue = outcome.newValue {
            let newBin = StoredBin(name: name, particleType: type, bytes: newValue)
            if let index { bins[index] = newBin } else { bins.append(newBin) }
        }
        return outcome.result.flatMap { resultBin(name: name, $0) }
    }

    private static func engineError(_ error: CDTError) -> EngineError {
        EngineError(EngineResult(rawValue: error.code) ?? .parameterError, error.reason)
    }

    /// Runs the CDT operation `payload` (the op's value bytes) on bin `name` of `bins`.
    ///
    /// A write replaces the bin (a list or map particle) when the operation changed it; the
    /// result is the reply's bin, or nil when the operation returns nothing.
    static func applyCDT(_ bins: inout [StoredBin], name: String, payload: [UInt8], isWrite: Bool) throws(EngineError) -> StoredBin? {
        if isWrite {
            do { try BinMath.checkName(name) } catch { throw EngineError.from(error) }
        }
        let index = bins.firstIndex { $0.name == name }
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
            outcome = try CDTExecutor.execute(payload: payload, bin: bin, isWrite: isWrite)
        } catch {
            throw engineError(error)
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
    static func resultBin(name: String, _ value: Value) -> StoredBin? {
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
            return StoredBin(name: name, particleType: ParticleType(rawValue: t) ?? .blob, bytes: Array(data))
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
public struct RecordFilter: Sendable, Equatable {
    let expression: Value

    /// Decodes the field; a malformed filter is PARAMETER.
    public init(_ bytes: [UInt8]) throws(EngineError) {
        do {
            expression = try Expression.decode(bytes)
        } catch {
            throw EngineError(.parameterError, error.reason)
        }
    }

    /// Whether `record` passes: only a true filter does. An unsupported expression is
    /// UNSUPPORTED_FEATURE, a malformed one PARAMETER.
    public func passes(_ record: EngineRecord, digest: Digest, nowMs: UInt64 = CitrusleafTime.nowMs()) throws(EngineError) -> Bool {
        let metadata = ExpressionRecord.Metadata(digest: digest.bytes, lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs)
        return try passes(bins: record.bins, setName: record.setName, userKey: record.userKey, metadata: metadata)
    }

    func passes(_ record: StoredRecord, digest: Digest, nowMs: UInt64) throws(EngineError) -> Bool {
        let metadata = ExpressionRecord.Metadata(digest: digest.bytes, lastUpdateMs: record.lastUpdateMs, voidTime: record.voidTime, nowMs: nowMs)
        return try passes(bins: record.bins, setName: record.setName, userKey: record.userKey, metadata: metadata)
    }

    private func passes(bins stored: [StoredBin], setName: String?, userKey: StoredKey?,
                        metadata: ExpressionRecord.Metadata) throws(EngineError) -> Bool {
        // A stored key is an integer, string or blob particle, read like a bin of that type.
        let key = userKey.flatMap { ExpressionRecord.Bin(name: "", particleType: $0.particleType.rawValue, bytes: $0.bytes).value }
        let bins = stored.map { ExpressionRecord.Bin(name: $0.name, particleType: $0.particleType.rawValue, bytes: $0.bytes) }
        do {
            return try Expression.passes(expression, ExpressionRecord(bins: bins, setName: setName, key: key, metadata: metadata))
        } catch {
            throw EngineError(EngineResult(rawValue: error.code) ?? .parameterError, error.reason)
        }
    }
}
