import CairnWire
import NIOCore

/// Everything a ``CairnServer`` is started with. A plain value built by the daemon from its
/// configuration file (or by tests); any thread may create, copy and read it.
///
/// Limits are named with their unit last. The defaults suit a test or a small deployment; the
/// identity values (node id, build) are what clients see in the info handshake (PROTOCOL.md §2.5).
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to listen on: an IPv4 or IPv6 literal, or `any` for every interface (IPv4 and
    /// IPv6, bound as `::`).
    public var host: String
    /// TCP port; 0 picks a free port (tests), reported by ``CairnServer/start()``.
    public var port: Int
    /// Largest proto frame body accepted, in bytes (PROTOCOL.md §1: 128 MiB on a real server).
    /// A bigger frame is refused from its 8-byte header alone, before its body is buffered.
    public var frameSizeBytesMax: UInt64
    /// The 64-bit node id; `node` answers it as upper-case hex (§2.5, §2.8). Must not be 0.
    public var nodeID: UInt64
    /// `cluster-name`; nil answers `null`, as a real server without one does.
    public var clusterName: String?
    /// The Aerospike server version clients see in `build`: exactly four numeric parts, at least
    /// 6.0.0.0 so clients use the modern batch and partition-query protocols (§2.5, §11.3).
    public var buildVersion: String
    /// `edition`, and the first part of `version`.
    public var edition: String
    /// Cairn's own version, reported by `release` and `statistics`.
    public var cairnVersion: String
    /// Threads that run transactions (engine calls may block on device I/O; never on an event loop).
    public var threadPoolSize: Int
    /// Event loop threads that accept connections and parse frames (default: one per core).
    public var eventLoopCount: Int
    /// The CPUs the service threads are pinned to (`auto-pin cpu`): thread i runs only on
    /// `pinnedCPUs[i % pinnedCPUs.count]`. Nil (`auto-pin none`) leaves them to the scheduler.
    public var pinnedCPUs: [Int]? = nil
    /// How client sockets are served: SwiftNIO event loops (epoll) or Cairn's own service
    /// threads on io_uring. Both run single-record transactions on the thread that read them.
    public var ioModel: IOModel
    /// Most client connections open at once; further connections are closed at once.
    public var connectionCountMax: Int
    /// Requests read ahead on one connection while an earlier one is still being answered; above
    /// this the connection is not read until the queue shrinks (back-pressure on pipelining).
    public var pipelinedRequestCountMax: Int
    /// Target body size of one batch or scan reply frame, in bytes. A frame is closed once it
    /// reaches this size; a single record bigger than this gets a frame of its own.
    public var streamFrameBytesTarget: Int
    /// Outbound bytes queued on a connection above which a batch or scan stops producing frames
    /// until the client has read enough (the channel's high write watermark).
    public var writeBufferBytesHigh: Int
    /// Outbound bytes below which a paused batch or scan resumes (the low write watermark).
    public var writeBufferBytesLow: Int
    /// How long ``CairnServer/stop()`` waits for connections to finish their in-flight requests
    /// before closing them, in milliseconds.
    public var stopGracePeriodMs: Int64
    /// Per namespace name, the `enable-benchmarks-*` groups on from the start (the
    /// configuration file's namespace parameters); `set-config` turns any group on or off later.
    public var enabledBenchmarks: [String: Set<BenchmarkGroupName>] = [:]

    public static let frameSizeBytesMaxDefault: UInt64 = FrameDecoder.bodySizeBytesMaxDefault
    public static let buildVersionDefault = "8.0.0.0"
    public static let editionDefault = "Aerospike Community Edition"

    public init(
        host: String = "127.0.0.1",
        port: Int = 3000,
        frameSizeBytesMax: UInt64 = ServerConfiguration.frameSizeBytesMaxDefault,
        nodeID: UInt64 = 0xBB9_A1B2_C3D4_E5F6,
        clusterName: String? = nil,
        buildVersion: String = ServerConfiguration.buildVersionDefault,
        edition: String = ServerConfiguration.editionDefault,
        cairnVersion: String = "0.1.0",
        threadPoolSize: Int = 16,
        eventLoopCount: Int = System.coreCount,
        connectionCountMax: Int = 15_000,
        pipelinedRequestCountMax: Int = 64,
        streamFrameBytesTarget: Int = 128 * 1024,
        writeBufferBytesHigh: Int = 512 * 1024,
        writeBufferBytesLow: Int = 128 * 1024,
        stopGracePeriodMs: Int64 = 30_000,
        ioModel: IOModel = .ioUring
    ) {
        self.ioModel = ioModel
        self.host = host
        self.port = port
        self.frameSizeBytesMax = frameSizeBytesMax
        self.nodeID = nodeID
        self.clusterName = clusterName
        self.buildVersion = buildVersion
        self.edition = edition
        self.cairnVersion = cairnVersion
        self.threadPoolSize = threadPoolSize
        self.eventLoopCount = eventLoopCount
        self.connectionCountMax = connectionCountMax
        self.pipelinedRequestCountMax = pipelinedRequestCountMax
        self.streamFrameBytesTarget = streamFrameBytesTarget
        self.writeBufferBytesHigh = writeBufferBytesHigh
        self.writeBufferBytesLow = writeBufferBytesLow
        self.stopGracePeriodMs = stopGracePeriodMs
    }

    /// The sub-phase histogram groups a namespace can keep (`enable-benchmarks-read`, `-write`,
    /// `-udf`), by the name's last part.
    public enum BenchmarkGroupName: String, Sendable, Equatable, Hashable, CaseIterable {
        case read, write, udf
    }

    /// The network I/O model (`service { network-io-model epoll | io_uring }`).
    public enum IOModel: String, Sendable, Equatable, CaseIterable {
        /// SwiftNIO event loops over epoll: one `read` and one `write` syscall per transaction.
        case epoll
        /// Thread-per-core service threads, each with an io_uring ring for its sockets and an
        /// eventfd for work finished elsewhere: sends and receives are batched per wake-up.
        case ioUring = "io_uring"
    }

    /// The CPU service thread `index` is pinned to, or nil when they are not pinned.
    public func pinnedCPU(forServiceThread index: Int) -> Int? {
        guard let pinnedCPUs, !pinnedCPUs.isEmpty else { return nil }
        return pinnedCPUs[index % pinnedCPUs.count]
    }

    /// The node name clients see: the node id in upper-case hex (SRV prints `%lX`).
    public var nodeName: String { String(nodeID, radix: 16, uppercase: true) }

    /// Checks the values a server cannot start with; returns a description of each problem.
    public func problems() -> [String] {
        var problems: [String] = []
        if nodeID == 0 { problems.append("node id must not be 0") }
        if !(0...65_535).contains(port) { problems.append("port \(port) is outside 0...65535") }
        if frameSizeBytesMax < UInt64(MessageHeader.sizeBytes) || frameSizeBytesMax > FrameDecoder.bodySizeBytesMaxDefault {
            problems.append("frame size limit \(frameSizeBytesMax) bytes is outside \(MessageHeader.sizeBytes)...\(FrameDecoder.bodySizeBytesMaxDefault)")
        }
        let parts = buildVersion.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count != 4 || !parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            problems.append("build version '\(buildVersion)' must have exactly four numeric parts (the Rust client requires it)")
        } else if let major = Int(parts[0]), major < 6 {
            problems.append("build version '\(buildVersion)' must be at least 6.0.0.0 (modern batch and scan protocols)")
        }
        if let clusterName, !InfoText.isSafeValue(clusterName) || clusterName.contains(";") {
            problems.append("cluster name must not contain TAB, LF or ';'")
        }
        if threadPoolSize < 1 { problems.append("thread pool size must be at least 1") }
        if eventLoopCount < 1 { problems.append("event loop count must be at least 1") }
        if let pinnedCPUs, pinnedCPUs.isEmpty || pinnedCPUs.contains(where: { $0 < 0 }) {
            problems.append("pinned CPUs \(pinnedCPUs) must be a non-empty list of CPU numbers")
        }
        if connectionCountMax < 1 { problems.append("connection limit must be at least 1") }
        if pipelinedRequestCountMax < 1 { problems.append("pipelined request limit must be at least 1") }
        if streamFrameBytesTarget < 1024 { problems.append("stream frame target must be at least 1024 bytes") }
        if writeBufferBytesLow < 1 || writeBufferBytesHigh <= writeBufferBytesLow {
            problems.append("write buffer watermarks must satisfy 0 < low < high")
        }
        if stopGracePeriodMs < 0 { problems.append("stop grace period must not be negative") }
        return problems
    }
}
