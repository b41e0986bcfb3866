import CairnEngine
import CairnIO
import CairnIndex
import CairnParticle
import CairnStorage
import CairnWire
import Logging
import NIOCore

/// Answers a partition scan or a query without a `where` clause (PROTOCOL.md §9), streaming
/// records in frames of bounded size.
///
/// The requested partitions are walked in request order (PID_ARRAY, then DIGEST_ARRAY), each in
/// the index's ascending digest order, starting strictly after the partition's resume digest
/// when one is given. A chunk stops when its frame reaches the target size or MAX_RECORDS is
/// reached; the next chunk resumes strictly after the last digest visited, so nothing is sent
/// twice and a slow client holds back the walk instead of making the server buffer the
/// namespace (see ``ReplyChunk``). The stream ends with a frame holding the LAST message.
/// Partition-done markers are not sent: a single node owns every partition (§9.2).
///
/// A value: each chunk returns the stream positioned where it stopped.
struct ScanReplyStream: ReplyStream {
    /// What the request asks for, fixed for the whole scan.
    struct Plan: Sendable {
        var namespace: Namespace
        var namespaceName: String
        /// Set id to return, nil for every set.
        var setID: UInt16?
        /// Bins to return (a record with none of them is skipped); nil for all bins.
        var binNames: [String]?
        var noBinData: Bool
        /// 0 for no limit.
        var maxRecords: UInt64
        /// 0 for no throttle.
        var recordsPerSecond: UInt32
        /// Partitions to walk, with the digest to resume strictly after.
        var partitions: [(id: Int, after: Digest?)]
        /// A filter expression: records it does not pass are skipped (whole records are read to
        /// evaluate it, then cut to `binNames`).
        var filter: RecordFilter? = nil
        /// A secondary-index query's `where`: records it does not match are skipped (whole
        /// records are read to test it, then cut to `binNames`).
        var predicate: SecondaryIndexPredicate? = nil
        /// The request's scan fields as decoded (a background query reads its set name, task id
        /// and partition counts from them).
        var request: ScanRequest? = nil

        /// Up to `count` live index entries of the plan's set in `partition` after `after`, in
        /// index order; the last digest visited (skipped entries included: where the walk
        /// resumes) and whether the partition was walked to its end. The window every reader of
        /// a plan takes before it reads the records all at once.
        func candidates(partition: Int, after: Digest?, count: Int) -> (records: [IndexRecord], lastVisited: Digest?, isPartitionDone: Bool) {
            var records: [IndexRecord] = []
            records.reserveCapacity(count)
            var lastVisited = after
            let isPartitionDone = namespace.forEachIndexEntry(partition: partition, after: after) { record in
                guard records.count < count else { return false }
                lastVisited = record.digest
                if let setID, record.setID != setID { return true }
                if record.isTombstone { return true }
                records.append(record)
                return true
            }
            return (records, lastVisited, isPartitionDone)
        }
    }

    let plan: Plan
    let context: ServerContext
    let logger: Logger
    let frameBytesTarget: Int
    /// Index in `plan.partitions` of the partition being walked.
    let position: Int
    /// Last digest sent (or skipped) in that partition, nil to start at its resume digest.
    let resumeAfter: Digest?
    let recordsSent: UInt64
    /// How record reads continue (see ``RecordExecutor/streamResume``).
    var resume: Resume = .inline

    /// What starting a scan gives: its stream, or the one-frame reply of a scan refused as a
    /// whole (LAST with the error, §9.2, §9.5).
    enum Start {
        case stream(any ReplyStream)
        case refused(ReplyChunk)
    }

    /// Checks a scan `message` (decoded from `raw`); nothing is read yet.
    static func make(message: Message, raw: UnsafeRawBufferPointer, context: ServerContext, logger: Logger,
                     resume: Resume = .inline, client: String = "") -> Start {
        context.counters.scanRequests.add(1, ordering: .relaxed)
        // A background query may carry a record UDF (UDF_OP 2) instead of write ops.
        let allowsUDF = message.header.info2.contains(.write) && context.udf != nil
        switch makePlan(message: message, raw: raw, context: context, allowsUDF: allowsUDF) {
        case .failure(let refusal):
            // Not counted in `pi_query_*` / `si_query_*`: Aerospike counts only queries that
            // started (a refusal at the start is the transaction's error, not the query's).
            logger.debug("scan refused", metadata: ["result": "\(refusal.resultCode)", "reason": "\(refusal.reason)"])
            return .refused(BatchReplyStream.lastOnly(refusal.resultCode))
        case .success(let plan):
            if message.header.info2.contains(.write) {
                // A background query with write ops: OK once its job has started, then nothing.
                let result = BackgroundQueryStart.start(plan: plan, message: message, raw: raw, context: context, logger: logger,
                                                        client: client)
                if result != .ok { logger.debug("background query refused", metadata: ["result": "\(result)"]) }
                return .refused(BatchReplyStream.lastOnly(result))
            }
            return .stream(ScanReplyStream(
                plan: plan, context: context, logger: logger, frameBytesTarget: context.configuration.streamFrameBytesTarget,
                position: 0, resumeAfter: nil, recordsSent: 0, resume: resume))
        }
    }

