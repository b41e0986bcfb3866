import CairnTesting
import CLiburing
import Glibc
import Synchronization
import Testing

@testable import CairnIO

/// The service threads' record reads (``RingReads``): reads of up to a registered slot go into
/// the ring's registered region (READ_FIXED), the rest into buffers of their own, and every read
/// returns exactly the bytes asked for.
@Suite struct RingReadsTests {
    /// A device of `sizeBytes` whose bytes are the test pattern (seed 5).
    func patterned(_ dir: TemporaryDirectory, _ name: String, sizeBytes: Int, readPageCache: Bool = false) throws -> BlockDevice {
        let device = try BlockDevice.open(path: dir.file(name), options: .init(fileSizeBytes: UInt64(sizeBytes), readPageCache: readPageCache))
        let buffer = AlignedBuffer(countBytes: sizeBytes, alignmentBytes: device.alignmentBytes)
        fillPattern(buffer, offset: 0, seed: 5)
        try device.makeQueue(depth: 1).execute([IORequest.write(from: buffer, at: 0)]) { try $0.get() }
        return device
    }

    /// Issues every read of `ranges` at once on `reads`, then completes them all; returns the
    /// bytes (or error) of each, in order.
    func readAll(_ reads: RingReads, _ ring: Ring, _ device: BlockDevice,
                 _ ranges: [(offset: UInt64, count: Int)]) throws -> [Result<[UInt8], IOError>] {
        let results = Mutex<[Result<[UInt8], IOError>?]>(Array(repeating: nil, count: ranges.count))
        for (i, range) in ranges.enumerated() {
            reads.read(from: device, byteOffset: range.offset, sizeBytes: range.count) { r in
                results.withLock { $0[i] = r.map { Array($0) } }
            }
        }
        #expect(reads.inFlightCount == ranges.count)
        try drain(reads, ring)
        return results.withLock { $0.map { $0! } }
    }

    /// Completes every read `reads` has in flight on `ring`, as a service thread's loop does.
    func drain(_ reads: RingReads, _ ring: Ring) throws {
        let cqes = UnsafeMutableBufferPointer<cairn_cqe>.allocate(capacity: 256)
        defer { cqes.deallocate() }
        while reads.inFlightCount > 0 {
            _ = try ring.submit(waitCount: 1)
            for i in 0..<ring.reap(into: cqes) { reads.complete(userData: cqes[i].user_data, result: cqes[i].res) }
        }
    }

    /// A ring and its reads with `slots` registered slots, completing on this thread. Reads
    /// through the page cache go to the ring unless `inline` (``readAll`` wants every read in
    /// flight).
    func rig(slots: Int, entries: Int = 8, inline: Bool = false) throws -> (Ring, RingReads) {
        let ring = try Ring(entries: entries)
        return (ring, RingReads(ring: ring, userDataTag: 9, registeredSlots: slots, inlineReads: inline) { work in work() })
    }

