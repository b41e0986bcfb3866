import CairnEngine
import CairnLua
import CairnParticle
import CairnIndex
import CairnIO
import CairnWire
import Foundation
import Logging
import Synchronization

/// Background queries with write operations or a record UDF (a client's `execute_background` with
/// ops or `apply`; Aerospike's ops-bg and udf-bg query jobs). The client gets OK as soon as the job starts; the job then walks the
/// requested partitions on its own thread and, for each live record of the set that the query's
/// index predicate and filter expression match, runs the write operations as an update of that
/// record (it never creates one), throttled to the job's records per second. `query-show`,
/// `query-abort` and `query-abort-all` follow the jobs, with Aerospike's fields and answers.
final class BackgroundQueries: Sendable {
    /// Finished jobs kept for `query-show` (Aerospike's `query-max-done` default).
    static let finishedJobsMax = 100
    /// A job's records per second when the request asks none, and the most it may ask
    /// (Aerospike's `background-query-max-rps` default).
    static let recordsPerSecondMax: UInt32 = 10_000
    /// Jobs running at once (a thread each), as Aerospike's `query-threads-limit` default: one
    /// more is refused with FORBIDDEN.
    static let activeJobsMax = 128

    private struct Jobs {
        var active: [BackgroundQueryJob] = []
        var finished: [BackgroundQueryJob] = []
        var threads: [ObjectIdentifier: Thread] = [:]
        var isStopping = false
    }

    private let jobs = Mutex(Jobs())
    /// Jobs running, for `stop` to wait on.
    private let running = ConditionLock(0)
    /// Per namespace and kind (ops-bg, udf-bg): jobs completed and aborted, by primary-index and
    /// secondary-index query (`pi_query_ops_bg_*`, `si_query_udf_bg_*` ...). A job that starts
    /// always runs to its end or its abort (a record it cannot update counts in its
    /// `recs-failed`), so the error counters stay 0, as Aerospike's (it only abandons a job by
    /// abort).
    private let outcomes: [String: (ops: OutcomeCounters, udf: OutcomeCounters)]

    final class OutcomeCounters: Sendable {
        let piComplete = Atomic<UInt64>(0), piAbort = Atomic<UInt64>(0)
        let siComplete = Atomic<UInt64>(0), siAbort = Atomic<UInt64>(0)

        /// (complete, abort, error) of primary-index and secondary-index jobs.
        var counts: (pi: (UInt64, UInt64, UInt64), si: (UInt64, UInt64, UInt64)) {
            ((piComplete.load(ordering: .relaxed), piAbort.load(ordering: .relaxed), 0),
             (siComplete.load(ordering: .relaxed), siAbort.load(ordering: .relaxed), 0))
        }
    }

    init(namespaceNames: [String]) {
        outcomes = Dictionary(uniqueKeysWithValues: namespaceNames.map { ($0, (OutcomeCounters(), OutcomeCounters())) })
    }

    /// Why a job does not start.
    enum StartError: Error {
        case duplicateID(UInt64)
        case stopping
        case tooMany
    }

    /// Starts `job` on its own thread, unless a job with its id is known (active or finished,
    /// as Aerospike checks) or the server is stopping.
    func start(_ job: BackgroundQueryJob) throws(StartError) {
        try jobs.withLock { (j: inout Jobs) throws(StartError) in
            guard !j.isStopping else { throw .stopping }
            guard j.active.count < Self.activeJobsMax else { throw .tooMany }
            if j.active.contains(where: { $0.id == job.id }) || j.finished.contains(where: { $0.id == job.id }) {
                throw .duplicateID(job.id)
            }
            j.active.append(job)
            running.withLock { $0 += 1 }
            // Started under the jobs lock: `finish` (which takes it) cannot run before the
            // thread is recorded.
            j.threads[ObjectIdentifier(job)] = NamedThread.start("cairn-bg-query") { [self] in
                job.run()
                finish(job)
            }
        }
    }