    /// Checks the request and extracts what the scan needs from it (the body is not kept).
    static func makePlan(message: Message, raw: UnsafeRawBufferPointer, context: ServerContext,
                         allowsUDF: Bool = false) -> Result<Plan, Refusal> {
        guard let namespaceField = message.field(.namespace), let namespaceName = namespaceField.string(in: raw),
            let namespace = context.namespaces[namespaceName]
        else {
            return .failure(Refusal(.namespaceNotFound, "unknown namespace"))
        }
        let request: ScanRequest
        do throws(MessageError) {
            request = try ScanRequest.decode(message: message, body: raw)
        } catch {
            context.counters.malformedRequests.add(1, ordering: .relaxed)
            return .failure(Refusal(error.resultCode, "\(error)"))
        }
        var predicate: SecondaryIndexPredicate?
        if request.hasIndexFields {
            switch indexPredicate(message: message, raw: raw, namespace: namespace, setName: request.setName) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let found): predicate = found
            }
        }
        var filter: RecordFilter?
        if let field = message.field(.filterExpression) {
            do throws(EngineError) {
                filter = try RecordFilter(Array(field.data(in: raw)))
            } catch {
                return .failure(Refusal(ResultCode(engine: error.result), error.message))
            }
            if filter?.isKnownNonBoolean == true {
                return .failure(Refusal(.parameter, "the filter expression is not a boolean"))
            }
        }
        for field in message.fields where field.type != .filterExpression && !isIndexField(field.type)
            && !(allowsUDF && RecordExecutor.isUDFField(field.type)) {
            if let feature = RecordExecutor.unsupportedFeature(of: field.type) {
                return .failure(Refusal(.unsupportedFeature, "\(feature) is not supported"))
            }
        }
        var binNames: [String]?
        // A background query's ops are its writes (BackgroundQueries), not bins to return.
        if !message.ops.isEmpty && !message.header.info2.contains(.write) {
            var names: [String] = []
            for op in message.ops {
                guard op.type == .read, op.nameSizeBytes > 0 else {
                    return .failure(Refusal(.parameter, "a scan takes only named READ ops, got op \(op.typeRaw)"))
                }
                names.append(op.name(in: raw))
            }
            binNames = names
        }
        var partitions: [(id: Int, after: Digest?)] = []
        if let selection = request.partitions {
            partitions.reserveCapacity(selection.partitionIDs.count + selection.resumeDigests.count)
            partitions += selection.partitionIDs.map { (Int($0), nil) }
            partitions += selection.resumeDigests.map { (Int($0.partitionID), $0) }
        } else {
            partitions = (0..<Digest.partitionCount).map { ($0, nil) }
        }
        var setID: UInt16?
        if let setName = request.setName {
            guard let id = namespace.existingSetID(for: setName) else {
                // A set never written has no records: the scan is empty.
                return .success(
                    Plan(
                        namespace: namespace, namespaceName: namespaceName, setID: nil, binNames: binNames,
                        noBinData: false, maxRecords: 0, recordsPerSecond: 0, partitions: [], predicate: predicate,
                        request: request))
            }
            setID = id
        }
        return .success(
            Plan(
                namespace: namespace, namespaceName: namespaceName, setID: setID, binNames: binNames,
                noBinData: message.header.info1.contains(.getNoBinData), maxRecords: request.maxRecords ?? 0,
                recordsPerSecond: request.recordsPerSecond ?? 0, partitions: partitions, filter: filter,
                predicate: predicate, request: request))
    }

    /// The `where` of a secondary-index query and the index it uses, as Aerospike 8.1 reads
    /// them (query.c): INDEX_RANGE names a bin, or no bin when the query names its index
    /// (INDEX_NAME) or sends an expression index's expression (INDEX_EXPRESSION); a bin may come
    /// with a context index's context (INDEX_CONTEXT) and INDEX_TYPE. Each combination Aerospike
    /// refuses is 4 (a bin with a name or expression, none of the three, a name with an
    /// expression or a context, an expression with a context, an empty field, a context that is
    /// not a normalized read context). An index named is found by its name alone (its own bin,
    /// context, expression and collection type apply); otherwise by bin, collection type, value
    /// type, context and expression bytes. No index is 201.
    static func indexPredicate(message: Message, raw: UnsafeRawBufferPointer, namespace: Namespace, setName: String?)
        -> Result<SecondaryIndexPredicate, Refusal>
    {
        guard let rangeField = message.field(.indexRange) else {
            return .failure(Refusal(.parameter, "an index query needs an INDEX_RANGE field"))
        }
        var collection: SecondaryIndexCatalog.Collection? = .default
        if let typeField = message.field(.indexType) {
            let bytes = Array(typeField.data(in: raw))
            guard let first = bytes.first else { return .failure(Refusal(.parameter, "empty INDEX_TYPE field")) }
            collection = SecondaryIndexCatalog.Collection(wireByte: first)  // another byte finds no index
        }
        var predicate: SecondaryIndexPredicate
        do throws(SecondaryIndexPredicate.Problem) {
            predicate = try SecondaryIndexPredicate.decode(
                indexRange: Array(rangeField.data(in: raw)), collection: collection ?? .default)
        } catch {
            return .failure(Refusal(error.isUnsupported ? .unsupportedFeature : .parameter, error.message))
        }
        let nameField = message.field(.indexName)
        let expressionField = message.field(.indexExpression)
        let contextField = message.field(.indexContext)
        if predicate.binName.isEmpty {
            if nameField == nil && expressionField == nil {
                return .failure(Refusal(.parameter, "missing expression and index name and bin name"))
            }
        } else if nameField != nil || expressionField != nil {
            return .failure(Refusal(.parameter, "specified expression or index name with bin name"))
        }
        if nameField != nil && expressionField != nil {
            return .failure(Refusal(.parameter, "specified both expression and index name"))
        }
        var expressionBytes: [UInt8]?
        if let expressionField {
            expressionBytes = Array(expressionField.data(in: raw))
            if expressionBytes!.isEmpty { return .failure(Refusal(.parameter, "cannot parse index expression")) }
        }
        var contextBytes: [UInt8]?
        if let contextField {
            if nameField != nil { return .failure(Refusal(.parameter, "specified both cdt context and index name")) }
            if expressionField != nil { return .failure(Refusal(.parameter, "specified both cdt context and expression")) }
            let bytes = Array(contextField.data(in: raw))
            do throws(IndexContext.Problem) {
                _ = try IndexContext.parse(bytes)
            } catch {
                return .failure(Refusal(.parameter, error == .notNormalized ? "index context not normalized" : "invalid index context"))
            }
            contextBytes = bytes
        }
        let catalog = namespace.secondaryIndexes
        let definition: SecondaryIndexCatalog.Definition?
        if let nameField {
            let nameBytes = Array(nameField.data(in: raw))
            guard !nameBytes.isEmpty, nameBytes.count <= SecondaryIndexCatalog.nameBytesMax else {
                return .failure(Refusal(.parameter, "bad index name size \(nameBytes.count)"))
            }
            definition = catalog.definition(named: String(decoding: nameBytes, as: UTF8.self)).flatMap { $0.collection == .set ? nil : $0 }
        } else if let collection {
            definition = catalog.find(
                binName: predicate.binName, setName: setName, collection: collection, keyType: predicate.range.keyType,
                context: contextBytes, expression: expressionBytes)
        } else {
            definition = nil
        }
        guard let definition else { return .failure(Refusal(.indexNotFound, "no index for the query")) }
        predicate = predicate.using(definition)
        return .success(predicate)
    }

    var runsWithoutWaiting: Bool { true }

    /// Makes the next chunk with no thread waiting: a window of candidates is taken from the
    /// index, their records are read all at once (device reads on the caller's ring), and the
    /// last read's completion continues the chunk through `hop`. Records answered from memory
    /// complete inline; windows follow each other in a loop, never by recursion.
    func nextChunk(hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        ScanChunkBuilder(stream: self, hop: hop, deliver: deliver).run()
    }

    /// The blocking form (the thread pool, the epoll transport).
    func nextChunk() -> ReplyChunk {
        waitForChunk { hop, deliver in nextChunk(hop: hop, deliver: deliver) }
    }

    /// Appends the record message for an index entry if the record is visible and selected
    /// (§9.2: NAMESPACE, DIGEST, SET, KEY fields, then the bins). Returns whether it was sent.
    /// Records of one scan read at once.
    static let recordsInFlightMax = 64
    /// Records read at once at the start of a chunk, before their size is known.
    static let recordsInFlightFirst = 16

    /// What a scan candidate needs from the engine: nothing more (metadata only, no key), or
    /// its record read (nil when it disappeared or could not be read).
    enum Fetched: Sendable {
        case metadataOnly
        case record(EngineRecord?)
    }

    /// Starts reading every candidate that needs its record, all at once; each outcome goes to
    /// `run` at its candidate's offset.
    fileprivate func fetch(_ candidates: [IndexRecord], into run: InFlightRun<Fetched>) {
        let namespace = plan.namespace
        let isWholeRecordNeeded = plan.filter != nil || plan.predicate != nil
        let binNames = isWholeRecordNeeded ? nil : plan.noBinData ? [] : plan.binNames
        let counters = context.counters
        let logger = self.logger
        for (offset, record) in candidates.enumerated() {
            if plan.noBinData && !isWholeRecordNeeded && !record.flags.contains(.keyStored) {
                // Metadata only, and no key to return: no device read.
                run.complete(offset, .metadataOnly)
                continue
            }
            namespace.get(record.digest, binNames: binNames, resume: resume) { result in
                switch result {
                case .success(let found): run.complete(offset, .record(found))
                case .failure(let error):
                    counters.scanRecordsSkippedUnreadable.add(1, ordering: .relaxed)
                    logger.warning(
                        "scan skipped an unreadable record",
                        metadata: ["digest": "\(record.digest)", "result": "\(error.result)", "error": "\(error.message)"])
                    run.complete(offset, .record(nil))
                }
            }
        }
    }

    fileprivate func appendRecord(_ record: IndexRecord, _ fetched: Fetched, to writer: inout WireWriter) -> Bool {
        let namespace = plan.namespace
        let found: EngineRecord?
        switch fetched {
        case .metadataOnly:
            guard let metadata = namespace.exists(record.digest) else { return false }
            writer.beginScanRecord(
                namespace: plan.namespaceName.utf8, digest: record.digest, generation: UInt32(metadata.generation),
                voidTime: metadata.voidTime, hasBinData: false)
            if let setName = namespace.setName(for: record.setID) {
                writer.appendField(.set, string: setName)
            }
            writer.endMessage()
            return true
        case .record(let record):
            found = record
        }
        guard var stored = found else { return false }
        // An index query returns the record as many times as Aerospike's would (once, or once
        // per matching value of a geo query on a collection index: SecondaryIndexPredicate).
        var copies = 1
        if let predicate = plan.predicate {
            copies = predicate.matchCount(stored, digest: record.digest, storage: namespace.expressionStorage)
            if copies == 0 { return false }
        }
        if let filter = plan.filter {
            // A record the filter does not pass, or cannot evaluate, is skipped.
            guard (try? filter.passes(stored, digest: record.digest, storage: namespace.expressionStorage)) == true else { return false }
        }
        if plan.filter != nil || plan.predicate != nil, let names = plan.binNames {
            stored.bins = stored.bins.filter { names.contains($0.name) }
        }
        if plan.binNames != nil && !plan.noBinData && stored.bins.isEmpty { return false }
        for _ in 0..<copies {
            appendRecordMessage(record, stored, to: &writer)
        }
        return true
    }

    private func appendRecordMessage(_ record: IndexRecord, _ stored: EngineRecord, to writer: inout WireWriter) {
        writer.beginScanRecord(
            namespace: plan.namespaceName.utf8, digest: record.digest, generation: UInt32(stored.generation),
            voidTime: stored.voidTime, hasBinData: !plan.noBinData)
        if let setName = stored.setName, !setName.isEmpty {
            writer.appendField(.set, string: setName)
        }
        if let userKey = stored.userKey {
            writer.appendField(.key, data: [userKey.particleType.rawValue] + userKey.bytes)
        }
        if !plan.noBinData {
            writer.appendReadBins(stored.bins)
        }
        writer.endMessage()
    }
}

