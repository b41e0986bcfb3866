import CairnIO
import CairnIndex
import CairnStorage
import Foundation

/// The defragmenter of a namespace: one thread that, device after device, takes the emptiest
/// queued block (live bytes below `defrag-lwm-pct`, not buffered), reads it, and rewrites every
/// record the index still points at there through the normal append path (so on each device
/// records stay in write order: FORMAT.md "Block reuse" and "Tomb raider" rely on it). The index
/// entry moves only if it still holds that exact location (compare-and-swap under the record's
/// sprig lock, as the engine's commit does). The source block then has no live bytes and goes the
/// free-block way: reused only once the rewritten copies are durable.
///
/// It pauses `defrag-sleep` µs after each block, so client writes keep the device.
final class Defragger: Sendable {
    private let index: PrimaryIndex
    private let storage: NamespaceStorage
    /// true once asked to stop; the thread sets `finished`.
    private let worker = StoppableThread(name: "cairn-defrag")

    init(index: PrimaryIndex, storage: NamespaceStorage) {
        self.index = index
        self.storage = storage
    }

    func start() {
        // Weak: once stopped, the thread no longer keeps the storage (and its devices) open.
        worker.start { [weak self] in self?.main() }
    }

    func stop() { worker.stop() }

    private var stopping: Bool { worker.isStopping }

    /// Blocks read at once (io_uring, one queue per device owned by this thread).
    static let batchBlocks = 8

    private func main() {
        let buffers = storage.devices.map { d in
            (0..<Defragger.batchBlocks).map { _ in
                AlignedBuffer(countBytes: storage.options.writeBlockSizeBytes, alignmentBytes: d.device.alignmentBytes)
            }
        }
        var queues: [Int: DeviceQueue] = [:]
        let sleepNs = UInt64(max(0, storage.options.defragSleepUs)) * 1000
        while !stopping {
            var worked = false
            for d in storage.devices where !stopping {
                // Held before they are read, so not freed (nor reused) until rewritten: see
                // holdForDefrag. One emptied or reused since the pick is left out.
                let blocks = d.writer.holdForDefrag(pick(d, count: Defragger.batchBlocks))
                guard !blocks.isEmpty else { continue }
                worked = true
                defer { d.writer.releaseFromDefrag(blocks) }
                do {
                    if queues[d.index] == nil { queues[d.index] = try d.device.makeQueue(depth: Defragger.batchBlocks) }
                    try storage.readBlocks(deviceIndex: d.index, blocks: blocks, into: buffers[d.index], queue: queues[d.index]!)
                } catch {
                    storage.options.log("defrag: reading blocks of \(d.device.path) failed: \(error); left queued")
                    pause(ns: 1_000_000_000)
                    continue
                }
                for (i, block) in blocks.enumerated() where !stopping {
                    rewrite(block: block, device: d, buffer: buffers[d.index][i])
                    if sleepNs > 0 { pause(ns: sleepNs) }
                }
            }
            if !worked { pause(ns: 20_000_000) }
        }
    }

    private func pause(ns: UInt64) { worker.pause(ns: ns) }

    /// Up to `count` of the emptiest queued blocks still below the low-water mark and not buffered.
    private func pick(_ d: StorageDevice, count: Int) -> [UInt32] {
        let queued = d.defragQueue.snapshot
        guard !queued.isEmpty else { return [] }
        let lwm = (storage.options.writeBlockSizeBytes - BlockHeader.sizeBytes) * storage.options.currentDefragLWMPct / 100
        var excluded = d.writer.bufferedBlocks
        var picked: [UInt32] = []
        while picked.count < count, let (block, live) = d.usage.emptiest(of: queued, excluding: excluded) {
            excluded.insert(block)
            if live > 0 && live < lwm { picked.append(block) } else { d.defragQueue.remove(block) }
        }
        return picked
    }

    /// Records whose index paths are warmed at a time (``PrimaryIndex/warmPaths(count:digestAt:)``).
    static let warmBatch = 32

    /// Rewrites the live records of `block`, read into `buffer`; false when the block could
    /// not be finished (it stays queued).
    @discardableResult
    func rewrite(block: UInt32, device d: StorageDevice, buffer: AlignedBuffer) -> Bool {
        let found = storage.parseStoredBlock(deviceIndex: d.index, block: block, buffer: buffer)
        var records = 0
        var bytes: UInt64 = 0
        let stored = found?.records ?? []
        var warmedUpTo = 0
        for (i, r) in stored.enumerated() {
            if i == warmedUpTo {
                // The next records' index paths, their cache misses in flight together: most of
                // a block's lookups otherwise each wait for memory (a third of defrag's CPU).
                let count = min(Self.warmBatch, stored.count - i)
                index.warmPaths(count: count) { stored[i + $0].digest }
                warmedUpTo = i + count
            }
            guard let current = index.lookup(r.digest), current.location == r.location else { continue }
            // The record's bytes, as the block scanner verified them (magic, size, CRC32C): moved
            // verbatim, with only the block-sequence tag and the CRC new. Decoding it and encoding
            // it again allocated its bins, and the defrag thread's CPU per record was 38% higher.
            let source = r.offset..<(r.offset + r.location.sizeBytes)
            var attempt = 0
            while true {
                do {
                    let moved: Bool = try index.withRecord(r.digest) { entry in
                        guard var e = entry, e.location == r.location else { return false }
                        e.location = try buffer.withUnsafeBytes { raw in
                            try storage.appendCopy(of: UnsafeRawBufferPointer(rebasing: raw[source]), deviceIndex: d.index)
                        }
                        entry = e
                        storage.release(r.location)
                        return true
                    }
                    if moved { records += 1; bytes += UInt64(r.location.sizeBytes) }
                    break
                } catch StorageError.overloaded {
                    // The device is behind: wait for the flusher, then retry this record.
                    attempt += 1
                    if stopping || attempt > 10_000 { return false }
                    pause(ns: 1_000_000)
                } catch {
                    storage.options.log("defrag: rewriting a record of block \(block) of \(d.device.path): \(error); left queued")
                    return false
                }
            }
        }
        let done = d.usage.liveBytes(block: block) == 0
        if done { d.defragQueue.remove(block) }
        d.defragQueue.record { s in
            s.recordsRewritten += records
            s.bytesRewritten += bytes
            if done { s.blocksDefragged += 1 }
        }
        return done
    }

    /// Defragments every queued block once (tests: a deterministic pass instead of the thread).
    func runQueueOnce() -> Int {
        var done = 0
        for d in storage.devices {
            let buffer = AlignedBuffer(countBytes: storage.options.writeBlockSizeBytes, alignmentBytes: d.device.alignmentBytes)
            var tried: Set<UInt32> = []
            while let block = pick(d, count: 1).first, !tried.contains(block) {
                tried.insert(block)
                guard !d.writer.holdForDefrag([block]).isEmpty else { continue }
                defer { d.writer.releaseFromDefrag([block]) }
                do { _ = try storage.readStoredBlock(deviceIndex: d.index, block: block, into: buffer) } catch {
                    storage.options.log("defrag: reading block \(block) of \(d.device.path) failed: \(error); left queued")
                    continue
                }
                if rewrite(block: block, device: d, buffer: buffer) { done += 1 }
            }
        }
        return done
    }
}
