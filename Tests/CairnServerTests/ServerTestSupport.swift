@_spi(EngineInternals) import CairnEngine
import CairnServer
import CairnStorage
import CairnTesting
import CairnWire
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A controllable wall clock (ms since 2010) shared with a namespace.
final class TestClock: Sendable {
    private let ms: Atomic<UInt64>
    init(ms: UInt64 = CitrusleafTime.nowMs()) { self.ms = Atomic(ms) }
    func now() -> UInt64 { ms.load(ordering: .relaxed) }
    func advance(seconds: UInt64) { ms.add(seconds * 1000, ordering: .relaxed) }
}

/// A real server on a free port of 127.0.0.1 over one namespace `test` on a temporary file.
/// Owned by one test; `shutDown()` stops the server and closes the namespace.
final class TestServer: Sendable {
    let directory: TemporaryDirectory
    let namespace: Namespace
    let server: CairnServer
    let port: Int
    let clock: TestClock

    static let namespaceName = "test"

    private init(directory: TemporaryDirectory, namespace: Namespace, server: CairnServer, port: Int, clock: TestClock) {
        self.directory = directory
        self.namespace = namespace
        self.server = server
        self.port = port
        self.clock = clock
    }

    static func start(
        configuration: ServerConfiguration = ServerConfiguration(),
        defaultTTLSeconds: UInt32 = 0,
        fileSizeBytes: UInt64 = 64 << 20,
        adjustStorage: (inout StorageOptions) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = try TemporaryDirectory(prefix: "cairn-server-test")
        let clock = TestClock()
        var storage = StorageOptions(
            namespaceName: namespaceName, devices: [.init(path: directory.file("test.dat"), fileSizeBytes: fileSizeBytes)],
            writeBlockSizeBytes: 128 << 10, partitionTreeSprigs: 16, flushMaxMs: 50)
        adjustStorage(&storage)
        var options = NamespaceOptions(storage: storage, defaultTTLSeconds: defaultTTLSeconds, indexEntryCountMax: 1 << 20)
        options.clockMs = { clock.now() }
        let namespace = try Namespace.open(options)
        var configuration = configuration
        configuration.port = 0
        configuration.threadPoolSize = 4
        configuration.eventLoopCount = 1
        var logger = Logger(label: "cairn.server.test")
        logger.logLevel = .error
        let server = CairnServer(configuration: configuration, namespaces: [namespaceName: namespace], logger: logger)
        let port = try await server.start()
        return TestServer(directory: directory, namespace: namespace, server: server, port: port, clock: clock)
    }

    func shutDown() async throws {
        try await server.stop()
        try namespace.close()
    }

    func connect() throws -> WireClient {
        try WireClient(port: port)
    }
}

/// Runs `body` against a fresh server and always shuts it down.
func withTestServer(
    configuration: ServerConfiguration = ServerConfiguration(),
    defaultTTLSeconds: UInt32 = 0,
    adjustStorage: (inout StorageOptions) -> Void = { _ in },
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(configuration: configuration, defaultTTLSeconds: defaultTTLSeconds,
                                            adjustStorage: adjustStorage)
    do {
        try await body(server)
    } catch {
        try await server.shutDown()
        throw error
    }
    try await server.shutDown()
}

