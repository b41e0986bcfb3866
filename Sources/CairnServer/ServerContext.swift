import CairnEngine
import CairnIO
import CairnLua
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What every connection of one server shares: the configuration, the namespaces, the bound
/// port and the counters reported by the `statistics` info command.
///
/// Owned by ``CairnServer``; read from event loops and thread-pool threads alike. Immutable
/// apart from atomics, so it is `Sendable` without locks.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let namespaces: [String: Namespace]
    /// Namespace names in a stable (sorted) order, as `namespaces` and `replicas` list them.
    let namespaceNames: [String]
    /// The namespaces in `namespaceNames` order, borrowed (`namespaces` keeps them): a
    /// transaction finds its namespace by the NAMESPACE field's bytes (the latency book's
    /// lookup: no String, no hashing) and holds it with no retain of an object every service
    /// thread shares.
    private let namespaceRefs: [Unretained<Namespace>]
    let logger: Logger
    /// The daemon's log sinks, for the log info commands (nil: none to control).
    let logControl: (any LogControl)?
    let counters = ServerCounters()
    /// Transaction latency histograms (`latencies:`, the metrics endpoint).
    let latencies: LatencyBook
    /// The open client connections.
    let connections = ConnectionRegistry()
    /// Registered Lua modules and the states that run record UDFs (nil: UDFs are refused).
    let udf: LuaPool?
    /// Background queries with write ops or a UDF (`execute_background`), for `query-show` and friends.
    let backgroundQueries: BackgroundQueries
    /// When the context was made, for `uptime`.
    let startedAt: ContinuousClock.Instant
    /// The port the listening socket is bound to (0 until bound).
    private let boundPortStorage = Atomic<Int>(0)

    init(configuration: ServerConfiguration, namespaces: [String: Namespace], logger: Logger,
         logControl: (any LogControl)? = nil, udf: LuaPool? = nil) {
        self.logControl = logControl
        self.udf = udf
        self.configuration = configuration
        self.namespaces = namespaces
        self.namespaceNames = namespaces.keys.sorted()
        self.namespaceRefs = namespaceNames.map { Unretained(namespaces[$0]!) }
        self.latencies = LatencyBook(namespaceNames: namespaceNames)
        self.backgroundQueries = BackgroundQueries(namespaceNames: namespaceNames)
        // enable-benchmarks-* of the configuration file: on from the start, as set-config turns them on.
        for (namespace, groups) in configuration.enabledBenchmarks {
            for group in groups { latencies.benchmarks(group, namespace: namespace)?.setEnabled(true) }
        }
        self.logger = logger
        self.startedAt = ContinuousClock.now
    }

    /// The namespace whose name is the UTF-8 `nameBytes` (a request's NAMESPACE field), borrowed.
    func namespace(named nameBytes: UnsafeRawBufferPointer) -> Unretained<Namespace>? {
        latencies.namespaceIndex(nameBytes).map { namespaceRefs[$0] }
    }

    var boundPort: Int {
        // Relaxed: a plain value published once before the server is reported ready.
        boundPortStorage.load(ordering: .relaxed)
    }

    func setBoundPort(_ port: Int) {
        boundPortStorage.store(port, ordering: .relaxed)
    }

    var uptimeSeconds: Int64 { startedAt.duration(to: ContinuousClock.now).components.seconds }
}

/// Counters of the server's activity. Relaxed atomics: each counter is independent and only
/// read for reporting, so no ordering with other memory is needed.
final class ServerCounters: Sendable {
    let connectionsOpened = Atomic<UInt64>(0)
    let connectionsRefused = Atomic<UInt64>(0)
    let infoRequests = Atomic<UInt64>(0)
    let transactions = Atomic<UInt64>(0)
    let transactionErrors = Atomic<UInt64>(0)
    let batchRequests = Atomic<UInt64>(0)
    let scanRequests = Atomic<UInt64>(0)
    let scanRecords = Atomic<UInt64>(0)
    let scanRecordsSkippedUnreadable = Atomic<UInt64>(0)
    let malformedRequests = Atomic<UInt64>(0)
    /// Single-record transactions completed on the thread that read them before the engine
    /// call returned (no hand-off, no wait).
    let transactionsInline = Atomic<UInt64>(0)
    /// Single-record transactions resumed on their event loop by a device read or durability
    /// completion (no thread waited meanwhile).
    let transactionsResumed = Atomic<UInt64>(0)
    /// Engine completions that ran on a thread other than the one that read the request
    /// (before the hop back); 0 for memory-served work.
    let transactionsOffThread = Atomic<UInt64>(0)
    /// Work handed to the thread pool (batches, scans, blocking info commands).
    let threadPoolJobs = Atomic<UInt64>(0)
    let framesRefused = Atomic<UInt64>(0)
}

/// The calling thread's identity (pthread_self), for the thread-identity counters.
enum ThreadIdentity {
    static var current: UInt { UInt(pthread_self()) }
}
