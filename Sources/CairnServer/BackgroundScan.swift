import CairnEngine
import CairnIO
import CairnLua
import CairnParticle
import CairnStorage
import CairnWire
import Foundation
import Logging
import Synchronization

/// Background scans (the clients' `execute_background` / `scan_background`): a scan message with
/// the WRITE flag that carries a record UDF (UDF_OP 2) or write operations. The request is
/// answered at once; a thread of its own then runs the UDF or the operations on every record of
/// the namespace (or set) through the write path, as Aerospike's background jobs do: a record
/// that does not exist is never created, a filter expression skips records, the message's TTL
/// applies. Jobs are listed by `query-show` (and `scan-show`, `query-show:trid=ID` / `id=ID`).
enum BackgroundScan {
    /// What a job runs on each record.
    enum Work: Sendable {
        case udf(package: String, function: String, arguments: [Value])
        case operations([BinOperation])
    }

    /// Starts the job a background scan message asks for; the reply chunk (OK, or the refusal).
    static func start(message: Message, raw: UnsafeRawBufferPointer, context: ServerContext, logger: Logger) -> ReplyChunk {
        switch plan(message: message, raw: raw, context: context) {
        case .failure(let refusal):
            logger.debug("background scan refused", metadata: ["result": "\(refusal.resultCode)", "reason": "\(refusal.reason)"])
            return BatchReplyStream.lastOnly(refusal.resultCode)
        case .success(let job):
            guard context.backgroundJobs.register(job.record) else {
                return BatchReplyStream.lastOnly(.parameter)
            }
            let thread = Thread {
                run(job, context: context, logger: logger)
                context.backgroundJobs.threadEnded()
            }
            thread.name = "cairn-bg-\(job.record.trid)"
            thread.start()
            return BatchReplyStream.lastOnly(.ok)
        }
    }

    struct Job: @unchecked Sendable {
        var record: BackgroundJobs.Job
        var namespace: Namespace
        var setID: UInt16?
        var setExists: Bool
        var work: Work
        var options: WriteOptions
    }

    static func plan(message: Message, raw: UnsafeRawBufferPointer, context: ServerContext) -> Result<Job, Refusal> {
        Result { () throws(Refusal) -> Job in
            guard let namespaceField = message.field(.namespace), let namespaceName = namespaceField.string(in: raw),
                  let namespace = context.namespaces[namespaceName]
            else { throw Refusal(.namespaceNotFound, "unknown namespace") }
            let request: ScanRequest
            do throws(MessageError) {
                request = try ScanRequest.decode(message: message, body: raw)
            } catch {
                throw Refusal(error.resultCode, "\(error)")
            }
            if request.hasIndexFields { throw Refusal(.unsupportedFeature, "background queries with a where are not supported") }
            let command = RecordCommand(message: message)
            var options = try RecordExecutor.writeOptions(message.header)
            options.exists = .updateOnly
            options.filter = try RecordExecutor.filter(of: command, body: raw)
            let work: Work
            let kind: String
            if RecordExecutor.isUDF(command) {
                guard context.udf != nil else { throw Refusal(.unsupportedFeature, "UDF is not supported") }
                guard let package = command.field(.udfPackageName)?.string(in: raw), !package.isEmpty,
                      let function = command.field(.udfFunction)?.string(in: raw), !function.isEmpty
                else { throw Refusal(.parameter, "a UDF scan needs UDF_PACKAGE_NAME and UDF_FUNCTION") }
                if let op = command.field(.udfOp), let kind = op.data(in: raw).first, kind != 2 {
                    throw Refusal(.unsupportedFeature, "UDF op \(kind) (aggregation) is not supported")
                }
                work = .udf(package: package, function: function, arguments: try RecordExecutor.udfArguments(command, body: raw))
                kind = "background-udf"
            } else {
                guard !message.ops.isEmpty else { throw Refusal(.parameter, "a background scan needs a UDF or operations") }
                let operations = try message.ops.map { (op) throws(Refusal) -> BinOperation in
                    try RecordExecutor.operation(for: op, header: message.header, replaces: false, body: raw)
                }
                work = .operations(operations)
                kind = "background-ops"
            }
            var setID: UInt16?
            var setExists = true
            if let setName = request.setName {
                setID = namespace.existingSetID(for: setName)
                setExists = setID != nil
            }
            let trid = request.taskID ?? UInt64.random(in: 1...UInt64.max)
            let record = BackgroundJobs.Job(trid: trid, namespace: namespaceName, setName: request.setName ?? "",
                                            kind: kind, work: work.description)
            return Job(record: record, namespace: namespace, setID: setID, setExists: setExists, work: work, options: options)
        }
    }