/// One chunk of a scan reply in the making.
///
/// Runs on one thread at a time: the one that started it, then the one each window's
/// continuation hops to; the window's lock orders those hand-overs, which is why the type may be
/// `@unchecked Sendable`.
private final class ScanChunkBuilder: @unchecked Sendable {
    let stream: ScanReplyStream
    let hop: StreamHop
    let deliver: @Sendable (ReplyChunk) -> Void
    var records: WireWriter
    var position: Int
    var resumeAfter: Digest?
    var recordsSent: UInt64
    var recordsInChunk = 0
    var isFrameFull = false
    var isLimitReached: Bool

    init(stream: ScanReplyStream, hop: @escaping StreamHop, deliver: @escaping @Sendable (ReplyChunk) -> Void) {
        self.stream = stream
        self.hop = hop
        self.deliver = deliver
        records = WireWriter(capacityBytes: stream.frameBytesTarget + stream.frameBytesTarget / 8)
        position = stream.position
        resumeAfter = stream.resumeAfter
        recordsSent = stream.recordsSent
        isLimitReached = stream.plan.maxRecords > 0 && stream.recordsSent >= stream.plan.maxRecords
    }

    func run() {
        let plan = stream.plan
        let frameBytesTarget = stream.frameBytesTarget
        while position < plan.partitions.count && !isFrameFull && !isLimitReached {
            let partition = plan.partitions[position]
            let start = resumeAfter ?? partition.after
            // Walk the partition for a window of candidates, then read them all at once (many
            // device reads in flight) and append them in index order.
            // Sized from the records so far, to end the frame near its byte target.
            var window = ScanReplyStream.recordsInFlightFirst
            if recordsInChunk > 0 {
                let recordBytes = max(1, records.sizeBytes / recordsInChunk)
                window = max(1, min(ScanReplyStream.recordsInFlightMax, (frameBytesTarget - records.sizeBytes) / recordBytes + 1))
            }
            let (candidates, lastVisited, isPartitionDone) = plan.candidates(partition: partition.id, after: start, count: window)
            let reads = InFlightRun<ScanReplyStream.Fetched>(count: candidates.count)
            stream.fetch(candidates, into: reads)
            let inline = reads.startedAll { [self, candidates, lastVisited] fetched in
                hop { [self] in
                    append(candidates, fetched, lastVisited: lastVisited, isPartitionDone: isPartitionDone)
                    run()
                }
            }
            // Some record is waiting for the device: its completion continues the chunk.
            guard let fetched = inline else { return }
            append(candidates, fetched, lastVisited: lastVisited, isPartitionDone: isPartitionDone)
        }
        finish()
    }