    private func finish(_ job: BackgroundQueryJob) {
        if let both = outcomes[job.namespaceName] {
            let c = job.udf == nil ? both.ops : both.udf
            switch (job.indexName != nil, job.wasAborted) {
            case (false, false): c.piComplete.add(1, ordering: .relaxed)
            case (false, true): c.piAbort.add(1, ordering: .relaxed)
            case (true, false): c.siComplete.add(1, ordering: .relaxed)
            case (true, true): c.siAbort.add(1, ordering: .relaxed)
            }
        }
        jobs.withLock { j in
            j.active.removeAll { $0 === job }
            j.threads[ObjectIdentifier(job)] = nil
            j.finished.append(job)
            if j.finished.count > Self.finishedJobsMax { j.finished.removeFirst(j.finished.count - Self.finishedJobsMax) }
        }
        running.withLock { $0 -= 1 }
        running.broadcast()
    }

    /// `query-show:id=N`: the job's fields, or nil when no job has that id.
    func info(id: UInt64) -> String? {
        let job = jobs.withLock { j in j.active.first { $0.id == id } ?? j.finished.first { $0.id == id } }
        return job?.info()
    }

    /// `query-show`: every job, the active ones first, newest first in each group, `;`-separated.
    func allInfo() -> String {
        let (active, finished) = jobs.withLock { ($0.active, $0.finished) }
        return (active.reversed() + finished.reversed()).map { $0.info() }.joined(separator: ";")
    }

    /// `query-abort:id=N`: whether an active job had that id.
    func abort(id: UInt64) -> Bool {
        guard let job = jobs.withLock({ j in j.active.first { $0.id == id } }) else { return false }
        job.abort()
        return true
    }

    /// `query-abort-all`: how many active jobs were told to stop.
    func abortAll() -> Int {
        let active = jobs.withLock { $0.active }
        for job in active { job.abort() }
        return active.count
    }

    /// Server stop: no new job starts, every running one is aborted, and this returns once
    /// their threads are done (before the namespaces close).
    func stop() {
        let active = jobs.withLock { j in
            j.isStopping = true
            return j.active
        }
        for job in active { job.abort() }
        running.wait(until: { $0 == 0 }) { _ in }
    }

    /// `pi_query_ops_bg_*` and `si_query_ops_bg_*` of a namespace.
    /// `*_query_ops_bg_*` and `*_query_udf_bg_*` of a namespace: (complete, abort, error) per kind.
    func statistics(namespace: String) -> (ops: (pi: (UInt64, UInt64, UInt64), si: (UInt64, UInt64, UInt64)),
                                           udf: (pi: (UInt64, UInt64, UInt64), si: (UInt64, UInt64, UInt64))) {
        guard let both = outcomes[namespace] else { return (((0, 0, 0), (0, 0, 0)), ((0, 0, 0), (0, 0, 0))) }
        return (both.ops.counts, both.udf.counts)
    }
}

/// The record UDF a background query runs on each record, instead of write operations.
struct BackgroundUDF: Sendable {
    let pool: LuaPool
    let package: String
    let function: String
    let arguments: [Value]
}

/// One background query with write operations or a record UDF: what it runs, and its counts as
/// it goes.
final class BackgroundQueryJob: Sendable {
    let id: UInt64
    let namespace: Namespace
    let namespaceName: String
    let setName: String?
    /// The set's id, nil for every set.
    let setID: UInt16?
    let indexName: String?
    /// Partitions to walk, each after its resume digest.
    let partitions: [PartitionStart]
    let partitionsRequested: Int
    let digestsRequested: Int
    let recordsPerSecond: UInt32
    let operations: [BinOperation]
    /// A record UDF run on each record in place of `operations`.
    let udf: BackgroundUDF?
    let options: WriteOptions
    let predicate: SecondaryIndexPredicate?
    let client: String
    let logger: Logger

    struct PartitionStart: Sendable {
        var id: Int
        var after: Digest?
    }