    /// Runs a job to its end on the calling thread (a thread of its own).
    static func run(_ job: Job, context: ServerContext, logger: Logger) {
        var digests: [Digest] = []
        if job.setExists {
            job.namespace.forEachIndexEntry { entry in
                guard !entry.flags.contains(.tombstone) else { return }
                if let setID = job.setID, entry.setID != setID { return }
                digests.append(entry.digest)
            }
        }
        let trid = job.record.trid
        context.backgroundJobs.update(trid) { $0.recordsTotal = digests.count }
        for (done, digest) in digests.enumerated() {
            // A stopping server ends its jobs before it closes the namespaces.
            if context.backgroundJobs.isStopping {
                context.backgroundJobs.finish(trid, abandoned: true)
                logger.info("background scan \(trid) abandoned: the server is stopping")
                return
            }
            let result = runOne(job, digest: digest, context: context, logger: logger)
            context.backgroundJobs.update(trid) { state in
                switch result {
                case .ok: state.succeeded += 1
                case .filteredOut: state.filteredOut += 1
                case .keyNotFound: break  // expired or deleted since the walk
                default: state.failed += 1
                }
                state.recordsDone = done + 1
            }
        }
        context.backgroundJobs.finish(trid)
        logger.info("background scan \(trid) done: \(digests.count) records")
    }

    /// Runs the job's work on one record and waits for its outcome (durable writes included).
    /// The engine's continuations after device I/O (and so the UDF) run on this thread, not on
    /// the thread that completed the I/O.
    static func runOne(_ job: Job, digest: Digest, context: ServerContext, logger: Logger) -> EngineResult {
        let mailbox = ConditionLock<(work: [@Sendable () -> Void], result: EngineResult?)>(([], nil))
        let resume = Resume { work in
            mailbox.withLock { $0.work.append(work) }
            mailbox.broadcast()
        }
        let completion: EngineCompletion<OperateResult> = { result in
            let code: EngineResult
            switch result {
            case .failure(let error): code = error.result
            case .success(let operated): code = operated.failure.flatMap { EngineResult(rawValue: $0) } ?? (operated.failure == nil ? .ok : .serverError)
            }
            mailbox.withLock { $0.result = code }
            mailbox.broadcast()
        }
        switch job.work {
        case .operations(let operations):
            job.namespace.operate(digest, operations: operations, options: job.options, resume: resume, completion: completion)
        case .udf(let package, let function, let arguments):
            guard let pool = context.udf else { return .serverError }
            let transform = RecordTransform { input in
                // A background UDF never creates a record.
                guard input.exists else {
                    return TransformDecision(change: .none, reply: [], failure: EngineResult.keyNotFound.rawValue)
                }
                let output = pool.apply(package: package, function: function, arguments: arguments,
                                        record: RecordExecutor.udfInput(input))
                return RecordExecutor.decision(output, logger: logger, package: package, function: function)
            }
            job.namespace.apply(digest, options: job.options, transform: transform, resume: resume, completion: completion)
        }
        while true {
            let (work, result) = mailbox.wait(until: { !$0.work.isEmpty || $0.result != nil }) { state in
                let work = state.work
                state.work.removeAll()
                return (work, state.result)
            }
            for item in work { item() }
            if let result { return result }
        }
    }
}

extension BackgroundScan.Work: CustomStringConvertible {
    var description: String {
        switch self {
        case .udf(let package, let function, _): "\(package).\(function)"
        case .operations(let operations): "\(operations.count) operations"
        }
    }
}