    private func append(_ candidates: [IndexRecord], _ fetched: [ScanReplyStream.Fetched], lastVisited: Digest?,
                        isPartitionDone: Bool) {
        let plan = stream.plan
        for (record, found) in zip(candidates, fetched) where !isLimitReached {
            if stream.appendRecord(record, found, to: &records) {
                recordsSent += 1
                recordsInChunk += 1
                isLimitReached = plan.maxRecords > 0 && recordsSent >= plan.maxRecords
                isFrameFull = records.sizeBytes >= stream.frameBytesTarget
            }
        }
        // Stopped inside the window: the rest of it was never sent; nothing resumes.
        if isLimitReached { return }
        if isPartitionDone {
            position += 1
            resumeAfter = nil
        } else {
            resumeAfter = lastVisited
        }
    }

    private func finish() {
        let plan = stream.plan
        stream.context.counters.scanRecords.add(UInt64(recordsInChunk), ordering: .relaxed)
        var frames = ByteBuffer()
        if records.sizeBytes > 0 {
            var header: [UInt8] = []
            ProtoHeader(type: .message, bodySizeBytes: UInt64(records.sizeBytes)).encode(into: &header)
            frames.reserveCapacity(header.count + records.sizeBytes + ProtoHeaderSize.recordReplyBytes)
            frames.writeBytes(header)
            frames.writeBytes(records.bytes)
        }
        guard position < plan.partitions.count && !isLimitReached else {
            var last = WireWriter(capacityBytes: ProtoHeaderSize.recordReplyBytes)
            last.appendLastFrame(resultCode: .ok)
            frames.writeBytes(last.bytes)
            if plan.predicate == nil {
                stream.context.latencies.notePIQueryComplete(namespace: plan.namespaceName)
            } else {
                stream.context.latencies.noteSIQueryComplete(namespace: plan.namespaceName)
            }
            return deliver(ReplyChunk(bytes: frames))
        }
        let next = ScanReplyStream(
            plan: plan, context: stream.context, logger: stream.logger, frameBytesTarget: stream.frameBytesTarget,
            position: position, resumeAfter: resumeAfter, recordsSent: recordsSent, resume: stream.resume)
        let delayMs = plan.recordsPerSecond > 0 ? Int64(recordsInChunk) * 1000 / Int64(plan.recordsPerSecond) : 0
        deliver(ReplyChunk(bytes: frames, next: next, delayMs: delayMs))
    }
}
