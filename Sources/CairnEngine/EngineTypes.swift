import CairnIO
import CairnStorage

/// Aerospike result codes the engine produces (PROTOCOL.md §7); the server sends them as they are.
public enum EngineResult: UInt8, Sendable, Equatable {
    case ok = 0
    case serverError = 1
    case keyNotFound = 2
    case generationError = 3
    case parameterError = 4
    case keyExists = 5
    case binExists = 6
    case outOfSpace = 8
    case binTypeError = 12
    case recordTooBig = 13
    case binNotFound = 17
    case deviceOverload = 18
    case keyMismatch = 19
    case binNameTooLong = 21
    case forbidden = 22
    case unsupportedFeature = 16
    case elementNotFound = 23
    case elementExists = 24
    case opNotApplicable = 26
    case filteredOut = 27
}

/// A refused or failed engine operation: the result code for the client, and a message for logs.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var result: EngineResult
    public var message: String

    public init(_ result: EngineResult, _ message: String) {
        self.result = result
        self.message = message
    }

    public var description: String { "\(result) (\(result.rawValue)): \(message)" }

    static func from(_ error: any Error) -> EngineError {
        if let e = error as? EngineError { return e }
        if let s = error as? StorageError {
            switch s {
            case .deviceFull: return EngineError(.outOfSpace, s.description)
            case .overloaded: return EngineError(.deviceOverload, s.description)
            case .recordTooBig: return EngineError(.recordTooBig, s.description)
            default: return EngineError(.serverError, s.description)
            }
        }
        if let f = error as? FormatEncodingError {
            switch f {
            case .recordTooLarge: return EngineError(.recordTooBig, f.description)
            case .badBinName: return EngineError(.binNameTooLong, f.description)
            default: return EngineError(.parameterError, f.description)
            }
        }
        return EngineError(.serverError, "\(error)")
    }
}

/// What a write does when the record exists or not (Aerospike's record-exists action).
public enum RecordExistsAction: Sendable, Equatable {
    /// Create or merge bins into the existing record (default).
    case update
    /// Merge bins; the record must exist.
    case updateOnly
    /// Create or replace every bin.
    case replace
    /// Replace every bin; the record must exist.
    case replaceOnly
    /// Create; the record must not exist.
    case createOnly
}

/// Generation check of a write.
public enum GenerationPolicy: Sendable, Equatable {
    case none
    case expectEqual(UInt16)
    case expectGreater(UInt16)
}

/// The TTL a write asks for (PROTOCOL.md §6.6).
public enum TTLRequest: Sendable, Equatable {
    /// 0 on the wire: the namespace's (or set's) default-ttl.
    case namespaceDefault
    /// -1: never expire.
    case never
    /// -2: keep the record's current void time.
    case keepExisting
    case seconds(UInt32)
    /// A TTL the wire does not allow (above 10 years, or the client-side placeholder): refused
    /// with PARAMETER, but only after the existence and generation checks, as Aerospike orders
    /// them (a missing record or a generation mismatch is reported first).
    case invalid(UInt32)
}

/// Options of one write.
public struct WriteOptions: Sendable, Equatable {
    public var exists: RecordExistsAction
    public var generation: GenerationPolicy
    public var ttl: TTLRequest
    /// Write a tombstone on delete (also forced by the namespace's force-durable-deletes).
    public var durableDelete: Bool
    /// Whether the user key sent with the request is stored.
    public var storeKey: Bool
    /// A filter the existing record must pass (else FILTERED_OUT, nothing written); a write that
    /// creates the record is not filtered (as Aerospike).
    public var filter: RecordFilter?
    /// A secondary-index predicate the existing record must still match, checked on the copy
    /// the write replaces; a record it no longer selects is passed over as absent
    /// (KEY_NOT_FOUND, nothing written). Background query jobs set it so that what their `where`
    /// selected is updated without a read of its own first.
    public var predicate: SecondaryIndexPredicate?

    public init(exists: RecordExistsAction = .update, generation: GenerationPolicy = .none,
                ttl: TTLRequest = .namespaceDefault, durableDelete: Bool = false, storeKey: Bool = false) {
        self.exists = exists
        self.generation = generation
        self.ttl = ttl
        self.durableDelete = durableDelete
        self.storeKey = storeKey
    }
}

/// One operation of an `operate` call, in request order.
public enum BinOperation: Sendable, Equatable {
    case read(String)
    case readAll
    /// Metadata only (generation, void time).
    case readHeader
    /// Write a bin (replace its value).
    case write(StoredBin)
    /// Delete a bin (a write of NIL).
    case deleteBin(String)
    case incrementInteger(String, Int64)
    case incrementFloat(String, Double)
    case append(String, ParticleType, [UInt8])
    case prepend(String, ParticleType, [UInt8])
    /// Reset the TTL and bump the generation.
    case touch
    /// Delete the whole record.
    case deleteRecord
    /// A collection (list/map) operation on a bin: the op's msgpack payload, and whether it
    /// came as CDT_MODIFY. Evaluated by ``OperationLayer``; its result is one entry of the
    /// operate's results (nil when it returns nothing).
    case cdt(String, [UInt8], isWrite: Bool)
    /// A bitwise operation on a blob bin (BIT_READ / BIT_MODIFY): the op's msgpack payload, and
    /// whether it came as BIT_MODIFY. Evaluated by ``OperationLayer`` like `.cdt`.
    case bits(String, [UInt8], isWrite: Bool)
    /// A HyperLogLog operation on an HLL bin (HLL_READ / HLL_MODIFY), like `.bits`.
    case hll(String, [UInt8], isWrite: Bool)
    /// An expression read (EXP_READ) or write (EXP_MODIFY) of a bin: the op's `[expression,
    /// flags]` payload; it sees the record as the operations before it left it.
    case expression(String, [UInt8], isWrite: Bool)