/// Something the wire client saw that a test did not expect.
struct WireClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking TCP client speaking raw proto frames, with a receive timeout. Owned by one test.
final class WireClient {
    private let fd: Int32
    static let receiveTimeoutSeconds = 10

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WireClientError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw WireClientError("connect to \(port): errno \(errno)")
        }
        var timeout = timeval(tv_sec: WireClient.receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }  // a signal (e.g. SIGCHLD of another test's child)
            guard sent > 0 else { throw WireClientError("send: errno \(errno)") }
            offset += sent
        }
    }

    /// Reads exactly `count` bytes; nil on a clean EOF before the first byte.
    func receive(count: Int) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received == 0 {
                if offset == 0 { return nil }
                throw WireClientError("EOF after \(offset) of \(count) bytes")
            }
            if received < 0 && errno == EINTR { continue }  // a signal (e.g. SIGCHLD of another test's child)
            guard received > 0 else { throw WireClientError("recv: errno \(errno)") }
            offset += received
        }
        return buffer
    }

    /// Reads one frame: its header and body. nil when the server closed the connection.
    func receiveFrame() throws -> (header: ProtoHeader, body: [UInt8])? {
        guard let headerBytes = try receive(count: ProtoHeader.sizeBytes) else { return nil }
        guard let header = headerBytes.withUnsafeBytes({ ProtoHeader.peek($0) }) else {
            throw WireClientError("short header")
        }
        guard header.bodySizeBytes <= 1 << 30 else { throw WireClientError("frame of \(header.bodySizeBytes) bytes") }
        let body = header.bodySizeBytes == 0 ? [] : try receive(count: Int(header.bodySizeBytes)) ?? []
        return (header, body)
    }

    /// Whether the server closed the connection (EOF) within the receive timeout.
    func isClosedByServer() throws -> Bool {
        var byte: UInt8 = 0
        var received = recv(fd, &byte, 1, 0)
        while received < 0 && errno == EINTR { received = recv(fd, &byte, 1, 0) }
        if received == 0 { return true }
        if received < 0 && (errno == ECONNRESET) { return true }
        if received < 0 { throw WireClientError("recv: errno \(errno)") }
        return false
    }

    // MARK: - Requests

    /// Sends an info request and returns the answers as (line, value) pairs in order.
    func info(_ commands: [String]) throws -> [(String, String)] {
        var writer = WireWriter()
        writer.appendInfoRequestFrame(commands)
        try send(writer.bytes)
        guard let (header, body) = try receiveFrame() else { throw WireClientError("connection closed") }
        guard header.type == .info else { throw WireClientError("reply type \(header.typeRaw)") }
        return parseInfoBody(body)
    }

    /// One info value.
    func info(_ command: String) throws -> String {
        let answers = try info([command])
        guard answers.count == 1, answers[0].0 == command else { throw WireClientError("answers \(answers)") }
        return answers[0].1
    }

    /// Sends a message frame and decodes the single reply message.
    func request(_ frame: [UInt8]) throws -> OwnedMessage {
        try send(frame)
        return try receiveMessage()
    }

    // Request helpers without closures: Swift 6.3's #expect macro, inside an async closure, can
    // make the *next* trailing closure passed to `frame { }` run the previous one instead (seen
    // here: a delete frame built right after `#expect(try client.request(frame { put }) ...)`
    // came out as the put). Tests call these instead of passing `frame { }` inside #expect.

    func put(
        key: RecordKey, bins: [Bin], ttl: RecordTTL = .namespaceDefault, generation: UInt32 = 0,
        info2: Info2 = [], info3: Info3 = []
    ) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendPutRequestFrame(key: key, bins: bins, ttl: ttl, generation: generation, info2: info2, info3: info3)
        return try request(writer.bytes)
    }

    func get(key: RecordKey, binNames: [String]? = nil) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendGetRequestFrame(key: key, binNames: binNames)
        return try request(writer.bytes)
    }

    func exists(key: RecordKey) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendExistsRequestFrame(key: key)
        return try request(writer.bytes)
    }

    func delete(key: RecordKey, generation: UInt32 = 0, info2: Info2 = []) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendDeleteRequestFrame(key: key, generation: generation, info2: info2)
        return try request(writer.bytes)
    }

    func touch(key: RecordKey, ttl: RecordTTL) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendTouchRequestFrame(key: key, ttl: ttl)
        return try request(writer.bytes)
    }

    func command(header: MessageHeader, key: RecordKey, ops: [OwnedOp] = []) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendRecordRequestFrame(header: header, key: key, ops: ops)
        return try request(writer.bytes)
    }

    func message(_ message: OwnedMessage) throws -> OwnedMessage {
        var writer = WireWriter()
        writer.appendMessageFrame(message)
        return try request(writer.bytes)
    }

    func batch(rows: [BatchRowSpec], filterExpression: [UInt8]? = nil) throws -> (messages: [OwnedMessage], frameCount: Int) {
        var writer = WireWriter()
        writer.appendBatchRequestFrame(rows: rows, filterExpression: filterExpression)
        try send(writer.bytes)
        return try receiveStream()
    }

    func scan(
        setName: String? = nil,
        partitionIDs: [UInt16] = Array(0..<4096),
        resumeDigests: [Digest] = [],
        maxRecords: UInt64 = 0,
        binNames: [String] = [],
        noBinData: Bool = false
    ) throws -> (messages: [OwnedMessage], frameCount: Int) {
        try send(
            scanFrame(
                setName: setName, partitionIDs: partitionIDs, resumeDigests: resumeDigests, maxRecords: maxRecords,
                binNames: binNames, noBinData: noBinData))
        return try receiveStream()
    }

    func scanFrame(
        setName: String? = nil,
        partitionIDs: [UInt16] = Array(0..<4096),
        resumeDigests: [Digest] = [],
        maxRecords: UInt64 = 0,
        binNames: [String] = [],
        noBinData: Bool = false
    ) -> [UInt8] {
        var writer = WireWriter()
        writer.appendScanRequestFrame(
            namespace: TestServer.namespaceName, setName: setName, partitionIDs: partitionIDs, resumeDigests: resumeDigests,
            maxRecords: maxRecords, taskID: 42, binNames: binNames, noBinData: noBinData)
        return writer.bytes
    }

    /// Sets the socket's receive buffer (before much data arrives) to slow a stream down.
    func setReceiveBufferBytes(_ sizeBytes: Int32) {
        var size = sizeBytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads one frame holding exactly one message.
    func receiveMessage() throws -> OwnedMessage {
        guard let (header, body) = try receiveFrame() else { throw WireClientError("connection closed") }
        guard header.type == .message else { throw WireClientError("reply type \(header.typeRaw)") }
        return try body.withUnsafeBytes { raw in
            let message = try Message.decode(body: raw)
            return OwnedMessage(message, in: raw)
        }
    }

    /// Reads frames of back-to-back messages until a message with LAST (info3 bit 0).
    func receiveStream() throws -> (messages: [OwnedMessage], frameCount: Int) {
        var messages: [OwnedMessage] = []
        var frameCount = 0
        while true {
            guard let (header, body) = try receiveFrame() else { throw WireClientError("connection closed mid-stream") }
            guard header.type == .message else { throw WireClientError("reply type \(header.typeRaw)") }
            frameCount += 1
            let decoded = try body.withUnsafeBytes { raw in
                try Message.decodeSequence(body: raw).map { OwnedMessage($0, in: raw) }
            }
            messages += decoded
            if let last = decoded.last, last.header.info3.contains(.last) { return (messages, frameCount) }
        }
    }
}

