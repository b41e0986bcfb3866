import CairnIO
import CairnIndex
import Foundation

/// The read side of one device: a thread that owns an io_uring queue and reads the aligned range
/// around a record for any caller, with up to `queueDepth` reads in flight.
///
/// Threads: any thread calls `read`; the callback runs on the reader thread (keep it short: copy
/// and hand off). Jobs wait in a bounded FIFO (`queuedJobsMax`); beyond it `read` fails with
/// `.overloaded` instead of growing memory.
public final class DeviceReader: Sendable {
    public typealias Callback = @Sendable (Result<[UInt8], StorageError>) -> Void

    struct Job {
        let location: RecordLocation
        let callback: Callback
    }

    struct State {
        var jobs: [Job] = []
        var head = 0
        var stopping = false
        var reads: UInt64 = 0
        var bytesRead: UInt64 = 0
    }

    public let device: BlockDevice
    public let queueDepth: Int
    public static let queuedJobsMax = 65536
    /// Reads of at most this many bytes use pooled buffers; larger ones allocate.
    static let pooledReadSizeBytes = 128 << 10

    private let state: ConditionLock<State>
    private let pool: AlignedBufferPool
    private let finished = ConditionLock(false)

    public init(device: BlockDevice, queueDepth: Int = 16) {
        self.device = device
        self.queueDepth = queueDepth
        state = ConditionLock(State())
        pool = AlignedBufferPool(bufferSizeBytes: DeviceReader.pooledReadSizeBytes, alignmentBytes: device.alignmentBytes,
                                 capacity: queueDepth)
    }

    public func start() {
        if device.medium != nil {  // simulated: reads run inline, no thread
            finished.withLock { $0 = true }
            return
        }
        NamedThread.start("cairn-read") { [self] in self.readerMain() }
    }

    /// Reads the `location.sizeBytes` bytes at `location` and passes them to `callback`.
    public func read(_ location: RecordLocation, callback: @escaping Callback) {
        if device.medium != nil { return readInline(location, callback: callback) }
        let accepted: StorageError? = state.withLock { s in
            if s.stopping { return .closed }
            if s.jobs.count - s.head >= DeviceReader.queuedJobsMax {
                return .overloaded(path: device.path, waitingBytes: (s.jobs.count - s.head) * location.sizeBytes)
            }
            s.jobs.append(Job(location: location, callback: callback))
            return nil
        }
        if let accepted { callback(.failure(accepted)) } else { state.signal() }
    }

    /// Reads synchronously through the reader thread (tests, tools, the embedded API).
    public func readSync(_ location: RecordLocation) throws(StorageError) -> [UInt8] {
        let result = waitForCallback { done in read(location, callback: done) }
        return try result.get()
    }

    /// Number of device reads done (tests prove a warm restart reads no record data).
    public var readCount: UInt64 { state.withLock { $0.reads } }
    public var bytesRead: UInt64 { state.withLock { $0.bytesRead } }

    /// Fails queued jobs with `.closed`, waits for reads in flight, stops the thread.
    public func close() {
        state.withLock { $0.stopping = true }
        state.broadcast()
        finished.wait(until: { $0 }) { _ in }
    }

    /// A simulated device's read, on the caller's thread (the simulator's schedule stays the
    /// only source of order).
    private func readInline(_ location: RecordLocation, callback: Callback) {
        if state.withLock({ $0.stopping }) { return callback(.failure(.closed)) }
        let (start, length) = alignedRange(location)
        let buffer = AlignedBuffer(countBytes: length, alignmentBytes: device.alignmentBytes)
        do { try device.readSync(into: buffer, at: start) } catch { return callback(.failure(.io(error))) }
        let skip = Int(location.byteOffset - start)
        let bytes = buffer.withUnsafeBytes { Array($0[skip..<(skip + location.sizeBytes)]) }
        state.withLock { s in
            s.reads += 1
            s.bytesRead += UInt64(length)
        }
        callback(.success(bytes))
    }

    /// The sector-aligned range that holds `location`.
    private func alignedRange(_ location: RecordLocation) -> (start: UInt64, length: Int) {
        let alignment = UInt64(device.alignmentBytes)
        let start = location.byteOffset / alignment * alignment
        let end = (location.byteOffset + UInt64(location.sizeBytes) + alignment - 1) / alignment * alignment
        return (start, Int(end - start))
    }

    // MARK: - reader thread

    private func readerMain() {
        defer {
            finished.withLock { $0 = true }
            finished.broadcast()
        }
        let queue: DeviceQueue
        // With `read-page-cache`, through the device's buffered descriptor (BlockDevice).
        do { queue = try device.makeQueue(depth: queueDepth, pageCacheReads: true) } catch {
            drainWithError(.io(error))
            return
        }
        var callbacks: [Int: (job: Job, pooled: Bool)] = [:]
        var nextTag = 0
        var completions: [IOCompletion] = []
        var taken: [Job] = []
        while true {
            taken.removeAll(keepingCapacity: true)
            let stop: Bool = state.withLockedScope { scope in
                while true {
                    let decision: Bool? = scope.access { s in
                        let room = queueDepth - queue.inFlightCount
                        while room > taken.count && s.head < s.jobs.count {
                            taken.append(s.jobs[s.head])
                            s.head += 1
                        }
                        if s.head == s.jobs.count { s.jobs.removeAll(keepingCapacity: true); s.head = 0 }
                        if !taken.isEmpty || queue.inFlightCount > 0 { return false }
                        return s.stopping ? true : nil
                    }
                    if let decision { return decision }
                    scope.wait()
                }
            }
            if stop { break }
            for job in taken {
                let (start, length) = alignedRange(job.location)
                let pooledBuffer = length <= DeviceReader.pooledReadSizeBytes ? pool.takeIfAvailable() : nil
                let buffer = pooledBuffer ?? AlignedBuffer(countBytes: length, alignmentBytes: device.alignmentBytes)
                let tag = nextTag
                nextTag &+= 1
                callbacks[tag] = (job, pooledBuffer != nil)
                do {
                    try queue.enqueue(.read(into: buffer, lengthBytes: length, at: start, tag: UInt64(tag)))
                } catch {
                    callbacks[tag] = nil
                    if pooledBuffer != nil { pool.recycle(buffer) }
                    job.callback(.failure(.io(error)))
                }
            }
            completions.removeAll(keepingCapacity: true)
            do {
                try queue.submit()
                try queue.reap(minimum: 1, into: &completions)
            } catch {
                for (_, entry) in callbacks { entry.job.callback(.failure(.io(error))) }
                callbacks.removeAll()
                continue
            }
            for c in completions {
                let (job, pooled) = callbacks.removeValue(forKey: Int(c.request.tag))!
                let buffer = c.request.buffer!
                if let error = c.error {
                    if pooled { pool.recycle(buffer) }
                    job.callback(.failure(.io(error)))
                    continue
                }
                let skip = Int(job.location.byteOffset - c.request.offset)
                let bytes = buffer.withUnsafeBytes { Array($0[skip..<(skip + job.location.sizeBytes)]) }
                if pooled { pool.recycle(buffer) }
                state.withLock { s in
                    s.reads += 1
                    s.bytesRead += UInt64(c.request.lengthBytes)
                }
                job.callback(.success(bytes))
            }
        }
        drainWithError(.closed)
    }

    private func drainWithError(_ error: StorageError) {
        let jobs: [Job] = state.withLock { s in
            let rest = Array(s.jobs[s.head...])
            s.jobs.removeAll()
            s.head = 0
            s.stopping = true
            return rest
        }
        for job in jobs { job.callback(.failure(error)) }
    }
}