    var isWrite: Bool {
        switch self {
        case .read, .readAll, .readHeader: return false
        case .cdt(_, _, let isWrite), .bits(_, _, let isWrite), .hll(_, _, let isWrite), .expression(_, _, let isWrite): return isWrite
        default: return true
        }
    }

    var needsExistingBins: Bool {
        switch self {
        case .read, .readAll, .incrementInteger, .incrementFloat, .append, .prepend, .cdt, .bits, .hll, .expression: return true
        default: return false
        }
    }
}

/// A record as read by a client.
public struct EngineRecord: Sendable, Equatable {
    public var generation: UInt16
    /// Seconds since 2010-01-01; 0 = never expires.
    public var voidTime: UInt32
    public var lastUpdateMs: UInt64
    public var setName: String?
    public var userKey: StoredKey?
    public var bins: [StoredBin]
}

/// The outcome of `operate`: metadata after the operation and one entry per read result
/// (`(name, bin)`; a missing bin has a nil value), in operation order.
public struct OperateResult: Sendable, Equatable {
    public var generation: UInt16
    public var voidTime: UInt32
    public var bins: [(String, StoredBin?)]
    /// A record transform (UDF) that failed: the result code its reply carries with `bins`.
    public var failure: UInt8? = nil

    public static func == (a: OperateResult, b: OperateResult) -> Bool {
        a.generation == b.generation && a.voidTime == b.voidTime && a.bins.count == b.bins.count
            && zip(a.bins, b.bins).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// Time since the Citrusleaf epoch (2010-01-01T00:00:00Z), the base of LUTs and void times.
public enum CitrusleafTime {
    public static let epochUnixSeconds: UInt64 = 1_262_304_000

    /// The wall clock in ms since 2010-01-01.
    public static func nowMs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        let unixMs = UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
        return unixMs - epochUnixSeconds * 1000
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Reports an engine operation's outcome: called exactly once, before the operation returns when
/// memory answered it, else later from the continuation of its device I/O.
public typealias EngineCompletion<T> = @Sendable (Result<T, EngineError>) -> Void

/// Where an operation continues after device I/O completes: the server passes its connection's
/// event loop (the transaction resumes on the thread that owns it); blocking callers pass
/// ``inline`` (continue on the I/O completion thread). The memory-only parts of an operation
/// never go through it.
public struct Resume: Sendable {
    private let schedule: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// The continuing thread's own ring, when it has one (an io_uring service thread): device
    /// reads go on it and complete on that thread, with no reader thread and no hand-off.
    public let deviceReads: (any OwnedRingReads)?
    /// The continuing thread's record memory, when it keeps one (an io_uring service thread):
    /// records read from memory on that thread are decoded into it, with no allocation.
    public let records: RecordScratch?
    /// The continuing thread's memory for writes' operations, when it keeps some.
    public let operations: OperationScratch?
    /// Runs a durability callback with its outcome on the continuing thread. A service thread
    /// queues the pair as it is; by default it is wrapped in a closure for `schedule`.
    public let deliverDurable: DeviceWriter.DurableDelivery

    public init(deviceReads: (any OwnedRingReads)? = nil, records: RecordScratch? = nil, operations: OperationScratch? = nil,
                deliverDurable: DeviceWriter.DurableDelivery? = nil,
                _ schedule: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.schedule = schedule
        self.deviceReads = deviceReads
        self.records = records
        self.operations = operations
        self.deliverDurable = deliverDurable ?? DeviceWriter.DurableDelivery { callback, error in schedule { callback(error) } }
    }

    /// Continue on whichever thread completed the I/O.
    public static let inline = Resume { $0() }

    @inline(__always)
    public func run(_ work: @escaping @Sendable () -> Void) { schedule(work) }
}

/// A record UDF as the engine runs it: a function from the record as it is to what becomes of
/// it, run inside a write's optimistic attempt (no lock held; run again if the record changed
/// before the commit, so it must depend on its input only).
public struct RecordTransform: Sendable {
    public let body: @Sendable (TransformInput) -> TransformDecision

    public init(_ body: @escaping @Sendable (TransformInput) -> TransformDecision) {
        self.body = body
    }
}

/// What a ``RecordTransform`` sees.
public struct TransformInput: Sendable {
    public var digest: Digest
    /// Whether the record exists (visible: not expired, not truncated).
    public var exists: Bool
    public var bins: [StoredBin]
    public var generation: UInt16
    public var voidTime: UInt32
    public var lastUpdateMs: UInt64
    /// The clock of the attempt, in milliseconds since 2010-01-01.
    public var nowMs: UInt64
    public var setName: String?
    public var userKey: StoredKey?
}

/// What a ``RecordTransform`` decided.
public struct TransformDecision: Sendable {
    public enum Change: Sendable, Equatable {
        /// The record stays as it is.
        case none
        /// The record becomes these bins (none: it is deleted).
        case write([StoredBin])
    }

    public var change: Change
    /// The TTL the write gets instead of the request's (record.set_ttl).
    public var ttl: TTLRequest?
    /// The reply's bins.
    public var reply: [StoredBin]
    /// A result code the transaction fails with (its reply still carries `reply`); nothing is
    /// written then.
    public var failure: UInt8?

    public init(change: Change, ttl: TTLRequest? = nil, reply: [StoredBin], failure: UInt8? = nil) {
        self.change = change
        self.ttl = ttl
        self.reply = reply
        self.failure = failure
    }
}
