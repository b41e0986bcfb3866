/// The `service` stanza: settings of the cairnd process as a whole.
///
/// ```
/// service {
///     work-directory /opt/cairn         # default /opt/cairn
///     pidfile /var/run/cairnd.pid       # default: none
///     cluster-name prod                 # default: none
///     node-id a1b2c3                    # hex, non-zero; default: none (cairnd derives one)
///     proto-fd-max 15000                # default 15000, range 64..1048576
///     shm-directory /dev/shm            # default /dev/shm
///     service-threads 4                 # default: one per core, range 1..256
///     network-io-model io_uring         # Cairn's own: io_uring (default) or epoll
///     auto-pin none                     # none (default) or cpu
/// }
/// ```
///
/// A plain value: any thread may create, copy and read it.
public struct ServiceConfig: Sendable, Equatable {
    /// `work-directory`: the directory cairnd keeps its own run-time files in.
    public var workDirectory: String
    /// `pidfile`: where cairnd writes its process id; `nil` writes none (as Aerospike).
    public var pidFile: String?
    /// `cluster-name`: reported by the info command `cluster-name`; `nil` when not set.
    public var clusterName: String?
    /// `node-id`: the 64-bit node id given in hex; `nil` lets cairnd derive one.
    public var nodeID: UInt64?
    /// `proto-fd-max`: most client connections open at once.
    public var protoFDCountMax: Int
    /// `shm-directory`: where the shared-memory index segments of every namespace live.
    ///
    /// It is a service parameter rather than a namespace one: all namespaces' segments share one
    /// tmpfs, and one place is simpler to clean and to size.
    public var shmDirectory: String
    /// `service-threads`: threads that serve client sockets and run transactions; nil means
    /// one per core.
    public var serviceThreads: Int?
    /// `network-io-model` (Cairn's own parameter): how client sockets are served.
    public var networkIOModel: NetworkIOModel

    /// `auto-pin`: whether each service thread is pinned to one CPU.
    public var autoPin: AutoPin

    /// `auto-pin`'s values. Aerospike's `numa` and `adq` are refused: Cairn has no per-node or
    /// per-queue placement.
    public enum AutoPin: String, Sendable, Equatable {
        /// Service thread i runs only on the i-th CPU (modulo their count) of those cairnd was
        /// started on, so two service threads never queue on one CPU while another idles.
        case cpu
        /// The scheduler places the service threads (Aerospike's default, and Cairn's: pinning
        /// showed no steady gain on a 2-core host shared with the load, `docs/architecture.md`).
        case none
    }

    /// How the service threads serve client sockets.
    public enum NetworkIOModel: String, Sendable, Equatable {
        /// One io_uring ring per service thread: sends and receives batched per wake-up.
        case ioUring = "io_uring"
        /// SwiftNIO event loops over epoll (for kernels where io_uring is disabled).
        case epoll
    }

    /// Makes a service section; every argument defaults as documented in `ConfigLimits`.
    public init(
        workDirectory: String = ConfigLimits.workDirectoryDefault,
        pidFile: String? = nil,
        clusterName: String? = nil,
        nodeID: UInt64? = nil,
        protoFDCountMax: Int = ConfigLimits.protoFDCountMaxDefault,
        shmDirectory: String = ConfigLimits.shmDirectoryDefault,
        serviceThreads: Int? = nil,
        networkIOModel: NetworkIOModel = .ioUring,
        autoPin: AutoPin = .none
    ) {
        self.serviceThreads = serviceThreads
        self.networkIOModel = networkIOModel
        self.autoPin = autoPin
        self.workDirectory = workDirectory
        self.pidFile = pidFile
        self.clusterName = clusterName
        self.nodeID = nodeID
        self.protoFDCountMax = protoFDCountMax
        self.shmDirectory = shmDirectory
    }
}