    private let startNs: UInt64
    private let finishNs = Atomic<UInt64>(0)
    private let aborted = Atomic<Bool>(false)
    private let partitionsDone = Atomic<Int>(0)
    private let succeeded = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)
    private let filteredBins = Atomic<UInt64>(0)
    private let throttled = Atomic<UInt64>(0)

    init(id: UInt64, namespace: Namespace, namespaceName: String, setName: String?, setID: UInt16?, indexName: String?,
         partitions: [PartitionStart], partitionsRequested: Int, digestsRequested: Int, recordsPerSecond: UInt32,
         operations: [BinOperation], udf: BackgroundUDF? = nil, options: WriteOptions, predicate: SecondaryIndexPredicate?,
         client: String, logger: Logger) {
        self.id = id
        self.namespace = namespace
        self.namespaceName = namespaceName
        self.setName = setName
        self.setID = setID
        self.indexName = indexName
        self.partitions = partitions
        self.partitionsRequested = partitionsRequested
        self.digestsRequested = digestsRequested
        self.recordsPerSecond = recordsPerSecond
        self.operations = operations
        self.udf = udf
        self.options = options
        self.predicate = predicate
        self.client = client
        self.logger = logger
        startNs = MonotonicClock.nowNs()
    }

    var wasAborted: Bool { aborted.load(ordering: .acquiring) }
    func abort() { aborted.store(true, ordering: .releasing) }

    /// Walks the partitions and updates every record that matches (on the job's thread).
    func run() {
        logger.info("starting \(kind) query job", metadata: [
            "id": "\(id)", "namespace": "\(namespaceName)", "set": "\(setName ?? "")",
            "index": "\(indexName ?? "<pi-query>")", "rps": "\(recordsPerSecond)", "from": "\(client)",
        ])
        var attempted: UInt64 = 0
        let nsPerRecord = 1_000_000_000 / UInt64(max(1, recordsPerSecond))
        for partition in partitions {
            if wasAborted { break }
            // The partition's candidates first (the walk holds sprig locks), then the updates.
            var digests: [Digest] = []
            _ = namespace.forEachIndexEntry(partition: partition.id, after: partition.after) { record in
                if let setID, record.setID != setID { return true }
                if namespace.isLiveRecord(record) { digests.append(record.digest) }
                return true
            }
            for digest in digests {
                if wasAborted { break }
                // Throttle: the n-th record starts no sooner than n / rps after the job began.
                attempted += 1
                let due = startNs + (attempted - 1) * nsPerRecord
                let now = MonotonicClock.nowNs()
                if due > now {
                    throttled.add(1, ordering: .relaxed)
                    var wait = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
                    nanosleep(&wait, nil)
                }
                update(digest)
            }
            partitionsDone.add(1, ordering: .relaxed)
        }
        finishNs.store(MonotonicClock.nowNs(), ordering: .releasing)
        logger.info("finished \(kind) query job", metadata: [
            "id": "\(id)", "aborted": "\(wasAborted)", "succeeded": "\(succeeded.load(ordering: .relaxed))",
            "failed": "\(failed.load(ordering: .relaxed))", "filtered": "\(filteredBins.load(ordering: .relaxed))",
        ])
    }

    /// Runs the operations on one record, as an update: a record deleted meanwhile is passed
    /// over (as Aerospike), one the filter rejects counts as filtered, any other refusal failed.
    /// With an index predicate, the write path matches it against the very copy it replaces
    /// (``WriteOptions/predicate``): a record it no longer selects is passed over, and the
    /// record is read once, by the write.
    private func update(_ digest: Digest) {
        var options = self.options
        options.predicate = predicate
        do {
            if let udf {
                try apply(udf, to: digest, options: options)
            } else {
                _ = try namespace.operate(digest, operations: operations, options: options)
            }
            succeeded.add(1, ordering: .relaxed)
        } catch {
            switch error.result {
            case .keyNotFound:
                return  // gone, or no longer selected by the `where`
            case .filteredOut:
                filteredBins.add(1, ordering: .relaxed)
            default:
                logger.debug("\(kind) query job: a record update failed", metadata: [
                    "id": "\(id)", "digest": "\(digest)", "result": "\(error.result.rawValue)", "error": "\(error.message)",
                ])
                failed.add(1, ordering: .relaxed)
            }
        }
    }

    /// `ops-bg` or `udf-bg`, for the log.
    private var kind: String { udf == nil ? "ops-bg" : "udf-bg" }

    /// Runs the UDF on one existing record (a background UDF never creates one) through the write
    /// path, and waits. The engine's continuations after device I/O, and so the UDF, run on this
    /// thread, not on the thread that completed the read. A UDF failure is its result code.
    private func apply(_ udf: BackgroundUDF, to digest: Digest, options: WriteOptions) throws(EngineError) {
        let mailbox = ConditionLock<(work: [@Sendable () -> Void], result: Result<OperateResult, EngineError>?)>(([], nil))
        let resume = Resume { work in
            mailbox.withLock { $0.work.append(work) }
            mailbox.broadcast()
        }
        let logger = self.logger
        let transform = RecordTransform { input in
            guard input.exists else {
                return TransformDecision(change: .none, reply: [], failure: EngineResult.keyNotFound.rawValue)
            }
            let output = udf.pool.apply(package: udf.package, function: udf.function, arguments: udf.arguments,
                                        record: RecordExecutor.udfInput(input))
            RecordExecutor.log(output.logs, logger: logger, package: udf.package, function: udf.function)
            return RecordExecutor.decision(output, logger: logger, package: udf.package, function: udf.function)
        }
        namespace.apply(digest, options: options, transform: transform, resume: resume) { outcome in
            mailbox.withLock { $0.result = outcome }
            mailbox.broadcast()
        }
        while true {
            let (work, result) = mailbox.wait(until: { !$0.work.isEmpty || $0.result != nil }) { state in
                let work = state.work
                state.work.removeAll()
                return (work, state.result)
            }
            for item in work { item() }
            guard let result else { continue }
            let operated = try result.get()
            if let code = operated.failure {
                throw EngineError(EngineResult(rawValue: code) ?? .serverError, "the UDF failed with \(code)")
            }
            return
        }
    }

    /// `query-show`'s fields for this job, in Aerospike's order and format.
    func info() -> String {
        let now = MonotonicClock.nowNs()
        let finish = finishNs.load(ordering: .acquiring)
        let done = finish != 0
        let activeMs = ((done ? finish : now) - startNs) / 1_000_000
        let sinceDoneMs = done ? (now - finish) / 1_000_000 : 0
        let progress = partitions.isEmpty ? 100.0 : Double(partitionsDone.load(ordering: .relaxed)) * 100 / Double(partitions.count)
        var fields = ["trid=\(id)", "ns=\(namespaceName)"]
        if let setName { fields.append("set=\(setName)") }
        if let indexName { fields.append("sindex-name=\(indexName)") }
        if partitionsRequested != 0 || digestsRequested != 0 {
            fields.append("n-pids-requested=\(partitionsRequested)")
            fields.append("n-keyds-requested=\(digestsRequested)")
        }
        let status = wasAborted ? "user-aborted" : "ok"
        fields += [
            "rps=\(recordsPerSecond)", "active-threads=\(done ? 0 : 1)", "status=\(done ? "done" : "active")(\(status))",
            String(format: "job-progress=%.2f", progress), "run-time=\(activeMs)", "time-since-done=\(sinceDoneMs)",
            "recs-throttled=\(throttled.load(ordering: .relaxed))", "recs-filtered-meta=0",
            "recs-filtered-bins=\(filteredBins.load(ordering: .relaxed))", "recs-succeeded=\(succeeded.load(ordering: .relaxed))",
            "recs-failed=\(failed.load(ordering: .relaxed))", "from=\(client.replacingOccurrences(of: ":", with: "+"))",
        ]
        if let udf { fields += ["udf-filename=\(udf.package)", "udf-function=\(udf.function)"] }
        fields += [
            "job-type=\(udf == nil ? "background-ops" : "background-udf")", "net-io-bytes=30", "socket-timeout=10000", "ops-active=\(done ? 0 : 1)",
        ]
        return fields.joined(separator: ":")
    }
}