func parseInfoBody(_ body: [UInt8]) -> [(String, String)] {
    let text = String(decoding: body, as: UTF8.self)
    var answers: [(String, String)] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        if let tab = line.firstIndex(of: "\t") {
            answers.append((String(line[..<tab]), String(line[line.index(after: tab)...])))
        } else {
            answers.append((String(line), ""))
        }
    }
    return answers
}

// MARK: - Keys and bins

/// A record key in namespace `test` with a deterministic digest for `index` and `set` (a
/// stand-in for RIPEMD-160: the digest depends on both, as a real one does).
func testKey(_ index: Int, set: String = "demo", userKey: ParticleValue? = nil) -> RecordKey {
    let setSeed = set.utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    var generator = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 ^ setSeed)
    let digest = Digest(word0: generator.next(), word1: generator.next(), word2: UInt32(truncatingIfNeeded: generator.next()))
    return RecordKey(namespace: TestServer.namespaceName, setName: set, digest: digest, userKey: userKey)
}

extension OwnedMessage {
    var resultCode: ResultCode? { header.resultCode }

    /// Bins of a reply (op name → typed value); later duplicates win.
    var bins: [String: ParticleValue] {
        var bins: [String: ParticleValue] = [:]
        for op in ops {
            let value = op.value.withUnsafeBytes { raw in
                Result { () throws(MessageError) -> ParticleValue in try ParticleValue.decode(typeRaw: op.particleTypeRaw, value: raw) }
            }
            if case .success(let decoded) = value { bins[String(decoding: op.name, as: UTF8.self)] = decoded }
        }
        return bins
    }

    func field(_ type: FieldType) -> [UInt8]? {
        fields.first { $0.typeRaw == type.rawValue }?.data
    }
}

/// The bytes of one frame built by `build`.
func frame(_ build: (inout WireWriter) -> Void) -> [UInt8] {
    var writer = WireWriter()
    build(&writer)
    return writer.bytes
}
