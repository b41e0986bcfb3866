import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@testable import CairnIndex

/// A small seeded generator (SplitMix64) so every randomized test can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// The seed of a randomized test: `CAIRN_TEST_SEED` if set, else a fresh one. Printed, with the
/// command that replays it.
func testSeed(_ testName: String) -> UInt64 {
    let seed: UInt64
    if let text = getenv("CAIRN_TEST_SEED").map({ String(cString: $0) }), let parsed = UInt64(text) {
        seed = parsed
    } else {
        var system = SystemRandomNumberGenerator()
        seed = system.next()
    }
    print("\(testName): seed \(seed) (replay: CAIRN_TEST_SEED=\(seed) swift test --filter \(testName))")
    return seed
}

extension Digest {
    /// A random digest.
    static func random(using generator: inout some RandomNumberGenerator) -> Digest {
        Digest(word0: generator.next(), word1: generator.next(), word2: UInt32(truncatingIfNeeded: generator.next()))
    }

    /// A random digest in `partition`.
    static func random(partition: Int, using generator: inout some RandomNumberGenerator) -> Digest {
        let random = Digest.random(using: &generator)
        return random.moved(toPartition: partition)
    }

    /// This digest with byte 0 and the low nibble of byte 1 rewritten to name `partition`.
    func moved(toPartition partition: Int) -> Digest {
        let byte0 = UInt64(partition & 0xFF)
        let byte1LowNibble = UInt64(partition >> 8)
        let kept = word0 & ~(0xFF << 56 | 0x0F << 48)
        return Digest(word0: kept | byte0 << 56 | byte1LowNibble << 48, word1: word1, word2: word2)
    }
}

/// A record with every field derived from `value`, for round trips.
func sampleRecord(_ digest: Digest, value: UInt64, tombstone: Bool = false) -> IndexRecord {
    var flags: IndexRecord.Flags = value & 1 == 0 ? [] : [.keyStored]
    if tombstone { flags.insert(.tombstone) }
    return IndexRecord(
        digest: digest,
        generation: UInt16(truncatingIfNeeded: value),
        lastUpdateTimeMs: value & IndexRecord.lastUpdateTimeMsMax,
        voidTimeSeconds: UInt32(truncatingIfNeeded: value >> 7),
        setID: UInt16(truncatingIfNeeded: value >> 3),
        location: RecordLocation(
            deviceIndex: UInt8(truncatingIfNeeded: value >> 11),
            offsetUnits: (value &* 2_654_435_761) & RecordLocation.offsetUnitsMax,
            sizeUnits: UInt32(truncatingIfNeeded: value) & RecordLocation.sizeUnitsMax),
        flags: flags)
}

/// A small index for tests (anonymous memory, small stages so that growth is exercised).
func makeTestIndex(
    sprigsPerPartition: Int = 4, entryCountMax: Int = 1 << 20, stageEntryCount: Int = 1 << 10,
    lockStripeCount: Int = 64, prioritySeed: UInt64 = 0x5EED
) throws -> PrimaryIndex {
    try PrimaryIndex(
        configuration: IndexConfiguration(
            sprigsPerPartition: sprigsPerPartition, entryCountMax: entryCountMax, stageEntryCount: stageEntryCount,
            lockStripeCount: lockStripeCount),
        backing: .anonymous, prioritySeed: prioritySeed)
}

/// Runs `body(threadIndex)` on `count` new OS threads and waits for all of them.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Work: @unchecked Sendable {  // Immutable after init; handed to one thread each.
        let body: @Sendable (Int) -> Void
        let index: Int
        init(body: @escaping @Sendable (Int) -> Void, index: Int) {
            self.body = body
            self.index = index
        }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        let work = Unmanaged.passRetained(Work(body: body, index: index)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let work = Unmanaged<Work>.fromOpaque(argument).takeRetainedValue()
                work.body(work.index)
                return nil
            }, work)
        precondition(result == 0, "pthread_create failed: \(result)")
        #if canImport(Glibc)
        threads.append(thread)
        #else
        if let thread { threads.append(thread) }
        #endif
    }
    for thread in threads {
        pthread_join(thread, nil)
    }
}

/// Monotonic clock in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