/// The background jobs of a server, running and finished (the last 100 finished are kept), for
/// `query-show`.
final class BackgroundJobs: Sendable {
    struct Job: Sendable {
        var trid: UInt64
        var namespace: String
        var setName: String
        var kind: String
        var work: String
        var active = true
        var abandoned = false
        var recordsTotal = 0
        var recordsDone = 0
        var succeeded = 0
        var failed = 0
        var filteredOut = 0
        var startMs = UInt64(Date().timeIntervalSince1970 * 1000)
        var endMs: UInt64 = 0
    }

    static let finishedKept = 100
    private let jobs = Mutex<[Job]>([])
    /// Job threads started and not yet ended.
    private let threads = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    /// Adds a job and counts its thread; false when a job with its transaction id is known
    /// (running or kept) or the server is stopping.
    func register(_ job: Job) -> Bool {
        jobs.withLock { jobs in
            guard !stopping.load(ordering: .acquiring), !jobs.contains(where: { $0.trid == job.trid }) else { return false }
            jobs.append(job)
            threads.add(1, ordering: .relaxed)
            return true
        }
    }

    func threadEnded() { threads.subtract(1, ordering: .releasing) }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Asks every job to stop after its current record and waits until their threads end.
    func stopAll() async {
        jobs.withLock { _ in stopping.store(true, ordering: .releasing) }
        while threads.load(ordering: .acquiring) > 0 {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    func update(_ trid: UInt64, _ body: (inout Job) -> Void) {
        jobs.withLock { jobs in
            if let index = jobs.firstIndex(where: { $0.trid == trid }) { body(&jobs[index]) }
        }
    }

    func finish(_ trid: UInt64, abandoned: Bool = false) {
        jobs.withLock { jobs in
            if let index = jobs.firstIndex(where: { $0.trid == trid }) {
                jobs[index].active = false
                jobs[index].abandoned = abandoned
                jobs[index].endMs = UInt64(Date().timeIntervalSince1970 * 1000)
            }
            while jobs.count(where: { !$0.active }) > Self.finishedKept, let oldest = jobs.firstIndex(where: { !$0.active }) {
                jobs.remove(at: oldest)
            }
        }
    }

    /// `query-show[:trid=ID|id=ID]`: one job (`ERROR:2:job not found` when unknown), or every
    /// job, `;`-separated, as `trid=…:job-type=…:ns=…:set=…:status=…:job-progress=…:recs-succeeded=…` fields.
    func show(_ command: InfoCommand) -> String {
        let wanted = (command.parameter("trid") ?? command.parameter("id")).map { UInt64($0) }
        let all = jobs.withLock { $0 }
        if let wanted {
            guard let id = wanted, let job = all.first(where: { $0.trid == id }) else {
                return InfoReply.errorValue(.keyNotFound, message: "job not found")
            }
            return Self.describe(job)
        }
        return all.map(Self.describe).joined(separator: ";")
    }

    static func describe(_ job: Job) -> String {
        let progress = job.recordsTotal == 0 ? (job.active ? 0 : 100) : job.recordsDone * 100 / job.recordsTotal
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let fields: [(String, String)] = [
            ("trid", "\(job.trid)"), ("job-type", job.kind), ("ns", job.namespace), ("set", job.setName.isEmpty ? "null" : job.setName),
            ("udf", job.work), ("status", job.active ? "active(ok)" : job.abandoned ? "done(abandoned-shutdown)" : "done(ok)"), ("job-progress", "\(progress)"),
            ("run-time", "\((job.active ? now : job.endMs) &- job.startMs)"), ("recs-throttled", "\(job.recordsDone)"),
            ("recs-filtered-meta", "0"), ("recs-filtered-bins", "\(job.filteredOut)"), ("recs-succeeded", "\(job.succeeded)"),
            ("recs-failed", "\(job.failed)"),
        ]
        return fields.map { "\($0.0)=\($0.1)" }.joined(separator: ":")
    }
}