    /// Brings the whole of `device` into the page cache (a buffered read of every byte), or drops
    /// it from there. A drop waits until no page is left (`mincore`): a page that the kernel's
    /// read-ahead after the last read still has in flight is locked, and `POSIX_FADV_DONTNEED`
    /// passes over it, so it is asked again until the page has landed and goes.
    func cache(_ device: BlockDevice, _ cached: Bool) throws {
        let fd = device.pageCacheFD
        #expect(fd >= 0)
        guard cached else {
            let size = Int(device.sizeBytes)
            let mapped = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0).flatMap { $0 == MAP_FAILED ? nil : $0 })
            defer { munmap(mapped, size) }
            var resident = [UInt8](repeating: 0, count: (size + Int(getpagesize()) - 1) / Int(getpagesize()))
            for _ in 0..<2000 {
                #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
                try #require(mincore(mapped, size, &resident) == 0)
                if resident.allSatisfy({ $0 & 1 == 0 }) { return }
                usleep(1000)
            }
            Issue.record("\(resident.filter { $0 & 1 != 0 }.count) page(s) of the device stay in the page cache after 2 s")
            return
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while offset < Int(device.sizeBytes) {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            try #require(n > 0)
            offset += n
        }
    }

    func expected(_ offset: UInt64, _ count: Int, within device: BlockDevice) -> [UInt8] {
        let all = AlignedBuffer(countBytes: Int(device.sizeBytes), alignmentBytes: device.alignmentBytes)
        fillPattern(all, offset: 0, seed: 5)
        return all.withUnsafeBytes { Array($0[Int(offset)..<(Int(offset) + count)]) }
    }

    /// More reads in flight than registered slots, of sizes on both sides of a slot, at odd
    /// offsets: the first reads that fit take the slots, the others get buffers of their own, and
    /// every read returns its bytes, with O_DIRECT and through the page cache. The slots are free
    /// again afterwards: a second round fits in them once more.
    @Test func readsFillTheRegisteredSlotsThenUseTheirOwnBuffers() throws {
        let dir = try TemporaryDirectory()
        for cached in [false, true] {
            let device = try patterned(dir, "rr-\(cached).dat", sizeBytes: 4 << 20, readPageCache: cached)
            let (ring, reads) = try rig(slots: 4, entries: 64)
            #expect(reads.registrationError == nil)
            var ranges: [(offset: UInt64, count: Int)] = []
            for i in 0..<8 { ranges.append((UInt64(i * 70_001 + 13), 1_000 + i * 300)) }  // fit a slot
            ranges.append((123_457, 40_000))  // larger than a slot
            let results = try readAll(reads, ring, device, ranges)
            for (range, result) in zip(ranges, results) {
                #expect(try result.get() == expected(range.offset, range.count, within: device),
                        "read of \(range.count) bytes at \(range.offset) (page cache \(cached))")
            }
            #expect(reads.registeredReadCount == 4)
            #expect(reads.unregisteredReadCount == 5)
            let again = try readAll(reads, ring, device, Array(ranges.prefix(4)))
            #expect(again.allSatisfy { (try? $0.get()) != nil })
            #expect(reads.registeredReadCount == 8, "the slots were not given back")
        }
    }

    /// With O_DIRECT a read transfers the covering aligned range; through the page cache exactly
    /// the bytes asked for (the kernel then copies only those out of the cache).
    @Test func throughThePageCacheAReadTransfersOnlyItsBytes() throws {
        let dir = try TemporaryDirectory()
        for cached in [false, true] {
            let device = try patterned(dir, "exact-\(cached).dat", sizeBytes: 1 << 20, readPageCache: cached)
            let (ring, reads) = try rig(slots: 2)
            let before = device.readBytes
            let results = try readAll(reads, ring, device, [(4000, 1100), (50_000, 30_000)])
            #expect(try results[0].get() == expected(4000, 1100, within: device))
            #expect(try results[1].get() == expected(50_000, 30_000, within: device))
            let aligned = device.alignmentBytes
            func covering(_ offset: Int, _ count: Int) -> Int {
                (offset + count + aligned - 1) / aligned * aligned - offset / aligned * aligned
            }
            #expect(device.readBytes - before == (cached ? 31_100 : UInt64(covering(4000, 1100) + covering(50_000, 30_000))),
                    "page cache \(cached)")
        }
    }

    /// A read into a registered slot that the device refuses (beyond its end) fails with the
    /// device's error and gives its slot back.
    @Test func aRefusedReadGivesItsSlotBack() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "end.dat", sizeBytes: 1 << 20)
        let (ring, reads) = try rig(slots: 1)
        let outcome = Mutex<Result<Int, IOError>?>(nil)
        reads.read(from: device, byteOffset: (1 << 20) - 100, sizeBytes: 4096) { r in outcome.withLock { $0 = r.map(\.count) } }
        #expect(throws: IOError.self) { try outcome.withLock { $0! }.get() }
        let results = try readAll(reads, ring, device, [(5, 100)])
        #expect(try results[0].get() == expected(5, 100, within: device))
        #expect(reads.registeredReadCount == 1)
    }

    /// When the ring cannot register the region (here: it already has buffers registered), the
    /// reads say why and go into buffers of their own, with the same bytes.
    @Test func aRefusedRegistrationIsReportedAndReadsStillWork() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "refused.dat", sizeBytes: 1 << 20)
        let ring = try Ring(entries: 8)
        let first = AlignedBuffer(countBytes: 4096, alignmentBytes: 4096)
        try first.withUnsafeMutableBytes { raw throws(IOError) in try ring.registerBuffers([raw]) }
        let reads = RingReads(ring: ring, userDataTag: 9, registeredSlots: 2) { work in work() }
        let refusal = try #require(reads.registrationError)
        #expect("\(refusal)".contains("registered buffers"))
        let results = try readAll(reads, ring, device, [(77, 3000), (9000, 500)])
        #expect(try results[0].get() == expected(77, 3000, within: device))
        #expect(try results[1].get() == expected(9000, 500, within: device))
        #expect(reads.registeredReadCount == 0 && reads.unregisteredReadCount == 2)
    }

    /// No slots asked for: no registration, every read in a buffer of its own.
    @Test func noRegisteredSlots() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "none.dat", sizeBytes: 1 << 20)
        let (ring, reads) = try rig(slots: 0)
        #expect(reads.registrationError == nil)
        let results = try readAll(reads, ring, device, [(1, 10)])
        #expect(try results[0].get() == expected(1, 10, within: device))
        #expect(reads.registeredReadCount == 0 && reads.unregisteredReadCount == 1)
    }

    /// A read whose bytes are all in the page cache is served inside the call (`RWF_NOWAIT`):
    /// its completion has run when `read` returns, nothing is left in flight, and its registered
    /// slot is free again.
    @Test func aCachedReadIsServedInsideTheCall() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "inline.dat", sizeBytes: 1 << 20, readPageCache: true)
        try cache(device, true)
        let (_, reads) = try rig(slots: 1, inline: true)
        for (offset, count) in [(4000, 1100), (300_001, 20_000)] {  // a slot's worth, then more
            let got = Mutex<Result<[UInt8], IOError>?>(nil)
            reads.read(from: device, byteOffset: UInt64(offset), sizeBytes: count) { r in got.withLock { $0 = r.map { Array($0) } } }
            let result = try #require(got.withLock { $0 }, "the cached read of \(count) bytes at \(offset) did not finish inside the call")
            #expect(try result.get() == expected(UInt64(offset), count, within: device))
            #expect(reads.inFlightCount == 0)
        }
        #expect(reads.inlineReadCount == 2 && reads.inlineMissCount == 0)
        #expect(reads.registeredReadCount == 1 && reads.unregisteredReadCount == 1)
        // The slot came back: the next small read takes it again.
        reads.read(from: device, byteOffset: 10, sizeBytes: 100) { _ in }
        #expect(reads.registeredReadCount == 2)
    }

    /// A read whose bytes are not cached misses at once and completes from the ring with the
    /// right bytes; so does an O_DIRECT device's read, which is never tried at once.
    @Test func anUncachedReadGoesToTheRing() throws {
        let dir = try TemporaryDirectory()
        let cachedDevice = try patterned(dir, "miss.dat", sizeBytes: 1 << 20, readPageCache: true)
        let (ring, reads) = try rig(slots: 2, inline: true)
        // The kernel may serve a just-dropped page to the attempt at once when its read-ahead
        // lands fast (see `attemptsPauseWhenMostMiss`), so a few tries are allowed for a miss.
        var missedAt: UInt64?
        for attempt in 0..<5 where missedAt == nil {
            try cache(cachedDevice, false)
            let offset = UInt64(500_000 + attempt * 100_003)
            let result = Mutex<Result<[UInt8], IOError>?>(nil)
            let missesBefore = reads.inlineMissCount
            reads.read(from: cachedDevice, byteOffset: offset, sizeBytes: 1000) { r in result.withLock { $0 = r.map { Array($0) } } }
            try drain(reads, ring)
            #expect(try result.withLock { $0 }?.get() == expected(offset, 1000, within: cachedDevice))
            if reads.inlineMissCount > missesBefore { missedAt = offset }
        }
        #expect(missedAt != nil, "five reads of dropped pages were all served at once")
        let attemptsBefore = reads.inlineReadCount + reads.inlineMissCount
        let direct = try patterned(dir, "direct.dat", sizeBytes: 1 << 20)
        let directResults = try readAll(reads, ring, direct, [(77, 3000)])
        #expect(try directResults[0].get() == expected(77, 3000, within: direct))
        #expect(reads.inlineReadCount + reads.inlineMissCount == attemptsBefore, "the O_DIRECT read was tried at once")
    }

    /// When most attempts miss (a file larger than memory), the attempts pause: after a window
    /// of misses, even a cached read goes to the ring, until the pause is over.
    @Test func attemptsPauseWhenMostMiss() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "pause.dat", sizeBytes: 1 << 20, readPageCache: true)
        let (ring, reads) = try rig(slots: 2, entries: 8, inline: true)
        for i in 0..<RingReads.inlineWindowReads {
            try cache(device, false)
            // Almost always a miss, completed from the ring. The kernel may still serve a page
            // just dropped at once: the RWF_NOWAIT attempt starts its read-ahead and looks again,
            // and on a fast device the page has landed by then (CI saw 1 in 10 runs under load).
            let offset = UInt64(i * 4096 + 7)
            let result = Mutex<Result<[UInt8], IOError>?>(nil)
            reads.read(from: device, byteOffset: offset, sizeBytes: 100) { r in result.withLock { $0 = r.map { Array($0) } } }
            try drain(reads, ring)
            #expect(try result.withLock { $0 }?.get() == expected(offset, 100, within: device))
        }
        let (missed, hit) = (reads.inlineMissCount, reads.inlineReadCount)
        #expect(missed + hit == RingReads.inlineWindowReads && hit < RingReads.inlineWindowHitsMin,
                "every read was tried at once, and too few hit for the window to go on trying")
        try cache(device, true)
        let results = try readAll(reads, ring, device, [(8, 100)])
        #expect(try results[0].get() == expected(8, 100, within: device))
        #expect(reads.inlineReadCount == hit && reads.inlineMissCount == missed,
                "a read was tried at once during the pause")
    }

    /// `readCached` lends the bytes to its body when all are cached and returns its result; it
    /// answers nil, having read nothing, when they are not, for an O_DIRECT device, and for a
    /// range beyond the device. A ring read told that the page cache was just tried goes to the
    /// ring even when the bytes are cached.
    @Test func readCachedAnswersAtOnceOrNil() throws {
        let dir = try TemporaryDirectory()
        let device = try patterned(dir, "cached.dat", sizeBytes: 1 << 20, readPageCache: true)
        let (ring, reads) = try rig(slots: 1, inline: true)
        // A miss answers nil. RWF_NOWAIT still starts readahead for an uncached page, and when
        // that I/O completes before the kernel looks again (a loaded host, as in CI once), the
        // "miss" is served: then the bytes must be right, and the drop and the attempt repeat.
        var racedHits = 0
        var missed = false
        for _ in 0..<20 where !missed {
            try cache(device, false)
            if let got = reads.readCached(from: device, byteOffset: 70_000, sizeBytes: 900, { Array($0) }) {
                #expect(got == expected(70_000, 900, within: device))
                racedHits += 1
            } else {
                missed = true
            }
        }
        #expect(missed, "20 reads of dropped pages were all served at once")
        #expect(reads.inlineMissCount == 1 && reads.inlineReadCount == racedHits)
        #expect(reads.registeredReadCount == racedHits)
        try cache(device, true)
        let before = device.readCount
        #expect(reads.readCached(from: device, byteOffset: 70_000, sizeBytes: 900) { Array($0) } == expected(70_000, 900, within: device))
        #expect(reads.readCached(from: device, byteOffset: 1, sizeBytes: 40_000) { Array($0) } == expected(1, 40_000, within: device))
        #expect(device.readCount - before == 2)
        #expect(reads.inlineReadCount == racedHits + 2 && reads.registeredReadCount == racedHits + 1 && reads.unregisteredReadCount == 1)
        #expect(reads.readCached(from: device, byteOffset: (1 << 20) - 10, sizeBytes: 100) { Array($0) } == nil)
        let direct = try patterned(dir, "direct.dat", sizeBytes: 1 << 20)
        #expect(reads.readCached(from: direct, byteOffset: 0, sizeBytes: 100) { Array($0) } == nil)
        // Straight to the ring: in flight after the call, the right bytes from its completion.
        let got = Mutex<[UInt8]?>(nil)
        reads.read(from: device, byteOffset: 5000, sizeBytes: 700, tryingPageCacheFirst: false) { r in
            got.withLock { $0 = try? r.get().map { $0 } }
        }
        #expect(reads.inFlightCount == 1 && got.withLock { $0 } == nil)
        try drain(reads, ring)
        #expect(got.withLock { $0 } == expected(5000, 700, within: device))
        #expect(reads.inlineReadCount == racedHits + 2)
    }
}
