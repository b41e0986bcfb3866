@_spi(EngineInternals) import CairnEngine
import CairnIndex
import CairnStorage
import CairnTesting
import Foundation
import Synchronization

/// A digest for test key `i` (deterministic, spread over partitions like RIPEMD output).
func testDigest(_ i: Int, salt: UInt64 = 0) -> Digest {
    var rng = SplitMix64(seed: UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ salt)
    var bytes = [UInt8]()
    for _ in 0..<3 { withUnsafeBytes(of: rng.next()) { bytes.append(contentsOf: $0) } }
    return Digest(bytes: bytes.prefix(20))!
}

func intBin(_ name: String, _ v: Int64) -> StoredBin {
    StoredBin(name: name, particleType: .integer, bytes: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (56 - 8 * $0)) })
}

func stringBin(_ name: String, _ s: String) -> StoredBin { StoredBin(name: name, particleType: .string, bytes: Array(s.utf8)) }

func blobBin(_ name: String, _ b: [UInt8]) -> StoredBin { StoredBin(name: name, particleType: .blob, bytes: b) }

/// A controllable clock (ms since 2010) shared with a namespace.
final class TestClock: Sendable {
    private let ms: Atomic<UInt64>
    init(ms: UInt64 = CitrusleafTime.nowMs()) { self.ms = Atomic(ms) }
    func now() -> UInt64 { ms.load(ordering: .relaxed) }
    func advance(seconds: UInt64) { ms.add(seconds * 1000, ordering: .relaxed) }
    func advance(ms delta: UInt64) { ms.add(delta, ordering: .relaxed) }
}

func namespaceOptions(_ paths: [String], fileSizeBytes: UInt64 = 64 << 20, blockSize: Int = 128 << 10,
                      commitToDevice: Bool = false, clock: TestClock? = nil, flushMaxMs: Int = 50,
                      forceDurableDeletes: Bool = false) -> NamespaceOptions {
    let storage = StorageOptions(namespaceName: "test", devices: paths.map { .init(path: $0, fileSizeBytes: fileSizeBytes) },
                                 writeBlockSizeBytes: blockSize, partitionTreeSprigs: 16, flushMaxMs: flushMaxMs,
                                 commitToDevice: commitToDevice)
    var o = NamespaceOptions(storage: storage, forceDurableDeletes: forceDurableDeletes, indexEntryCountMax: 1 << 22)
    if let clock { o.clockMs = { clock.now() } }
    return o
}
