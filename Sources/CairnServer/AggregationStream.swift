import CairnEngine
import CairnIO
import CairnIndex
import CairnLua
import CairnParticle
import CairnStorage
import CairnWire
import Logging

/// An aggregation query (the clients' `query.apply` / `as_query_apply`: UDF fields with UDF_OP 1
/// on a scan or query): the stream function's server part runs over every record the scan or
/// query finds, on the thread pool, and each value it emits is sent as a message with one bin,
/// `SUCCESS`; a Lua error is one message with a `FAILURE` bin (the client reports 100). The
/// client runs the rest of the stream (its reduce again, to merge) with its own copy of the
/// module, as with Aerospike.
struct AggregationStream: ReplyStream {
    let plan: ScanReplyStream.Plan
    let pool: LuaPool
    let package: String
    let function: String
    let arguments: [Value]
    let context: ServerContext
    let logger: Logger

    /// Whether `message` asks for an aggregation.
    static func isAggregation(_ message: Message, raw: UnsafeRawBufferPointer) -> Bool {
        guard !message.header.info2.contains(.write), message.field(.udfPackageName) != nil else { return false }
        guard let op = message.field(.udfOp) else { return true }
        return op.data(in: raw).first == 1
    }

    static func make(message: Message, raw: UnsafeRawBufferPointer, context: ServerContext, logger: Logger) -> ScanReplyStream.Start {
        guard let pool = context.udf else { return .refused(BatchReplyStream.lastOnly(.unsupportedFeature)) }
        let command = RecordCommand(message: message)
        guard let package = command.field(.udfPackageName)?.string(in: raw), !package.isEmpty,
              let function = command.field(.udfFunction)?.string(in: raw), !function.isEmpty
        else { return .refused(BatchReplyStream.lastOnly(.parameter)) }
        let arguments: [Value]
        do throws(Refusal) {
            arguments = try RecordExecutor.udfArguments(command, body: raw)
        } catch {
            return .refused(BatchReplyStream.lastOnly(error.resultCode))
        }
        switch ScanReplyStream.makePlan(message: message, raw: raw, context: context, allowsUDF: true) {
        case .failure(let refusal):
            logger.debug("aggregation refused", metadata: ["result": "\(refusal.resultCode)", "reason": "\(refusal.reason)"])
            return .refused(BatchReplyStream.lastOnly(refusal.resultCode))
        case .success(let plan):
            return .stream(AggregationStream(plan: plan, pool: pool, package: package, function: function, arguments: arguments,
                                             context: context, logger: logger))
        }
    }

    /// Runs the whole aggregation (blocking: device reads and Lua) and returns every frame.
    func nextChunk() -> ReplyChunk {
        let namespace = plan.namespace
        let records = SelectedRecords(plan: plan)
        var pending: [UDFRecordInput] = []
        let nowMs = CitrusleafTime.nowMs()
        // The records as the stream asks for them; an index query gives a record once per index
        // entry it finds.
        let next: () -> UDFRecordInput? = {
            while pending.isEmpty {
                guard let (digest, record) = records.next() else { return nil }
                var copies = 1
                if let predicate = plan.predicate {
                    copies = predicate.matchCount(record, digest: digest, storage: namespace.expressionStorage)
                }
                if let filter = plan.filter,
                   (try? filter.passes(record, digest: digest, storage: namespace.expressionStorage)) != true {
                    copies = 0
                }
                guard copies > 0 else { continue }
                let input = UDFRecordInput(
                    exists: true, bins: record.bins.map { (name: $0.name, value: RecordExecutor.value(of: $0)) },
                    generation: record.generation, voidTime: record.voidTime,
                    nowVoidTime: UInt32(truncatingIfNeeded: nowMs / 1000), lastUpdateMs: record.lastUpdateMs,
                    setName: record.setName, key: record.userKey.map(RecordExecutor.value(of:)), digest: digest.bytes)
                pending = Array(repeating: input, count: copies)
            }
            return pending.removeLast()
        }
        let result = pool.aggregate(package: package, function: function, arguments: arguments, next: next)
        var writer = WireWriter(capacityBytes: 256)
        switch result {
        case .success(let values):
            for value in values {
                let bin = RecordExecutor.storedBin(name: RecordExecutor.successBin, value)
                    ?? StoredBin(name: RecordExecutor.successBin, particleType: .null, bytes: [])
                writer.beginRecordReply(resultCode: .ok)
                writer.appendOp(typeRaw: OpType.read.rawValue, particleTypeRaw: bin.particleType.rawValue, name: bin.name, value: bin.bytes)
                writer.endRecordReply()
            }
        case .failure(let error):
            logger.warning("aggregation \(package).\(function) failed: \(error.message)")
            writer.beginRecordReply(resultCode: .udfError)
            writer.appendOp(typeRaw: OpType.read.rawValue, particleTypeRaw: ParticleType.string.rawValue,
                            name: RecordExecutor.failureBin, value: Array(error.message.utf8))
            writer.endRecordReply()
        }
        writer.appendLastFrame(resultCode: .ok)
        var failed = false
        if case .failure = result { failed = true }
        context.latencies.noteAggregation(namespace: plan.namespaceName, indexed: plan.predicate != nil, failed: failed)
        return ReplyChunk(writer.bytes)
    }
}

/// The live records of a scan or query plan's partitions, in index order, read a window at a
/// time: the window's candidates are taken from the index, then all their reads are started
/// together (many device reads in flight) and waited for once. Memory holds one window, not
/// the namespace's candidates (the first version listed every candidate before reading any).
final class SelectedRecords {
    static let windowCount = 64

    private let plan: ScanReplyStream.Plan
    private var position = 0
    private var resumeAfter: Digest?
    private var window: [(Digest, EngineRecord)] = []
    private var taken = 0

    init(plan: ScanReplyStream.Plan) {
        self.plan = plan
    }

    /// The next record, or nil when every partition was walked. A record deleted or unreadable
    /// since the index listed it is skipped (an unreadable one is logged by the engine's read).
    func next() -> (Digest, EngineRecord)? {
        while taken == window.count {
            guard position < plan.partitions.count else { return nil }
            fill()
        }
        defer { taken += 1 }
        return window[taken]
    }

    /// Reads the next window of candidates of the current partition (moving to the next
    /// partition once this one is walked); the window may come out empty.
    private func fill() {
        let partition = plan.partitions[position]
        let (entries, lastVisited, isPartitionDone) = plan.candidates(
            partition: partition.id, after: resumeAfter ?? partition.after, count: Self.windowCount)
        let candidates = entries.map(\.digest)
        if isPartitionDone {
            position += 1
            resumeAfter = nil
        } else {
            resumeAfter = lastVisited
        }
        let namespace = plan.namespace
        let read = waitForAll(candidates.count) { (i, done: @escaping @Sendable (EngineRecord?) -> Void) in
            namespace.get(candidates[i], resume: .inline) { result in done((try? result.get()) ?? nil) }
        }
        window = zip(candidates, read).compactMap { digest, record in record.map { (digest, $0) } }
        taken = 0
    }
}