/// Checks a background query with write ops and starts its job, as Aerospike's
/// `ops_bg_query_job_start`: the result code the client gets at once (OK when the job started).
enum BackgroundQueryStart {
    static func start(plan: ScanReplyStream.Plan, message: Message, raw: UnsafeRawBufferPointer, context: ServerContext,
                      logger: Logger, client: String) -> ResultCode {
        let header = message.header
        guard let request = plan.request else { preconditionFailure("a plan made from a request carries it") }
        // A record UDF (UDF_OP 2: background), or write ops.
        let command = RecordCommand(message: message)
        var udf: BackgroundUDF?
        if RecordExecutor.isUDF(command) {
            guard let pool = context.udf else { return .unsupportedFeature }
            if let op = command.field(.udfOp), let kind = op.data(in: raw).first, kind != 2 { return .parameter }
            guard message.ops.isEmpty, let package = command.field(.udfPackageName)?.string(in: raw), !package.isEmpty,
                  let function = command.field(.udfFunction)?.string(in: raw), !function.isEmpty
            else { return .parameter }
            do throws(Refusal) {
                udf = BackgroundUDF(pool: pool, package: package, function: function,
                                    arguments: try RecordExecutor.udfArguments(command, body: raw))
            } catch {
                return error.resultCode
            }
        }
        // Write-only: no READ flag, at least one op (or the UDF), and no read-class op.
        guard !header.info1.contains(.read), !message.ops.isEmpty || udf != nil else { return .parameter }
        let readClasses: Set<OpType> = [.read, .cdtRead, .expRead, .bitsRead, .hllRead]
        var operations: [BinOperation] = []
        for op in message.ops {
            guard let type = op.type, !readClasses.contains(type) else { return .parameter }
            do throws(Refusal) {
                operations.append(try RecordExecutor.operation(for: op, header: header, replaces: header.info3.contains(.replaceOnly),
                                                               body: raw))
            } catch {
                return error.resultCode
            }
        }
        // Each record is updated (never created), or replaced with REPLACE_ONLY; the request's
        // TTL and durable-delete flag apply; its generation does not.
        var options: WriteOptions
        do throws(Refusal) { options = try RecordExecutor.writeOptions(header) } catch { return error.resultCode }
        options.exists = header.info3.contains(.replaceOnly) ? .replaceOnly : .updateOnly
        options.generation = .none
        options.filter = plan.filter
        if case .invalid = options.ttl { return .parameter }
        // A set named but never written: Aerospike answers NOT_FOUND.
        if request.setName != nil && plan.setID == nil { return .keyNotFound }
        var recordsPerSecond = plan.recordsPerSecond
        if recordsPerSecond > BackgroundQueries.recordsPerSecondMax { return .parameter }
        if recordsPerSecond == 0 { recordsPerSecond = BackgroundQueries.recordsPerSecondMax }
        var id = request.taskID ?? 0
        while id == 0 { id = UInt64.random(in: 1...UInt64.max) }
        let job = BackgroundQueryJob(
            id: id, namespace: plan.namespace, namespaceName: plan.namespaceName, setName: request.setName, setID: plan.setID,
            indexName: plan.predicate.map { $0.indexName ?? $0.binName }, partitions: plan.partitions.map { .init(id: $0.id, after: $0.after) },
            partitionsRequested: request.partitions?.partitionIDs.count ?? 0, digestsRequested: request.partitions?.resumeDigests.count ?? 0,
            recordsPerSecond: recordsPerSecond, operations: operations, udf: udf, options: options, predicate: plan.predicate,
            client: client, logger: logger)
        do throws(BackgroundQueries.StartError) {
            try context.backgroundQueries.start(job)
        } catch {
            switch error {
            case .duplicateID: return .parameter
            case .stopping, .tooMany: return .forbidden
            }
        }
        return .ok
    }
}
